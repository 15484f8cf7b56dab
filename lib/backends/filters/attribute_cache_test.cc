#include "lib/backends/filters/attribute_cache.h"

#include <atomic>
#include <thread>

#include "gtest/gtest.h"
#include "lib/backends/embedded/embedded_backend.h"
#include "testing/status_matchers.h"
#include "testing/sync_backend.h"
#include "testing/temp_dir.h"

using ::cfs::testing::StatusIs;

namespace cfs::filters {
namespace {

using backend::kRootInode;

// Counts GetAttr calls that reach the backend behind the cache.
class CountingBackend : public ForwardingBackend {
 public:
  using ForwardingBackend::ForwardingBackend;
  void GetAttr(const Ctx& c, Ino inode, Cb<backend::Attributes> done) override {
    calls.fetch_add(1);
    ForwardingBackend::GetAttr(c, inode, std::move(done));
  }
  std::atomic<int> calls{0};
};

class AttributeCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    embedded::EmbeddedBackendOptions options;
    options.data_dir = dir_.path();
    auto embedded = embedded::EmbeddedBackend::Open(options);
    ASSERT_TRUE(embedded.ok());
    auto counting = std::make_unique<CountingBackend>(std::move(*embedded));
    counting_ = counting.get();
    cache_ = std::make_unique<AttributeCache>(std::move(counting), AttributeCacheOptions{});
  }
  cfs::testing::SyncBackend fs() {
    return cfs::testing::SyncBackend(*cache_, backend::RequestContext{backend::Identity::Root()});
  }

  cfs::testing::TempDir dir_;
  CountingBackend* counting_ = nullptr;
  std::unique_ptr<AttributeCache> cache_;
};

TEST_F(AttributeCacheTest, RepeatedGetAttrIsServedFromMemory) {
  auto f = fs().Create(kRootInode, "f");
  ASSERT_TRUE(f.ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(fs().GetAttr(f->attributes.inode).ok());
  EXPECT_EQ(counting_->calls.load(), 1);
  EXPECT_EQ(cache_->stats().hits, 9u);
  EXPECT_NEAR(cache_->stats().hit_ratio(), 0.9, 1e-9);
}

TEST_F(AttributeCacheTest, ChangesThroughTheGatewayInvalidate) {
  auto f = fs().Create(kRootInode, "f");
  ASSERT_TRUE(f.ok());
  backend::InodeNumber inode = f->attributes.inode;
  EXPECT_EQ(fs().GetAttr(inode)->size, 0u);
  ASSERT_TRUE(fs().Write(inode, 0, "12345").ok());
  EXPECT_EQ(fs().GetAttr(inode)->size, 5u) << "a write left stale attributes";
  backend::SetAttributes chmod;
  chmod.mode = 0600;
  ASSERT_TRUE(fs().SetAttr(inode, chmod).ok());
  EXPECT_EQ(fs().GetAttr(inode)->mode, 0600u);
  ASSERT_TRUE(fs().Link(inode, kRootInode, "g").ok());
  EXPECT_EQ(fs().GetAttr(inode)->nlink, 2u);
  ASSERT_TRUE(fs().Unlink(kRootInode, "g").ok());  // victim unknown to the cache
  EXPECT_EQ(fs().GetAttr(inode)->nlink, 1u);
  ASSERT_TRUE(fs().Unlink(kRootInode, "f").ok());
  EXPECT_THAT(fs().GetAttr(inode), StatusIs(absl::StatusCode::kNotFound))
      << "a removed file is still cached";
  auto dir = fs().GetAttr(kRootInode);
  ASSERT_TRUE(fs().Mkdir(kRootInode, "d").ok());
  EXPECT_NE(fs().GetAttr(kRootInode)->change_id, dir->change_id);
}

TEST_F(AttributeCacheTest, ConcurrentWritersNeverLeaveStaleSizes) {
  auto f = fs().Create(kRootInode, "f");
  ASSERT_TRUE(f.ok());
  backend::InodeNumber inode = f->attributes.inode;
  std::thread reader([&] {
    for (int i = 0; i < 2000; ++i) fs().GetAttr(inode).IgnoreError();
  });
  for (int i = 1; i <= 200; ++i) {
    ASSERT_TRUE(fs().Write(inode, 0, std::string(i, 'x'), backend::Stability::kUnstable).ok());
  }
  reader.join();
  EXPECT_EQ(fs().GetAttr(inode)->size, 200u);
}

TEST_F(AttributeCacheTest, RepeatedLookupsAreServedFromTheNameCache) {
  auto dir = fs().Mkdir(kRootInode, "d", 0750);
  ASSERT_TRUE(dir.ok());
  backend::InodeNumber d = dir->attributes.inode;
  ASSERT_TRUE(fs().Create(d, "f").ok());
  ASSERT_TRUE(fs().GetAttr(d).ok());  // caches the directory's attributes
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(fs().Lookup(d, "f").ok());
  EXPECT_GE(cache_->stats().name_hits, 4u);
  // A caller without search permission is not answered from the cache.
  auto stranger = fs().As(backend::Identity::Of(4000, 4000));
  EXPECT_EQ(stranger.Lookup(d, "f").status().code(), absl::StatusCode::kPermissionDenied);
  // After a rename the old name is gone and the new one resolves.
  ASSERT_TRUE(fs().Rename(d, "f", d, "g").ok());
  EXPECT_EQ(fs().Lookup(d, "f").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(fs().Lookup(d, "g").ok());
  ASSERT_TRUE(fs().Unlink(d, "g").ok());
  EXPECT_EQ(fs().Lookup(d, "g").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(AttributeCacheTest, ShutdownMakesCachedEntriesUnavailable) {
  ASSERT_TRUE(fs().GetAttr(kRootInode).ok());
  ASSERT_TRUE(cache_->Shutdown(absl::Now() + absl::Seconds(5)).ok());
  EXPECT_EQ(fs().GetAttr(kRootInode).status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace cfs::filters
