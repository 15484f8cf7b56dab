// Windows DACLs: parsing, evaluation order, generic rights and inheritance.
#include "lib/protocols/smb/nt_acl.h"

#include "gtest/gtest.h"
#include "lib/protocols/smb/le_bytes.h"
#include "testing/status_matchers.h"

using ::cfs::testing::StatusIs;

namespace cfs::smb {
namespace {

constexpr uint32_t kReadData = 0x1;
constexpr uint32_t kWriteData = 0x2;
constexpr uint32_t kDelete = 0x10000;
constexpr uint32_t kReadControl = 0x20000;
constexpr uint32_t kWriteDac = 0x40000;

std::string CreatorOwner() {
  std::string sid = {1, 1, 0, 0, 0, 0, 0, 3};
  Put32(&sid, 0);
  return sid;
}

Ace Allow(const std::string& sid, uint32_t mask, uint8_t flags = 0) {
  Ace ace;
  ace.type = kAceAccessAllowed;
  ace.flags = flags;
  ace.mask = mask;
  ace.sid = sid;
  return ace;
}

Ace Deny(const std::string& sid, uint32_t mask) {
  Ace ace = Allow(sid, mask);
  ace.type = kAceAccessDenied;
  return ace;
}

backend::Attributes OwnedBy(uint32_t uid) {
  backend::Attributes a;
  a.uid = uid;
  a.gid = 100;
  return a;
}

TEST(NtAclTest, AclRoundTripsWithUnknownAceTypesKept) {
  Ace audit;
  audit.type = 2;  // SYSTEM_AUDIT: kept, not evaluated
  audit.body = std::string(12, '\x07');
  std::vector<Ace> aces = {Allow(UserSid(1000), 0x1F01FF, kAceObjectInherit), audit,
                           Deny(EveryoneSid(), kWriteData)};
  absl::StatusOr<std::vector<Ace>> back = DecodeAcl(EncodeAcl(aces));
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->size(), 3u);
  EXPECT_EQ((*back)[0].sid, UserSid(1000));
  EXPECT_EQ((*back)[0].flags, kAceObjectInherit);
  EXPECT_EQ((*back)[1].body, audit.body);
  EXPECT_EQ((*back)[2].type, kAceAccessDenied);
  EXPECT_EQ((*back)[2].mask, kWriteData);
}

TEST(NtAclTest, MalformedAclsAreErrors) {
  std::string acl = EncodeAcl({Allow(UserSid(1), kReadData)});
  EXPECT_THAT(DecodeAcl(acl.substr(0, acl.size() - 1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  std::string bad_count = acl;
  bad_count[4] = 2;  // claims a second ACE
  EXPECT_THAT(DecodeAcl(bad_count), StatusIs(absl::StatusCode::kInvalidArgument));
  std::string bad_sid = acl;
  bad_sid[8 + 8 + 1] = 15;  // a SID with more sub-authorities than the ACE holds
  EXPECT_THAT(DecodeAcl(bad_sid), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(DecodeStoredDacl(""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(DaclOfDescriptor("short"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(NtAclTest, DenyBeforeAllowWinsAndOrderMatters) {
  Dacl dacl;
  dacl.aces = {Deny(UserSid(1000), kWriteData), Allow(EveryoneSid(), kReadData | kWriteData)};
  std::vector<std::string> alice = TokenSids(backend::Identity::Of(1000, 100));
  EXPECT_EQ(GrantedByDacl(dacl, alice), kReadData);
  dacl.aces = {Allow(EveryoneSid(), kReadData | kWriteData), Deny(UserSid(1000), kWriteData)};
  EXPECT_EQ(GrantedByDacl(dacl, alice), kReadData | kWriteData);
  std::vector<std::string> bob = TokenSids(backend::Identity::Of(1001, 100));
  dacl.aces = {Allow(UserSid(1000), kReadData), Allow(GroupSid(100), kWriteData)};
  EXPECT_EQ(GrantedByDacl(dacl, bob), kWriteData);
}

TEST(NtAclTest, GenericRightsAndInheritOnlyAces) {
  Dacl dacl;
  dacl.aces = {Allow(EveryoneSid(), 0x80000000),  // GENERIC_READ
               Allow(EveryoneSid(), kDelete, kAceInheritOnly | kAceObjectInherit)};
  uint32_t granted = GrantedByDacl(dacl, TokenSids(backend::Identity::Of(5, 5)));
  EXPECT_EQ(granted, 0x00120089u);
  Dacl null_dacl;
  null_dacl.null_dacl = true;
  EXPECT_EQ(GrantedByDacl(null_dacl, {}), 0x001F01FFu);
}

TEST(NtAclTest, OwnerKeepsReadControlAndWriteDacRootEverything) {
  Dacl empty;
  backend::Identity alice = backend::Identity::Of(1000, 100);
  EXPECT_EQ(GrantedAccessWithDacl(empty, alice, OwnedBy(1000)), kReadControl | kWriteDac);
  EXPECT_EQ(GrantedAccessWithDacl(empty, alice, OwnedBy(1001)), 0u);
  EXPECT_EQ(GrantedAccessWithDacl(empty, backend::Identity::Root(), OwnedBy(1000)), 0x001F01FFu);
}

TEST(NtAclTest, AnAceCannotGiveAwayTheDescriptor) {
  Dacl everyone_full;
  everyone_full.aces.push_back(Allow(EveryoneSid(), 0x001F01FF));
  backend::Identity bob = backend::Identity::Of(1001, 1001);
  uint32_t granted = GrantedAccessWithDacl(everyone_full, bob, OwnedBy(1000));
  EXPECT_EQ(granted & (kWriteDac | 0x00080000), 0u);  // no WRITE_DAC, no WRITE_OWNER
  EXPECT_EQ(granted, 0x001F01FFu & ~(kWriteDac | 0x00080000));
  EXPECT_EQ(GrantedAccessWithDacl(everyone_full, bob, OwnedBy(1001)), 0x001F01FFu);
}

TEST(NtAclTest, DescriptorDaclAndStoredFormRoundTrip) {
  std::string acl = EncodeAcl({Allow(UserSid(7), kReadData)});
  std::string sd = {1, 0};
  Put16(&sd, 0x8000 | 0x0004 | 0x1000);  // self-relative, DACL present, protected
  Put32(&sd, 0);
  Put32(&sd, 0);
  Put32(&sd, 0);
  Put32(&sd, 20);
  sd += acl;
  absl::StatusOr<Dacl> dacl = DaclOfDescriptor(sd);
  ASSERT_TRUE(dacl.ok()) << dacl.status();
  EXPECT_FALSE(dacl->null_dacl);
  EXPECT_EQ(dacl->control, 0x0004 | 0x1000);
  absl::StatusOr<Dacl> stored = DecodeStoredDacl(EncodeStoredDacl(*dacl));
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->control, dacl->control);
  ASSERT_EQ(stored->aces.size(), 1u);
  EXPECT_EQ(stored->aces[0].sid, UserSid(7));
  // Present with no ACL: a NULL DACL.
  Put32(&sd, 0);
  sd[16] = 0;
  absl::StatusOr<Dacl> null_dacl = DaclOfDescriptor(sd);
  ASSERT_TRUE(null_dacl.ok());
  EXPECT_TRUE(null_dacl->null_dacl);
  EXPECT_TRUE(DecodeStoredDacl(EncodeStoredDacl(*null_dacl))->null_dacl);
}

TEST(NtAclTest, FilesInheritObjectInheritAces) {
  Dacl parent;
  parent.aces = {Allow(UserSid(1), kReadData, kAceObjectInherit),
                 Allow(UserSid(2), kWriteData, kAceContainerInherit),
                 Allow(CreatorOwner(), kDelete, kAceObjectInherit | kAceInheritOnly),
                 Allow(UserSid(3), kDelete)};  // not inheritable
  std::optional<Dacl> file = InheritedDacl(parent, false, 1000, 100);
  ASSERT_TRUE(file.has_value());
  ASSERT_EQ(file->aces.size(), 2u);
  EXPECT_EQ(file->aces[0].sid, UserSid(1));
  EXPECT_EQ(file->aces[0].flags, kAceInherited);
  EXPECT_EQ(file->aces[1].sid, UserSid(1000)) << "CREATOR OWNER becomes the new owner";
  EXPECT_EQ(file->aces[1].flags, kAceInherited);
}

TEST(NtAclTest, DirectoriesInheritContainerAcesAndPassObjectAcesOn) {
  Dacl parent;
  parent.aces = {Allow(UserSid(1), kReadData, kAceObjectInherit),
                 Allow(UserSid(2), kWriteData, kAceContainerInherit),
                 Allow(UserSid(4), kDelete, kAceContainerInherit | kAceNoPropagateInherit)};
  std::optional<Dacl> dir = InheritedDacl(parent, true, 1000, 100);
  ASSERT_TRUE(dir.has_value());
  ASSERT_EQ(dir->aces.size(), 3u);
  EXPECT_EQ(dir->aces[0].flags, kAceInherited | kAceInheritOnly | kAceObjectInherit);
  EXPECT_EQ(dir->aces[1].flags, kAceInherited | kAceContainerInherit);
  EXPECT_EQ(dir->aces[2].flags, kAceInherited) << "no-propagate stops at the child";
  // Effective for the directory itself: the container ACEs, not the inherit-only one.
  std::vector<std::string> sids = {UserSid(1), UserSid(2), UserSid(4)};
  EXPECT_EQ(GrantedByDacl(*dir, sids), kWriteData | kDelete);
  Dacl plain;
  plain.aces = {Allow(UserSid(1), kReadData)};
  EXPECT_FALSE(InheritedDacl(plain, true, 1, 1).has_value());
}

}  // namespace
}  // namespace cfs::smb
