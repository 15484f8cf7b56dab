#include "lib/backends/filters/reserved_names_filter.h"

#include "gtest/gtest.h"
#include "lib/backends/embedded/embedded_backend.h"
#include "testing/status_matchers.h"
#include "testing/sync_backend.h"
#include "testing/temp_dir.h"

namespace cfs::filters {
namespace {

using backend::FsError;
using backend::kRootInode;
using cfs::testing::FsErrorIs;

class ReservedNamesFilterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    embedded::EmbeddedBackendOptions options;
    options.data_dir = dir_.path();
    auto embedded = embedded::EmbeddedBackend::Open(options);
    ASSERT_TRUE(embedded.ok());
    filter_ = std::make_unique<ReservedNamesFilter>(std::move(*embedded));
    // The gateway's own state, as the S3 frontend makes it.
    auto hidden = internal().Mkdir(kRootInode, ".cfs-s3");
    ASSERT_TRUE(hidden.ok()) << hidden.status();
    hidden_ = hidden->attributes.inode;
    ASSERT_TRUE(internal().Create(hidden_, "staged").ok());
  }
  cfs::testing::SyncBackend client() {
    return cfs::testing::SyncBackend(*filter_, backend::RequestContext{backend::Identity::Root()});
  }
  cfs::testing::SyncBackend internal() {
    backend::RequestContext ctx{backend::Identity::Root()};
    ctx.internal = true;
    return cfs::testing::SyncBackend(*filter_, ctx);
  }

  cfs::testing::TempDir dir_;
  std::unique_ptr<ReservedNamesFilter> filter_;
  backend::InodeNumber hidden_ = 0;
};

TEST_F(ReservedNamesFilterTest, ClientsNeitherFindNorListReservedNames) {
  EXPECT_THAT(client().Lookup(kRootInode, ".cfs-s3").status(), FsErrorIs(FsError::kNoEntry));
  EXPECT_TRUE(internal().Lookup(kRootInode, ".cfs-s3").ok());
  ASSERT_TRUE(client().Create(kRootInode, "visible").ok());
  EXPECT_EQ(client().ListNames(kRootInode).value(), std::vector<std::string>{"visible"});
  EXPECT_EQ(internal().ListNames(kRootInode)->size(), 2u);
  // Also when a page holds nothing but the reserved entry: the next entries follow at once.
  auto page = client().ReadDir(kRootInode, 0, 0, 1);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->entries.size(), 1u);
  EXPECT_EQ(page->entries[0].name, "visible");
  // A directory of only reserved entries reads as empty.
  auto sub = client().Mkdir(kRootInode, "sub");
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(internal().Mkdir(sub->attributes.inode, ".cfs-other").ok());
  auto empty = client().ReadDir(sub->attributes.inode, 0, 0, 10);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->entries.empty());
  EXPECT_TRUE(empty->eof);
}

TEST_F(ReservedNamesFilterTest, ClientsCannotMakeRemoveOrRenameReservedNames) {
  EXPECT_THAT(client().Create(kRootInode, ".cfs-mine").status(), FsErrorIs(FsError::kAccess));
  EXPECT_THAT(client().Mkdir(kRootInode, ".cfs-s3").status(), FsErrorIs(FsError::kAccess));
  EXPECT_THAT(client().Symlink(kRootInode, ".cfs-link", "x").status(), FsErrorIs(FsError::kAccess));
  auto file = client().Create(kRootInode, "file");
  ASSERT_TRUE(file.ok());
  EXPECT_THAT(client().Link(file->attributes.inode, kRootInode, ".cfs-s3").status(),
              FsErrorIs(FsError::kAccess));
  EXPECT_THAT(client().Rename(kRootInode, "file", kRootInode, ".cfs-s3").status(),
              FsErrorIs(FsError::kAccess));
  EXPECT_THAT(client().Rename(kRootInode, ".cfs-s3", kRootInode, "stolen").status(),
              FsErrorIs(FsError::kNoEntry));
  EXPECT_THAT(client().Rmdir(kRootInode, ".cfs-s3").status(), FsErrorIs(FsError::kNoEntry));
  EXPECT_THAT(client().Unlink(kRootInode, ".cfs-s3").status(), FsErrorIs(FsError::kNoEntry));
  // Everything is where it was.
  EXPECT_EQ(internal().ListNames(hidden_).value(), std::vector<std::string>{"staged"});
}

}  // namespace
}  // namespace cfs::filters
