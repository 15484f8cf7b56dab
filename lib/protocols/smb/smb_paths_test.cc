#include "lib/protocols/smb/smb_paths.h"

#include "gtest/gtest.h"
#include "lib/protocols/smb/ntstatus.h"

namespace cfs::smb {
namespace {

TEST(SmbPathsTest, NamesWindowsCannotCarryAreNotShown) {
  EXPECT_TRUE(IsSmbVisibleName("report v2.txt"));
  EXPECT_TRUE(IsSmbVisibleName("caf\xc3\xa9"));
  for (const char* hidden : {"a\\b", "x:y", "what?", "star*", "pipe|", "\"q\"", "<a>", "tab\tx"}) {
    EXPECT_FALSE(IsSmbVisibleName(hidden)) << hidden;
  }
  EXPECT_FALSE(IsSmbVisibleName("bad\xff utf-8"));
}

TEST(SmbPathsTest, ParseRefusesTheSameCharacters) {
  ParsedPath path;
  EXPECT_EQ(ParseSmbPath("dir\\file.txt", &path), nt::kSuccess);
  EXPECT_EQ(path.components.size(), 2u);
  EXPECT_EQ(ParseSmbPath("dir\\wh?t", &path), nt::kObjectNameInvalid);
  EXPECT_EQ(ParseSmbPath("file:stream", &path), nt::kSuccess);
  EXPECT_EQ(path.stream, "stream");
}

}  // namespace
}  // namespace cfs::smb
