// ObjectStore on the embedded backend: key rules, invisible staging, listing order and
// delimiters exactly as S3 defines them, prefix pruning, ETags of files changed outside S3.
#include "lib/protocols/s3/object_store.h"

#include "gtest/gtest.h"
#include "lib/backends/embedded/embedded_backend.h"
#include "lib/protocols/s3/digests.h"
#include "testing/temp_dir.h"

namespace cfs::s3 {
namespace {

using backend::Identity;

class ObjectStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    embedded::EmbeddedBackendOptions options;
    options.data_dir = dir_.path() + "/data";
    auto opened = embedded::EmbeddedBackend::Open(options);
    ASSERT_TRUE(opened.ok()) << opened.status();
    backend_ = *std::move(opened);
    auto store = ObjectStore::Open(*backend_, "/");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    ASSERT_TRUE(store_->CreateBucket(root_, "bucket", "private").ok());
  }
  void TearDown() override { backend_->Shutdown(absl::Now() + absl::Seconds(10)).IgnoreError(); }

  S3Or<ObjectInfo> Put(const std::string& key, const std::string& data) {
    S3Or<std::unique_ptr<StagedObject>> staged = store_->Stage(root_);
    if (!staged.ok()) return staged.error();
    S3Or<Ok> appended = (*staged)->Append(Buffer::CopyOf(data));
    if (!appended.ok()) return appended.error();
    ObjectMeta meta;
    meta.set_etag(HexEncode(DigestOf(DigestKind::kMd5, data)));
    return store_->Publish(root_, *std::move(staged), "bucket", key, meta);
  }
  std::vector<std::string> Keys(const ListRequest& request, ListResult* out = nullptr) {
    S3Or<ListResult> result = store_->List(root_, "bucket", request);
    EXPECT_TRUE(result.ok()) << result.error().code;
    std::vector<std::string> keys;
    for (const ObjectInfo& o : result->objects) keys.push_back(o.key);
    for (const std::string& p : result->common_prefixes) keys.push_back("P:" + p);
    if (out != nullptr) *out = *result;
    return keys;
  }

  testing::TempDir dir_;
  std::unique_ptr<embedded::EmbeddedBackend> backend_;
  std::unique_ptr<ObjectStore> store_;
  Identity root_ = Identity::Root();
};

TEST(KeyToPathTest, Rules) {
  EXPECT_EQ(KeyToPath("a/b/c", false)->size(), 3u);
  EXPECT_EQ(KeyToPath("a/b/", true)->size(), 2u);
  EXPECT_FALSE(KeyToPath("a/b/", false).ok());
  for (const char* bad : {"", "/a", "a//b", "a/./b", "../a", "a/.."}) {
    EXPECT_FALSE(KeyToPath(bad, true).ok()) << bad;
  }
  EXPECT_EQ(KeyToPath(std::string(256, 'x'), false).error().code, "KeyTooLongError");
  EXPECT_EQ(KeyToPath(std::string(1025, 'x'), false).error().code, "KeyTooLongError");
  EXPECT_FALSE(KeyToPath(std::string("a\0b", 3), false).ok());
  EXPECT_TRUE(IsValidBucketName("my.bucket-1"));
  for (const char* bad : {"ab", "Upper", "-lead", "trail-", "a..b", ".cfs-s3", "under_score",
                          "192.168.5.123", "foo-.bar", "foo.-bar"}) {
    EXPECT_FALSE(IsValidBucketName(bad)) << bad;
  }
}

TEST_F(ObjectStoreTest, StagedDataIsInvisibleUntilPublished) {
  S3Or<std::unique_ptr<StagedObject>> staged = store_->Stage(root_);
  ASSERT_TRUE(staged.ok());
  ASSERT_TRUE((*staged)->Append(Buffer::CopyOf("partial")).ok());
  EXPECT_FALSE(store_->Head(root_, "bucket", "k").ok());
  EXPECT_TRUE(Keys({}).empty());
  staged->reset();  // discarded: nothing appears, the staging file is gone
  EXPECT_TRUE(Keys({}).empty());
  ASSERT_TRUE(Put("k", "data").ok());
  S3Or<ObjectInfo> head = store_->Head(root_, "bucket", "k");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->attributes.size, 4u);
  EXPECT_EQ(head->meta.etag(), HexEncode(DigestOf(DigestKind::kMd5, "data")));
}

TEST_F(ObjectStoreTest, ListingOrderAndDelimitersFollowS3) {
  for (const char* key : {"a-b", "a/b", "a/c/d", "a0", "b/x", "b/y/z", "c"}) {
    ASSERT_TRUE(Put(key, key).ok()) << key;
  }
  // Byte order of whole keys: '-' (0x2d) < '/' (0x2f) < '0' (0x30).
  EXPECT_EQ(Keys({}), (std::vector<std::string>{"a-b", "a/b", "a/c/d", "a0", "b/x", "b/y/z", "c"}));
  ListRequest delimited;
  delimited.delimiter = "/";
  EXPECT_EQ(Keys(delimited), (std::vector<std::string>{"a-b", "a0", "c", "P:a/", "P:b/"}));
  ListRequest prefixed = delimited;
  prefixed.prefix = "a/";
  EXPECT_EQ(Keys(prefixed), (std::vector<std::string>{"a/b", "P:a/c/"}));
  ListRequest other_delimiter;
  other_delimiter.delimiter = "b";
  EXPECT_EQ(Keys(other_delimiter),
            (std::vector<std::string>{"a/c/d", "a0", "c", "P:a-b", "P:a/b", "P:b"}));
  // Pages: max_keys counts keys and prefixes; the marker resumes after the last one.
  ListRequest page = delimited;
  page.max_keys = 2;
  ListResult result;
  EXPECT_EQ(Keys(page, &result), (std::vector<std::string>{"a-b", "P:a/"}));
  EXPECT_TRUE(result.truncated);
  EXPECT_EQ(result.next_marker, "a/");
  page.after = result.next_marker;
  EXPECT_EQ(Keys(page, &result), (std::vector<std::string>{"a0", "P:b/"}));
  page.after = result.next_marker;
  EXPECT_EQ(Keys(page, &result), (std::vector<std::string>{"c"}));
  EXPECT_FALSE(result.truncated);
  ListRequest after;
  after.after = "a/c";
  EXPECT_EQ(Keys(after), (std::vector<std::string>{"a/c/d", "a0", "b/x", "b/y/z", "c"}));
}

TEST_F(ObjectStoreTest, DeletePrunesEmptyParentsButNotTheBucket) {
  ASSERT_TRUE(Put("x/y/z", "1").ok());
  ASSERT_TRUE(Put("x/keep", "2").ok());
  ASSERT_TRUE(store_->Delete(root_, "bucket", "x/y/z").ok());
  ListRequest delimited;
  delimited.delimiter = "/";
  delimited.prefix = "x/";
  EXPECT_EQ(Keys(delimited), (std::vector<std::string>{"x/keep"}));
  ASSERT_TRUE(store_->Delete(root_, "bucket", "x/keep").ok());
  EXPECT_TRUE(Keys({}).empty());
  EXPECT_TRUE(store_->HeadBucket(root_, "bucket").ok());
  EXPECT_TRUE(store_->Delete(root_, "bucket", "never/there").ok());
  EXPECT_TRUE(store_->DeleteBucket(root_, "bucket").ok());
}

TEST_F(ObjectStoreTest, EtagFollowsChangesMadeOutsideS3) {
  ASSERT_TRUE(Put("f", "before").ok());
  S3Or<ObjectInfo> head = store_->Head(root_, "bucket", "f");
  ASSERT_TRUE(head.ok());
  // Written the way NFS writes: straight to the file, no S3 metadata update.
  backend::SyncBackend fs(*backend_, backend::RequestContext{root_});
  ASSERT_TRUE(fs.Write(head->attributes.inode, 0, "AFTER!", backend::Stability::kFileSync).ok());
  S3Or<ObjectInfo> again = store_->Head(root_, "bucket", "f");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->meta.etag(), HexEncode(DigestOf(DigestKind::kMd5, "AFTER!")));
}

TEST_F(ObjectStoreTest, PermissionsApply) {
  Identity alice = Identity::Of(1000, 1000);
  S3Or<std::unique_ptr<StagedObject>> staged = store_->Stage(alice);
  ASSERT_TRUE(staged.ok());
  ASSERT_TRUE((*staged)->Append(Buffer::CopyOf("x")).ok());
  S3Or<ObjectInfo> published =
      store_->Publish(alice, *std::move(staged), "bucket", "k", ObjectMeta());
  ASSERT_FALSE(published.ok());
  EXPECT_EQ(published.error().code, "AccessDenied");
  EXPECT_EQ(store_->CreateBucket(alice, "alices", "private").ok(), true);
  EXPECT_EQ(store_->CreateBucket(root_, "alices", "private").error().code, "BucketAlreadyExists");
  EXPECT_EQ(store_->CreateBucket(alice, "alices", "private").error().code,
            "BucketAlreadyOwnedByYou");
}

TEST_F(ObjectStoreTest, BucketsAndObjectsAdmitOnlyTheirOwner) {
  Identity alice = Identity::Of(1000, 1000);
  Identity bob = Identity::Of(1001, 1001);
  ASSERT_TRUE(store_->CreateBucket(alice, "private-one", "private").ok());
  ASSERT_TRUE(store_->CreateBucket(alice, "public-one", "public-read").ok());
  S3Or<BucketInfo> bucket = store_->HeadBucket(alice, "private-one");
  ASSERT_TRUE(bucket.ok());
  EXPECT_EQ(bucket->attributes.mode & 0777, 0700u);
  EXPECT_EQ(ObjectMode(bucket->attributes), 0600u);
  EXPECT_EQ(store_->HeadBucket(alice, "public-one")->attributes.mode & 0777, 0755u);
  EXPECT_EQ(*store_->GetBucketAcl("public-one"), "public-read");
  // An object made in the private bucket is alice's alone, and so are its prefixes.
  S3Or<std::unique_ptr<StagedObject>> staged = store_->Stage(alice, 0600);
  ASSERT_TRUE(staged.ok());
  ASSERT_TRUE((*staged)->Append(Buffer::CopyOf("secret")).ok());
  S3Or<ObjectInfo> put =
      store_->Publish(alice, *std::move(staged), "private-one", "dir/obj", ObjectMeta());
  ASSERT_TRUE(put.ok()) << put.error().message;
  EXPECT_EQ(put->attributes.mode & 0777, 0600u);
  EXPECT_EQ(put->attributes.uid, 1000u);
  EXPECT_EQ(store_->Head(bob, "private-one", "dir/obj").error().code, "AccessDenied");
  // ListBuckets lists the caller's own buckets only.
  S3Or<std::vector<BucketInfo>> listed = store_->ListBuckets(alice);
  ASSERT_TRUE(listed.ok());
  std::vector<std::string> names;
  for (const BucketInfo& b : *listed) names.push_back(b.name);
  EXPECT_EQ(names, (std::vector<std::string>{"private-one", "public-one"}));
  EXPECT_TRUE(store_->ListBuckets(bob)->empty());
  // Changing the canned ACL changes the mode, which every protocol enforces.
  EXPECT_EQ(store_->SetBucketAcl(bob, "public-one", "private").error().code, "AccessDenied");
  ASSERT_TRUE(store_->SetBucketAcl(alice, "public-one", "private").ok());
  EXPECT_EQ(store_->HeadBucket(alice, "public-one")->attributes.mode & 0777, 0700u);
  EXPECT_EQ(*store_->GetBucketAcl("public-one"), "private");
}

TEST_F(ObjectStoreTest, HeadNeedsReadPermission) {
  Identity alice = Identity::Of(1000, 1000);
  ASSERT_TRUE(store_->CreateBucket(alice, "shared", "public-read").ok());
  S3Or<std::unique_ptr<StagedObject>> staged = store_->Stage(alice, 0600);
  ASSERT_TRUE(staged.ok());
  ASSERT_TRUE((*staged)->Append(Buffer::CopyOf("not for others")).ok());
  ASSERT_TRUE(store_->Publish(alice, *std::move(staged), "shared", "k", ObjectMeta()).ok());
  // The directory is searchable, the file is not readable: no size, no ETag, no metadata.
  EXPECT_EQ(store_->Head(Identity::Of(1001, 1001), "shared", "k").error().code, "AccessDenied");
  EXPECT_TRUE(store_->Head(alice, "shared", "k").ok());
}

TEST(KeyToPathTest, ReservedNamesAreNotKeys) {
  EXPECT_EQ(KeyToPath("a/.cfs-s3/b", false).error().code, "InvalidArgument");
  EXPECT_TRUE(KeyToPath("a/cfs-s3/b", false).ok());
}

}  // namespace
}  // namespace cfs::s3
