#include "lib/auth/user_store.h"

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cfs::auth {
namespace {

TEST(NtHashTest, MatchesKnownVectors) {
  // Well-known NT hashes (MS-NLMP NTOWFv1).
  EXPECT_EQ(absl::BytesToHexString(*NtHash("password")), "8846f7eaee8fb117ad06bdd830b7586c");
  EXPECT_EQ(absl::BytesToHexString(*NtHash("")), "31d6cfe0d16ae931b73c59d7e0c089c0");
}

TEST(NtHashTest, RejectsMalformedUtf8) {
  EXPECT_EQ(NtHash("\xff").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(NtHash("a\xc3").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(NtHash("gr\xc3\xbc\xc3\x9f").ok());
}

TEST(UserStoreTest, FindsUsersByNameUidAndAccessKey) {
  UserStore store;
  User alice;
  alice.name = "alice";
  alice.uid = 1000;
  alice.gid = 100;
  alice.groups = {7};
  alice.s3_keys.push_back({"AKALICE", "s3cret", true});
  alice.s3_keys.push_back({"AKOLD", "old", false});
  ASSERT_TRUE(store.Upsert(alice).ok());
  EXPECT_EQ(store.FindByName("alice")->uid, 1000u);
  EXPECT_EQ(store.FindByUid(1000)->name, "alice");
  auto match = store.FindByAccessKey("AKALICE");
  ASSERT_TRUE(match.has_value());
  EXPECT_EQ(match->key.secret, "s3cret");
  EXPECT_EQ(match->user.ToIdentity().groups, std::vector<uint32_t>{7});
  EXPECT_FALSE(store.FindByAccessKey("AKOLD").has_value()) << "disabled keys must not match";
  EXPECT_FALSE(store.FindByName("bob").has_value());
}

TEST(UserStoreTest, RejectsAccessKeyHeldByAnotherUser) {
  UserStore store;
  User a;
  a.name = "a";
  a.s3_keys.push_back({"AK1", "x", true});
  ASSERT_TRUE(store.Upsert(a).ok());
  User b;
  b.name = "b";
  b.s3_keys.push_back({"AK1", "y", true});
  absl::Status s = store.Upsert(b);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), testing::HasSubstr("belongs to a"));
  // Updating the owner itself is fine.
  a.s3_keys[0].secret = "rotated";
  EXPECT_TRUE(store.Upsert(a).ok());
  EXPECT_EQ(store.FindByAccessKey("AK1")->key.secret, "rotated");
}

TEST(UserStoreTest, RemoveAndValidation) {
  UserStore store;
  EXPECT_EQ(store.Upsert(User{}).code(), absl::StatusCode::kInvalidArgument);
  User u;
  u.name = "u";
  u.nt_hash = "short";
  EXPECT_EQ(store.Upsert(u).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store.Remove("u").code(), absl::StatusCode::kNotFound);
}

TEST(UserStoreTest, UpdateChangesInPlaceAndKeepsTheChecks) {
  UserStore store;
  ASSERT_TRUE(store.Upsert(User{"a", 1, 1, {}, {{"KA", "sa"}}}).ok());
  ASSERT_TRUE(store.Upsert(User{"b", 2, 2, {}, {{"KB", "sb"}}}).ok());
  ASSERT_TRUE(store
                  .Update("a",
                          [](User& u) {
                            u.s3_keys[0].enabled = false;
                            u.s3_keys.push_back({"KA2", "sa2"});
                            return absl::OkStatus();
                          })
                  .ok());
  EXPECT_FALSE(store.FindByAccessKey("KA").has_value());
  EXPECT_TRUE(store.FindByAccessKey("KA2").has_value());
  // A change that takes another user's key is refused and changes nothing.
  absl::Status taken = store.Update("a", [](User& u) {
    u.s3_keys.push_back({"KB", "x"});
    return absl::OkStatus();
  });
  EXPECT_EQ(taken.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store.FindByName("a")->s3_keys.size(), 2u);
  EXPECT_EQ(store.Update("zz", [](User&) { return absl::OkStatus(); }).code(),
            absl::StatusCode::kNotFound);
}

TEST(UserStoreTest, GroupsHaveUniqueGidsAndLeaveTheirMembersWhenRemoved) {
  UserStore store;
  ASSERT_TRUE(store.UpsertGroup(Group{"staff", 50}).ok());
  EXPECT_EQ(store.UpsertGroup(Group{"other", 50}).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(store.Upsert(User{"a", 1, 1, {50, 60}}).ok());
  ASSERT_EQ(store.ListGroups().size(), 1u);
  EXPECT_EQ(store.FindGroup("staff")->gid, 50u);
  ASSERT_TRUE(store.RemoveGroup("staff").ok());
  EXPECT_EQ(store.FindByName("a")->groups, std::vector<uint32_t>{60});
  EXPECT_EQ(store.RemoveGroup("staff").code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace cfs::auth
