#include "lib/backends/embedded/extent_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace cfs::embedded {
namespace {

using backend::FsError;
using cfs::testing::FsErrorIs;

TEST(ExtentStoreTest, HolesReadAsZerosAndMapAsHoles) {
  cfs::testing::TempDir dir;
  auto store = ExtentStore::Open(dir.path() + "/data");
  ASSERT_OK(store);
  ASSERT_OK((*store)->Write(9, 1 << 20, "data"));
  std::string out;
  ASSERT_OK((*store)->Read(9, 0, 8, &out));
  EXPECT_EQ(out, std::string(8, '\0'));
  auto map = (*store)->Map(9, 0, 2 << 20, (1 << 20) + 4);
  ASSERT_OK(map);
  ASSERT_EQ(map->size(), 2u);
  EXPECT_TRUE((*map)[0].hole);
  EXPECT_FALSE((*map)[1].hole);
  EXPECT_EQ((*map)[1].offset + (*map)[1].length, (1u << 20) + 4);
  EXPECT_EQ((*store)->ListInodes(), std::vector<backend::InodeNumber>{9});
  ASSERT_OK((*store)->Remove(9));
  EXPECT_TRUE((*store)->ListInodes().empty());
  ASSERT_OK((*store)->Read(9, 0, 8, &out));
  EXPECT_TRUE(out.empty());
}

TEST(ExtentStoreTest, FullDeviceSurfacesAsNoSpace) {
  // The inode's extent file is /dev/full, which fails every write with ENOSPC.
  cfs::testing::TempDir dir;
  auto store = ExtentStore::Open(dir.path());
  ASSERT_OK(store);
  std::string bucket = absl::StrFormat("%s/%02x", dir.path(), 5);
  ASSERT_EQ(mkdir(bucket.c_str(), 0700), 0);
  ASSERT_EQ(symlink("/dev/full", absl::StrFormat("%s/%016x", bucket, 5).c_str()), 0);
  EXPECT_THAT((*store)->Write(5, 0, "no room"), FsErrorIs(FsError::kNoSpace));
}

TEST(ExtentStoreTest, TooLargeOffsetSurfacesAsTooBig) {
  cfs::testing::TempDir dir;
  auto store = ExtentStore::Open(dir.path());
  ASSERT_OK(store);
  EXPECT_THAT((*store)->Write(6, (1ULL << 62), "x"), FsErrorIs(FsError::kTooBig));
}

}  // namespace
}  // namespace cfs::embedded
