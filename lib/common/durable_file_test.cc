#include "lib/common/durable_file.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "testing/temp_dir.h"

namespace cfs {
namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(DurableFileTest, ReplacesTheWholeFileWithItsMode) {
  testing::TempDir dir;
  std::string path = dir.path() + "/state";
  ASSERT_TRUE(WriteFileDurably(path, "first version, longer").ok());
  ASSERT_TRUE(WriteFileDurably(path, "second").ok());
  EXPECT_EQ(Read(path), "second");
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_NE(stat((path + ".tmp").c_str(), &st), 0);  // renamed away
}

TEST(DurableFileTest, FailuresNameTheStepAndPath) {
  absl::Status s = WriteFileDurably("/nonexistent-dir-cfs/x", "y");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(s.message().find("create /nonexistent-dir-cfs/x.tmp"), std::string::npos);
}

}  // namespace
}  // namespace cfs
