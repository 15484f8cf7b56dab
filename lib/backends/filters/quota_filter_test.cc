#include "lib/backends/filters/quota_filter.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "lib/backend/errors.h"
#include "lib/backends/embedded/embedded_backend.h"
#include "testing/status_matchers.h"
#include "testing/sync_backend.h"
#include "testing/temp_dir.h"

namespace cfs::filters {
namespace {

using backend::FsError;
using backend::Identity;
using backend::InodeNumber;
using backend::kRootInode;
using ::cfs::testing::FsErrorIs;
using ::cfs::testing::IsOk;
using ::cfs::testing::StatusIs;
using quota::QuotaKind;
using quota::QuotaSetting;

QuotaSetting Hard(QuotaKind kind, std::string name, uint64_t bytes, uint64_t inodes = 0) {
  QuotaSetting s;
  s.subject = {kind, std::move(name)};
  s.limits.hard_bytes = bytes;
  s.limits.hard_inodes = inodes;
  return s;
}

class QuotaFilterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    embedded::EmbeddedBackendOptions options;
    options.data_dir = dir_.path();
    auto embedded = embedded::EmbeddedBackend::Open(options);
    ASSERT_TRUE(embedded.ok());
    QuotaFilterOptions quota_options;
    quota_options.exports.push_back(auth::DefaultExport());  // "default" at "/", S3 root "/"
    filter_ = std::make_unique<QuotaFilter>(std::move(*embedded), quota_options);
    // A directory everyone may write, like a shared export.
    auto home = root().Mkdir(kRootInode, "home", 0777);
    ASSERT_TRUE(home.ok());
    home_ = home->attributes.inode;
  }
  void TearDown() override { ASSERT_TRUE(filter_->Shutdown(absl::Now() + absl::Seconds(5)).ok()); }

  cfs::testing::SyncBackend root() {
    return cfs::testing::SyncBackend(*filter_, backend::RequestContext{Identity::Root()});
  }
  cfs::testing::SyncBackend alice() { return root().As(Identity::Of(1000, 1000)); }
  cfs::testing::SyncBackend bob() { return root().As(Identity::Of(2000, 2000)); }

  quota::QuotaUsage UsageOf(QuotaKind kind, const std::string& name) {
    absl::StatusOr<quota::QuotaReport> r = filter_->GetQuota({kind, name});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->usage : quota::QuotaUsage{};
  }

  InodeNumber NewFile(cfs::testing::SyncBackend fs, InodeNumber dir, const std::string& name,
                      size_t bytes) {
    auto f = fs.Create(dir, name);
    EXPECT_TRUE(f.ok()) << f.status();
    if (!f.ok()) return 0;
    if (bytes > 0) {
      auto w = fs.Write(f->attributes.inode, 0, std::string(bytes, 'x'));
      EXPECT_TRUE(w.ok()) << w.status();
    }
    return f->attributes.inode;
  }

  cfs::testing::TempDir dir_;
  std::unique_ptr<QuotaFilter> filter_;
  InodeNumber home_ = 0;
};

TEST_F(QuotaFilterTest, WithoutLimitsNothingIsCountedOrRefused) {
  NewFile(alice(), home_, "big", 100000);
  EXPECT_TRUE(filter_->ListQuotas().empty());
  EXPECT_FALSE(filter_->ledger().HasLimits());
  EXPECT_EQ(filter_->ledger().Usage({QuotaKind::kUser, 1000}).bytes, 0u);
}

TEST_F(QuotaFilterTest, UserHardLimitRefusesTheWriteThatWouldPassIt) {
  ASSERT_THAT(filter_->SetQuota(Hard(QuotaKind::kUser, "1000", 10000)), IsOk());
  InodeNumber f = NewFile(alice(), home_, "f", 8000);
  EXPECT_EQ(UsageOf(QuotaKind::kUser, "1000").bytes, 8000u);
  // Growing past 10000 is refused, and nothing of it lands.
  auto over = alice().Write(f, 8000, std::string(4000, 'y'));
  EXPECT_THAT(over.status(), FsErrorIs(FsError::kQuota));
  EXPECT_EQ(alice().GetAttr(f)->size, 8000u);
  // Rewriting what is there adds nothing; growing to the limit exactly is fine.
  EXPECT_TRUE(alice().Write(f, 0, std::string(8000, 'z')).ok());
  EXPECT_TRUE(alice().Write(f, 8000, std::string(2000, 'z')).ok());
  EXPECT_EQ(UsageOf(QuotaKind::kUser, "1000").bytes, 10000u);
  // Another user is not limited by alice's quota.
  NewFile(bob(), home_, "g", 50000);
  // Removing the file frees its bytes and its inode.
  ASSERT_TRUE(alice().Unlink(home_, "f").ok());
  EXPECT_EQ(UsageOf(QuotaKind::kUser, "1000").bytes, 0u);
  EXPECT_EQ(UsageOf(QuotaKind::kUser, "1000").inodes, 0u);
  EXPECT_TRUE(alice().Write(NewFile(alice(), home_, "again", 0), 0, std::string(9000, 'a')).ok());
}

TEST_F(QuotaFilterTest, UsageOfWhatExistedIsCountedWhenTheFirstLimitIsSet) {
  NewFile(alice(), home_, "a", 3000);
  NewFile(alice(), home_, "b", 4000);
  auto sub = alice().Mkdir(home_, "sub");
  ASSERT_TRUE(sub.ok());
  NewFile(alice(), sub->attributes.inode, "c", 500);
  ASSERT_TRUE(alice().Link(alice().Lookup(home_, "a")->inode, home_, "a-link").ok());
  ASSERT_THAT(filter_->SetQuota(Hard(QuotaKind::kUser, "1000", 1 << 20)), IsOk());
  quota::QuotaUsage u = UsageOf(QuotaKind::kUser, "1000");
  EXPECT_EQ(u.bytes, 7500u);  // the hard link counts once
  EXPECT_EQ(u.inodes, 4u);    // a, b, sub, c
}

TEST_F(QuotaFilterTest, InodeLimitRefusesNewEntriesButNotOpeningExistingOnes) {
  ASSERT_THAT(filter_->SetQuota(Hard(QuotaKind::kUser, "1000", 0, 2)), IsOk());
  NewFile(alice(), home_, "one", 0);
  ASSERT_TRUE(alice().Mkdir(home_, "two").ok());
  EXPECT_THAT(alice().Create(home_, "three").status(), FsErrorIs(FsError::kQuota));
  EXPECT_THAT(alice().Mkdir(home_, "four").status(), FsErrorIs(FsError::kQuota));
  EXPECT_THAT(alice().Symlink(home_, "five", "one").status(), FsErrorIs(FsError::kQuota));
  // What exists still opens, and an existing name still says so.
  EXPECT_TRUE(alice().Create(home_, "one", backend::CreateMode::kUnchecked).ok());
  EXPECT_THAT(alice().Create(home_, "one").status(), FsErrorIs(FsError::kExists));
  EXPECT_THAT(alice().Mkdir(home_, "two").status(), FsErrorIs(FsError::kExists));
  ASSERT_TRUE(alice().Rmdir(home_, "two").ok());
  EXPECT_TRUE(alice().Create(home_, "three").ok());
  EXPECT_EQ(UsageOf(QuotaKind::kUser, "1000").inodes, 2u);
}

TEST_F(QuotaFilterTest, TruncateUpIsCheckedAndTruncateDownFrees) {
  ASSERT_THAT(filter_->SetQuota(Hard(QuotaKind::kGroup, "1000", 5000)), IsOk());
  InodeNumber f = NewFile(alice(), home_, "f", 1000);
  backend::SetAttributes grow;
  grow.size = 6000;
  EXPECT_THAT(alice().SetAttr(f, grow).status(), FsErrorIs(FsError::kQuota));
  grow.size = 5000;
  EXPECT_TRUE(alice().SetAttr(f, grow).ok());
  EXPECT_EQ(UsageOf(QuotaKind::kGroup, "1000").bytes, 5000u);
  backend::SetAttributes shrink;
  shrink.size = 10;
  EXPECT_TRUE(alice().SetAttr(f, shrink).ok());
  EXPECT_EQ(UsageOf(QuotaKind::kGroup, "1000").bytes, 10u);
}

TEST_F(QuotaFilterTest, ChownMovesUsageAndIsRefusedWhenTheNewOwnerIsFull) {
  ASSERT_THAT(filter_->SetQuota(Hard(QuotaKind::kUser, "1000", 1 << 20)), IsOk());
  ASSERT_THAT(filter_->SetQuota(Hard(QuotaKind::kUser, "2000", 3000)), IsOk());
  InodeNumber f = NewFile(alice(), home_, "f", 4000);
  backend::SetAttributes to_bob;
  to_bob.uid = 2000;
  EXPECT_THAT(root().SetAttr(f, to_bob).status(), FsErrorIs(FsError::kQuota));
  backend::SetAttributes shrink;
  shrink.size = 2000;
  ASSERT_TRUE(alice().SetAttr(f, shrink).ok());
  ASSERT_TRUE(root().SetAttr(f, to_bob).ok());
  EXPECT_EQ(UsageOf(QuotaKind::kUser, "1000").bytes, 0u);
  EXPECT_EQ(UsageOf(QuotaKind::kUser, "1000").inodes, 0u);
  EXPECT_EQ(UsageOf(QuotaKind::kUser, "2000").bytes, 2000u);
  EXPECT_EQ(UsageOf(QuotaKind::kUser, "2000").inodes, 1u);
}

TEST_F(QuotaFilterTest, BucketTreeQuotaCountsEveryoneInsideIt) {
  auto bucket = root().Mkdir(kRootInode, "photos", 0777);
  ASSERT_TRUE(bucket.ok());
  InodeNumber photos = bucket->attributes.inode;
  auto deep = alice().Mkdir(photos, "2026");
  ASSERT_TRUE(deep.ok());
  NewFile(alice(), deep->attributes.inode, "old.jpg", 1000);
  ASSERT_THAT(filter_->SetQuota(Hard(QuotaKind::kBucket, "photos", 5000)), IsOk());
  EXPECT_EQ(UsageOf(QuotaKind::kBucket, "photos").bytes, 1000u);
  EXPECT_EQ(UsageOf(QuotaKind::kBucket, "photos").inodes, 2u);  // 2026/ and old.jpg
  NewFile(bob(), photos, "b.jpg", 3000);
  InodeNumber c = NewFile(alice(), deep->attributes.inode, "c.jpg", 0);
  EXPECT_THAT(alice().Write(c, 0, std::string(2000, 'c')).status(), FsErrorIs(FsError::kQuota));
  EXPECT_TRUE(alice().Write(c, 0, std::string(1000, 'c')).ok());
  // Outside the bucket nothing is limited by it.
  NewFile(alice(), home_, "elsewhere", 100000);
  EXPECT_EQ(UsageOf(QuotaKind::kBucket, "photos").bytes, 5000u);
}

TEST_F(QuotaFilterTest, RenamesAcrossATreeBoundary) {
  auto bucket = root().Mkdir(kRootInode, "photos", 0777);
  ASSERT_TRUE(bucket.ok());
  InodeNumber photos = bucket->attributes.inode;
  ASSERT_THAT(filter_->SetQuota(Hard(QuotaKind::kBucket, "photos", 5000)), IsOk());
  NewFile(alice(), home_, "big", 6000);
  NewFile(alice(), home_, "small", 2000);
  // A file moving in is charged to the tree, and refused when it does not fit.
  EXPECT_THAT(alice().Rename(home_, "big", photos, "big").status(), FsErrorIs(FsError::kQuota));
  ASSERT_TRUE(alice().Rename(home_, "small", photos, "small").ok());
  EXPECT_EQ(UsageOf(QuotaKind::kBucket, "photos").bytes, 2000u);
  // Writes to it now count there.
  InodeNumber small = alice().Lookup(photos, "small")->inode;
  EXPECT_THAT(alice().Write(small, 2000, std::string(4000, 's')).status(),
              FsErrorIs(FsError::kQuota));
  // Moving it out frees the tree.
  ASSERT_TRUE(alice().Rename(photos, "small", home_, "small").ok());
  EXPECT_EQ(UsageOf(QuotaKind::kBucket, "photos").bytes, 0u);
  EXPECT_EQ(UsageOf(QuotaKind::kBucket, "photos").inodes, 0u);
  // Directories and hard links do not cross the boundary.
  ASSERT_TRUE(alice().Mkdir(home_, "album").ok());
  EXPECT_THAT(alice().Rename(home_, "album", photos, "album").status(),
              FsErrorIs(FsError::kCrossDevice));
  EXPECT_THAT(alice().Link(small, photos, "link").status(), FsErrorIs(FsError::kCrossDevice));
  // Renames inside the tree are free; a rename over a file frees the one replaced.
  NewFile(alice(), photos, "x", 1000);
  NewFile(alice(), photos, "y", 1500);
  ASSERT_TRUE(alice().Rename(photos, "x", photos, "y").ok());
  EXPECT_EQ(UsageOf(QuotaKind::kBucket, "photos").bytes, 1000u);
  EXPECT_EQ(UsageOf(QuotaKind::kBucket, "photos").inodes, 1u);
}

TEST_F(QuotaFilterTest, RemovingTheBucketDropsItsQuota) {
  auto bucket = root().Mkdir(kRootInode, "tmp-bucket", 0777);
  ASSERT_TRUE(bucket.ok());
  ASSERT_THAT(filter_->SetQuota(Hard(QuotaKind::kBucket, "tmp-bucket", 100)), IsOk());
  ASSERT_EQ(filter_->ListQuotas().size(), 1u);
  ASSERT_TRUE(root().Rmdir(kRootInode, "tmp-bucket").ok());
  EXPECT_TRUE(filter_->ListQuotas().empty());
  EXPECT_THAT(filter_->GetQuota({QuotaKind::kBucket, "tmp-bucket"}).status(),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(QuotaFilterTest, SubjectsThatDoNotExistAreRefused) {
  EXPECT_THAT(filter_->SetQuota(Hard(QuotaKind::kBucket, "nope", 100)),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(filter_->SetQuota(Hard(QuotaKind::kExport, "nope", 100)),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(filter_->SetQuota(Hard(QuotaKind::kUser, "alice", 100)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(filter_->RemoveQuota({QuotaKind::kUser, "1000"}),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(QuotaFilterTest, ExportQuotaAndCheckGrowth) {
  ASSERT_THAT(filter_->SetQuota(Hard(QuotaKind::kExport, "default", 10000)), IsOk());
  NewFile(alice(), home_, "f", 9000);
  EXPECT_THAT(filter_->CheckGrowth(Identity::Of(1000, 1000), home_, 2000, 1),
              FsErrorIs(FsError::kQuota));
  EXPECT_THAT(filter_->CheckGrowth(Identity::Of(1000, 1000), home_, 500, 1), IsOk());
  auto listed = filter_->ListQuotas();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].setting.subject.ToString(), "export:default");
  EXPECT_EQ(listed[0].usage.bytes, 9000u);
  EXPECT_FALSE(listed[0].hard_reached);
}

TEST_F(QuotaFilterTest, SoftLimitWarnsWithoutRefusing) {
  QuotaSetting soft;
  soft.subject = {QuotaKind::kUser, "1000"};
  soft.limits.soft_bytes = 1000;
  ASSERT_THAT(filter_->SetQuota(soft), IsOk());
  NewFile(alice(), home_, "f", 5000);
  auto report = filter_->GetQuota({QuotaKind::kUser, "1000"});
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->soft_exceeded);
  EXPECT_FALSE(report->hard_reached);
  EXPECT_EQ(filter_->ledger().stats().soft_crossings, 1u);
}

TEST_F(QuotaFilterTest, ConcurrentWritersStayWithinTheHardLimit) {
  constexpr uint64_t kLimit = 64 * 1024;
  ASSERT_THAT(filter_->SetQuota(Hard(QuotaKind::kUser, "1000", kLimit)), IsOk());
  std::vector<InodeNumber> files;
  for (int t = 0; t < 8; ++t) files.push_back(NewFile(alice(), home_, "w" + std::to_string(t), 0));
  std::atomic<int> refused{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < 8; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 32; ++i) {
        auto w = alice().Write(files[t], uint64_t(i) * 1000, std::string(1000, 'w'));
        if (!w.ok()) refused.fetch_add(1);
      }
    });
  }
  for (std::thread& w : writers) w.join();
  uint64_t total = 0;
  for (InodeNumber f : files) total += alice().GetAttr(f)->size;
  EXPECT_LE(total, kLimit);
  EXPECT_GT(refused.load(), 0);
  EXPECT_EQ(UsageOf(QuotaKind::kUser, "1000").bytes, total);
}

TEST_F(QuotaFilterTest, RebuildAgreesWithIncrementalCounting) {
  ASSERT_THAT(filter_->SetQuota(Hard(QuotaKind::kUser, "1000", 1 << 20, 100)), IsOk());
  auto bucket = root().Mkdir(kRootInode, "b", 0777);
  ASSERT_TRUE(bucket.ok());
  ASSERT_THAT(filter_->SetQuota(Hard(QuotaKind::kBucket, "b", 1 << 20, 100)), IsOk());
  InodeNumber b = bucket->attributes.inode;
  NewFile(alice(), b, "one", 1234);
  InodeNumber two = NewFile(alice(), home_, "two", 777);
  ASSERT_TRUE(alice().Write(two, 5000, "tail").ok());
  ASSERT_TRUE(alice().Rename(home_, "two", b, "two").ok());
  NewFile(alice(), home_, "three", 10);
  ASSERT_TRUE(alice().Unlink(home_, "three").ok());
  ASSERT_TRUE(alice().Mkdir(b, "d").ok());
  backend::SetAttributes cut;
  cut.size = 100;
  ASSERT_TRUE(alice().SetAttr(alice().Lookup(b, "one")->inode, cut).ok());
  quota::QuotaUsage user = UsageOf(QuotaKind::kUser, "1000");
  quota::QuotaUsage tree = UsageOf(QuotaKind::kBucket, "b");
  ASSERT_THAT(filter_->RebuildUsage(), IsOk());
  EXPECT_EQ(UsageOf(QuotaKind::kUser, "1000").bytes, user.bytes);
  EXPECT_EQ(UsageOf(QuotaKind::kUser, "1000").inodes, user.inodes);
  EXPECT_EQ(UsageOf(QuotaKind::kBucket, "b").bytes, tree.bytes);
  EXPECT_EQ(UsageOf(QuotaKind::kBucket, "b").inodes, tree.inodes);
  EXPECT_EQ(tree.bytes, 100u + 5004u);
  EXPECT_EQ(tree.inodes, 3u);
}

TEST_F(QuotaFilterTest, RemovingTheLastQuotaStopsCounting) {
  ASSERT_THAT(filter_->SetQuota(Hard(QuotaKind::kUser, "1000", 100)), IsOk());
  ASSERT_THAT(filter_->RemoveQuota({QuotaKind::kUser, "1000"}), IsOk());
  EXPECT_TRUE(filter_->ListQuotas().empty());
  InodeNumber f = NewFile(alice(), home_, "f", 0);
  EXPECT_TRUE(alice().Write(f, 0, std::string(5000, 'f')).ok());
}

// Writes reuse the attributes the filter saw last; a truncation must not leave them stale.
TEST_F(QuotaFilterTest, GrowthAfterATruncateIsStillChecked) {
  ASSERT_THAT(filter_->SetQuota(Hard(QuotaKind::kUser, "1000", 10000)), IsOk());
  InodeNumber f = NewFile(alice(), home_, "f", 8000);
  backend::SetAttributes cut;
  cut.size = 0;
  ASSERT_TRUE(alice().SetAttr(f, cut).ok());
  EXPECT_TRUE(alice().Write(f, 0, std::string(9000, 'a')).ok());
  EXPECT_THAT(alice().Write(f, 9000, std::string(2000, 'b')).status(), FsErrorIs(FsError::kQuota));
  EXPECT_EQ(UsageOf(QuotaKind::kUser, "1000").bytes, 9000u);
}

// Changes made while no limit was set are not seen: counting starts from a fresh look.
TEST_F(QuotaFilterTest, SizesChangedWhileUnlimitedAreLookedUpAgain) {
  ASSERT_THAT(filter_->SetQuota(Hard(QuotaKind::kUser, "1000", 1 << 20)), IsOk());
  InodeNumber f = NewFile(alice(), home_, "f", 50000);  // remembered at 50000 bytes
  ASSERT_THAT(filter_->RemoveQuota({QuotaKind::kUser, "1000"}), IsOk());
  backend::SetAttributes cut;
  cut.size = 0;
  ASSERT_TRUE(alice().SetAttr(f, cut).ok());  // unwatched
  ASSERT_THAT(filter_->SetQuota(Hard(QuotaKind::kUser, "1000", 10000)), IsOk());
  EXPECT_EQ(UsageOf(QuotaKind::kUser, "1000").bytes, 0u);
  EXPECT_THAT(alice().Write(f, 0, std::string(20000, 'c')).status(), FsErrorIs(FsError::kQuota));
  EXPECT_TRUE(alice().Write(f, 0, std::string(10000, 'c')).ok());
}

// An S3 overwrite: a staged file renamed over the object it replaces, at the bucket's limits.
TEST_F(QuotaFilterTest, ARenameOverAFileIsChargedTheDifference) {
  auto bucket = root().Mkdir(kRootInode, "photos", 0777);
  ASSERT_TRUE(bucket.ok());
  InodeNumber photos = bucket->attributes.inode;
  NewFile(alice(), photos, "a.jpg", 3000);
  NewFile(alice(), photos, "b.jpg", 1000);
  ASSERT_THAT(filter_->SetQuota(Hard(QuotaKind::kBucket, "photos", 5000, 2)), IsOk());
  // At the file limit, replacing b.jpg (1000) by 2000 bytes fits; a new name does not.
  NewFile(alice(), home_, "staged", 2000);
  ASSERT_TRUE(alice().Rename(home_, "staged", photos, "b.jpg").ok());
  EXPECT_EQ(UsageOf(QuotaKind::kBucket, "photos").bytes, 5000u);
  EXPECT_EQ(UsageOf(QuotaKind::kBucket, "photos").inodes, 2u);
  NewFile(alice(), home_, "more", 10);
  EXPECT_THAT(alice().Rename(home_, "more", photos, "c.jpg").status(), FsErrorIs(FsError::kQuota));
  // Replacing by something bigger than the room left is refused.
  NewFile(alice(), home_, "huge", 4000);
  EXPECT_THAT(alice().Rename(home_, "huge", photos, "b.jpg").status(), FsErrorIs(FsError::kQuota));
  EXPECT_EQ(UsageOf(QuotaKind::kBucket, "photos").bytes, 5000u);
}

}  // namespace
}  // namespace cfs::filters
