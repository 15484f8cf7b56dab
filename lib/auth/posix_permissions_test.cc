#include "lib/auth/posix_permissions.h"

#include "gtest/gtest.h"

namespace cfs::auth {
namespace {

using backend::Attributes;
using backend::FileType;
using backend::Identity;
using backend::kAccessExecute;
using backend::kAccessRead;
using backend::kAccessWrite;

Attributes File(uint32_t mode, uint32_t uid, uint32_t gid, FileType type = FileType::kRegular) {
  Attributes a;
  a.type = type;
  a.mode = mode;
  a.uid = uid;
  a.gid = gid;
  return a;
}

TEST(PosixPermissionsTest, OwnerGroupOtherClassesAreExclusive) {
  Attributes f = File(0640, 1000, 100);
  EXPECT_TRUE(MayAccess(Identity::Of(1000, 1), f, kAccessRead | kAccessWrite));
  EXPECT_TRUE(MayAccess(Identity::Of(2000, 100), f, kAccessRead));
  EXPECT_FALSE(MayAccess(Identity::Of(2000, 100), f, kAccessWrite));
  EXPECT_TRUE(MayAccess(Identity::Of(2000, 5, {100}), f, kAccessRead));
  EXPECT_FALSE(MayAccess(Identity::Of(3000, 5), f, kAccessRead));
  // The owner class applies even when it grants less than the group class.
  EXPECT_FALSE(MayAccess(Identity::Of(1000, 100), File(0070, 1000, 100), kAccessRead));
}

TEST(PosixPermissionsTest, RootNeedsAnExecuteBitToExecuteFiles) {
  EXPECT_TRUE(MayAccess(Identity::Root(), File(0000, 1, 1), kAccessRead | kAccessWrite));
  EXPECT_FALSE(MayAccess(Identity::Root(), File(0600, 1, 1), kAccessExecute));
  EXPECT_TRUE(MayAccess(Identity::Root(), File(0100, 1, 1), kAccessExecute));
  EXPECT_TRUE(MayAccess(Identity::Root(), File(0000, 1, 1, FileType::kDirectory), kAccessExecute));
}

TEST(PosixPermissionsTest, StickyDirectoryLimitsRemovalToOwners) {
  Attributes tmp = File(01777, 0, 0, FileType::kDirectory);
  Attributes theirs = File(0644, 1000, 1000);
  EXPECT_TRUE(MayRemoveEntry(Identity::Of(1000, 1000), tmp, theirs));
  EXPECT_FALSE(MayRemoveEntry(Identity::Of(2000, 2000), tmp, theirs));
  EXPECT_TRUE(MayRemoveEntry(Identity::Root(), tmp, theirs));
  Attributes plain = File(0777, 0, 0, FileType::kDirectory);
  EXPECT_TRUE(MayRemoveEntry(Identity::Of(2000, 2000), plain, theirs));
  EXPECT_FALSE(
      MayRemoveEntry(Identity::Of(2000, 2000), File(0755, 0, 0, FileType::kDirectory), theirs));
}

TEST(PosixPermissionsTest, ChownRules) {
  Attributes f = File(0644, 1000, 1000);
  EXPECT_TRUE(MayChown(Identity::Root(), f, 5, 5));
  EXPECT_FALSE(MayChown(Identity::Of(1000, 1000), f, 5, 1000));
  EXPECT_TRUE(MayChown(Identity::Of(1000, 1000, {77}), f, 1000, 77));
  EXPECT_FALSE(MayChown(Identity::Of(1000, 1000), f, 1000, 78));
  EXPECT_FALSE(MayChown(Identity::Of(2000, 1000), f, 1000, 1000));
}

}  // namespace
}  // namespace cfs::auth
