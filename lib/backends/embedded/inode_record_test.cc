#include "lib/backends/embedded/inode_record.h"

#include "gtest/gtest.h"

namespace cfs::embedded {
namespace {

TEST(InodeRecordTest, RoundTripsEveryField) {
  InodeRecord r;
  r.attrs.inode = 42;
  r.attrs.generation = 7;
  r.attrs.type = backend::FileType::kSymlink;
  r.attrs.mode = 04755;
  r.attrs.nlink = 3;
  r.attrs.uid = 1000;
  r.attrs.gid = 100;
  r.attrs.size = 5ULL << 30;
  r.attrs.rdev_major = 8;
  r.attrs.rdev_minor = 1;
  r.attrs.mtime = {1700000000, 123456789};
  r.attrs.change_id = 99;
  r.attrs.flags = backend::kFileFlagSparse;
  r.parent = 1;
  r.next_cookie = 17;
  r.symlink_target = "../target";
  r.create_verifier = 0xdeadbeef;
  absl::StatusOr<InodeRecord> back = DecodeInode(EncodeInode(r));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->attrs.inode, 42u);
  EXPECT_EQ(back->attrs.type, backend::FileType::kSymlink);
  EXPECT_EQ(back->attrs.mode, 04755u);
  EXPECT_EQ(back->attrs.size, 5ULL << 30);
  EXPECT_EQ(back->attrs.mtime, (backend::Timestamp{1700000000, 123456789}));
  EXPECT_EQ(back->attrs.change_id, 99u);
  EXPECT_EQ(back->next_cookie, 17u);
  EXPECT_EQ(back->symlink_target, "../target");
  EXPECT_EQ(back->create_verifier, 0xdeadbeefu);
  EXPECT_EQ(back->attrs.flags, backend::kFileFlagSparse);
}

TEST(InodeRecordTest, VersionOneRecordsLoadWithoutFlags) {
  InodeRecord r;
  r.attrs.inode = 5;
  r.attrs.flags = backend::kFileFlagSparse;
  std::string v1 = EncodeInode(r);
  v1[0] = 1;                 // the version before flags
  v1.resize(v1.size() - 4);  // ... which had none
  absl::StatusOr<InodeRecord> back = DecodeInode(v1);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->attrs.inode, 5u);
  EXPECT_EQ(back->attrs.flags, 0u);
  v1[0] = 3;
  EXPECT_EQ(DecodeInode(v1).status().code(), absl::StatusCode::kDataLoss);
}

TEST(InodeRecordTest, RejectsTruncatedAndTrailingBytes) {
  std::string encoded = EncodeInode(InodeRecord{});
  EXPECT_EQ(DecodeInode(encoded.substr(0, encoded.size() - 1)).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeInode(encoded + "x").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeInode("").status().code(), absl::StatusCode::kDataLoss);
}

TEST(InodeRecordTest, KeysSortNumerically) {
  EXPECT_LT(InodeKey(255), InodeKey(256));
  EXPECT_LT(CookieKey(1, 9), CookieKey(1, 10));
  EXPECT_EQ(InodeOfKey(DirentKey(77, "name")), 77u);
  EXPECT_EQ(NameOfKey(DirentKey(77, "name")), "name");
  EXPECT_EQ(CookieOfKey(CookieKey(5, 1234)), 1234u);
}

}  // namespace
}  // namespace cfs::embedded
