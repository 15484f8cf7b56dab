#include "lib/protocols/smb/smb_info.h"

#include "gtest/gtest.h"
#include "lib/protocols/smb/le_bytes.h"
#include "testing/status_matchers.h"

using ::cfs::testing::StatusIs;

namespace cfs::smb {
namespace {

TEST(SmbInfoTest, FiletimeOfTheUnixEpochAndBack) {
  EXPECT_EQ(ToFiletime(backend::Timestamp{0, 0}), 116444736000000000ULL);
  backend::Timestamp t{1700000000, 123456700};
  EXPECT_EQ(FromFiletime(ToFiletime(t)), t);
}

TEST(SmbInfoTest, WildcardsMatchLikeWindows) {
  EXPECT_TRUE(MatchPattern("*", "anything"));
  EXPECT_TRUE(MatchPattern("*.TXT", "notes.txt"));
  EXPECT_TRUE(MatchPattern("a?c", "abc"));
  EXPECT_FALSE(MatchPattern("a?c", "abbc"));
  EXPECT_TRUE(MatchPattern("*b*", "abc"));
  EXPECT_FALSE(MatchPattern("*.txt", "notes.txt.bak"));
  EXPECT_TRUE(MatchPattern("<.txt", "x.txt"));
  EXPECT_TRUE(MatchPattern("x\"txt", "x.txt"));
  EXPECT_TRUE(MatchPattern("exact", "EXACT"));
  EXPECT_FALSE(MatchPattern("exact", "exact2"));
}

TEST(SmbInfoTest, SecurityDescriptorRoundTripsOwnerGroupAndMode) {
  backend::Attributes a;
  a.uid = 1000;
  a.gid = 100;
  a.mode = 0750;
  std::string sd = EncodeSecurityDescriptor(a, kSecOwner | kSecGroup | kSecDacl);
  EXPECT_EQ(Le16(sd, 2) & 0x8004, 0x8004);  // self-relative, DACL present
  absl::StatusOr<SecurityChange> back =
      DecodeSecurityDescriptor(sd, kSecOwner | kSecGroup | kSecDacl, a);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->uid, 1000u);
  EXPECT_EQ(back->gid, 100u);
  EXPECT_EQ(back->mode, 0750u);
  // Only the parts asked for.
  std::string owner_only = EncodeSecurityDescriptor(a, kSecOwner);
  EXPECT_EQ(Le32(owner_only, 8), 0u);   // no group
  EXPECT_EQ(Le32(owner_only, 16), 0u);  // no DACL
}

TEST(SmbInfoTest, SecurityDescriptorsWithoutPosixMeaningAreRefused) {
  backend::Attributes a;
  std::string sd = EncodeSecurityDescriptor(a, kSecOwner);
  sd[27] = 5;  // authority 5 (NT AUTHORITY): no POSIX uid
  EXPECT_EQ(DecodeSecurityDescriptor(sd, kSecOwner, a).status().code(),
            absl::StatusCode::kUnimplemented);
  EXPECT_EQ(DecodeSecurityDescriptor("short", kSecOwner, a).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SmbInfoTest, RenameInformation) {
  std::string name("n\0e\0w\0", 6);
  std::string b(1, '\1');
  b.append(15, '\0');
  Put32(&b, 6);
  b += name;
  absl::StatusOr<RenameInfo> r = DecodeRenameInfo(b);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->replace_if_exists);
  EXPECT_EQ(r->target, "new");
  b[16] = 40;  // name past the buffer
  EXPECT_THAT(DecodeRenameInfo(b), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(SmbInfoTest, DirectoryEntriesHaveTheClassLayout) {
  backend::Attributes a;
  a.inode = 42;
  a.size = 10;
  a.type = backend::FileType::kRegular;
  absl::StatusOr<std::string> both = EncodeDirectoryEntry(info::kIdBothDirectory, a, "ab");
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->size(), 104u + 4u);
  EXPECT_EQ(Le32(*both, 60), 4u);   // FileNameLength
  EXPECT_EQ(Le64(*both, 96), 42u);  // FileId
  EXPECT_EQ(Le64(*both, 40), 10u);  // EndOfFile
  absl::StatusOr<std::string> names = EncodeDirectoryEntry(info::kNames, a, "ab");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(names->size(), 16u);
  EXPECT_THAT(EncodeDirectoryEntry(99, a, "ab"), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace cfs::smb
