// The SPI conformance suite (see backend_conformance.h).

#include "testing/conformance/backend_conformance.h"

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "testing/status_matchers.h"
#include "testing/sync_backend.h"
#include "testing/temp_dir.h"

namespace cfs::testing {
namespace {

using backend::Attributes;
using backend::CreateMode;
using backend::FileType;
using backend::FsError;
using backend::Identity;
using backend::InodeNumber;
using backend::kRootInode;
using backend::RequestContext;
using backend::SetAttributes;
using backend::Stability;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

}  // namespace

void BackendConformanceTest::Reopen() {
  if (backend_ != nullptr) {
    ASSERT_OK(backend_->Shutdown(absl::Now() + absl::Seconds(10)));
    backend_.reset();
  }
  backend_ = GetParam().open(dir_.path());
  ASSERT_NE(backend_, nullptr);
}

SyncBackend BackendConformanceTest::fs() {
  return SyncBackend(*backend_, RequestContext{Identity::Root()});
}

SyncBackend BackendConformanceTest::as(uint32_t uid, uint32_t gid) {
  return fs().As(Identity::Of(uid, gid));
}

InodeNumber BackendConformanceTest::NewFile(InodeNumber dir, const std::string& name) {
  auto r = fs().Create(dir, name);
  EXPECT_OK(r);
  return r.ok() ? r->attributes.inode : 0;
}

InodeNumber BackendConformanceTest::NewDir(InodeNumber dir, const std::string& name,
                                           uint32_t mode) {
  auto r = fs().Mkdir(dir, name, mode);
  EXPECT_OK(r);
  return r.ok() ? r->attributes.inode : 0;
}

namespace {

TEST_P(BackendConformanceTest, CreateThenLookupFindsTheSameInode) {
  auto made = fs().Create(kRootInode, "a.txt");
  ASSERT_OK(made);
  EXPECT_EQ(made->attributes.type, FileType::kRegular);
  EXPECT_EQ(made->attributes.mode, 0644u);
  EXPECT_EQ(made->attributes.nlink, 1u);
  EXPECT_EQ(made->attributes.size, 0u);
  EXPECT_NE(made->parent.before.change_id, made->parent.after.change_id);
  auto found = fs().Lookup(kRootInode, "a.txt");
  ASSERT_OK(found);
  EXPECT_EQ(found->inode, made->attributes.inode);
  EXPECT_EQ(found->generation, made->attributes.generation);
  EXPECT_THAT(fs().Lookup(kRootInode, "missing"), FsErrorIs(FsError::kNoEntry));
  EXPECT_THAT(fs().Lookup(made->attributes.inode, "x"), FsErrorIs(FsError::kNotDirectory));
  EXPECT_EQ(fs().Lookup(kRootInode, ".")->inode, kRootInode);
  InodeNumber sub = NewDir(kRootInode, "sub");
  EXPECT_EQ(fs().Lookup(sub, "..")->inode, kRootInode);
}

TEST_P(BackendConformanceTest, CreateModesFollowNfsSemantics) {
  InodeNumber file = NewFile(kRootInode, "f");
  EXPECT_THAT(fs().Create(kRootInode, "f", CreateMode::kGuarded), FsErrorIs(FsError::kExists));
  auto unchecked = fs().Create(kRootInode, "f", CreateMode::kUnchecked);
  ASSERT_OK(unchecked);
  EXPECT_EQ(unchecked->attributes.inode, file);
  NewDir(kRootInode, "d");
  EXPECT_THAT(fs().Create(kRootInode, "d", CreateMode::kUnchecked), FsErrorIs(FsError::kExists));
}

TEST_P(BackendConformanceTest, ExclusiveCreateIsIdempotentByVerifier) {
  auto first = fs().Create(kRootInode, "x", CreateMode::kExclusive, 0x1234);
  ASSERT_OK(first);
  auto replay = fs().Create(kRootInode, "x", CreateMode::kExclusive, 0x1234);
  ASSERT_OK(replay);
  EXPECT_EQ(replay->attributes.inode, first->attributes.inode);
  EXPECT_THAT(fs().Create(kRootInode, "x", CreateMode::kExclusive, 0x9999),
              FsErrorIs(FsError::kExists));
}

TEST_P(BackendConformanceTest, ReadDirNeitherSkipsNorRepeatsWhileEntriesChange) {
  InodeNumber dir = NewDir(kRootInode, "busy");
  std::set<std::string> stable;  // never touched: must be seen exactly once
  for (int i = 0; i < 120; ++i) {
    std::string name = absl::StrCat("f", i);
    NewFile(dir, name);
    if (i % 3 != 0) stable.insert(name);
  }
  std::multiset<std::string> seen;
  uint64_t cookie = 0;
  uint64_t verifier = 0;
  int page = 0;
  int added = 0;
  while (true) {
    auto r = fs().ReadDir(dir, cookie, verifier, 7);
    ASSERT_OK(r);
    for (const auto& e : r->entries) {
      seen.insert(e.name);
      cookie = e.cookie;
    }
    verifier = r->cookie_verifier;
    if (r->eof) break;
    // Between pages: remove entries ahead and behind, add new ones.
    for (int k = 0; k < 2; ++k) {
      int victim = (page * 6 + k * 3) % 120;
      if (victim % 3 == 0) fs().Unlink(dir, absl::StrCat("f", victim)).IgnoreError();
      NewFile(dir, absl::StrCat("new", added++));
    }
    ++page;
  }
  for (const std::string& name : stable) {
    EXPECT_EQ(seen.count(name), 1u) << name;
  }
  for (const std::string& name : seen) EXPECT_EQ(seen.count(name), 1u) << name << " repeated";
  EXPECT_EQ(seen.count("."), 0u);
  EXPECT_EQ(seen.count(".."), 0u);
}

TEST_P(BackendConformanceTest, ReadDirRejectsAForeignVerifierAndNeedsReadPermission) {
  InodeNumber dir = NewDir(kRootInode, "d", 0711);
  NewFile(dir, "a");
  auto first = fs().ReadDir(dir, 0, 0, 10);
  ASSERT_OK(first);
  EXPECT_THAT(fs().ReadDir(dir, 0, first->cookie_verifier ^ 1, 10), FsErrorIs(FsError::kBadCookie));
  EXPECT_THAT(as(1000).ReadDir(dir, 0, 0, 10), FsErrorIs(FsError::kAccess));
  auto with_attrs = fs().ReadDir(dir, 0, 0, 10, /*with_attributes=*/true);
  ASSERT_OK(with_attrs);
  ASSERT_EQ(with_attrs->entries.size(), 1u);
  ASSERT_TRUE(with_attrs->entries[0].attributes.has_value());
  EXPECT_EQ(with_attrs->entries[0].attributes->type, FileType::kRegular);
}

TEST_P(BackendConformanceTest, RenameOverwritesAFileAndDropsItsLink) {
  InodeNumber a = NewFile(kRootInode, "a");
  InodeNumber b = NewFile(kRootInode, "b");
  ASSERT_OK(fs().Write(a, 0, "from a"));
  ASSERT_OK(fs().Rename(kRootInode, "a", kRootInode, "b"));
  EXPECT_THAT(fs().Lookup(kRootInode, "a"), FsErrorIs(FsError::kNoEntry));
  EXPECT_EQ(fs().Lookup(kRootInode, "b")->inode, a);
  EXPECT_THAT(fs().GetAttr(b), FsErrorIs(FsError::kStale));
  EXPECT_EQ(fs().Read(a, 0, 100)->data, "from a");
}

TEST_P(BackendConformanceTest, RenameMovesDirectoriesAcrossParents) {
  InodeNumber src = NewDir(kRootInode, "src");
  InodeNumber dst = NewDir(kRootInode, "dst");
  InodeNumber moved = NewDir(src, "moved");
  NewFile(moved, "inside");
  EXPECT_EQ(fs().GetAttr(src)->nlink, 3u);
  auto r = fs().Rename(src, "moved", dst, "renamed");
  ASSERT_OK(r);
  EXPECT_EQ(fs().GetAttr(src)->nlink, 2u);
  EXPECT_EQ(fs().GetAttr(dst)->nlink, 3u);
  EXPECT_EQ(fs().Lookup(dst, "renamed")->inode, moved);
  EXPECT_EQ(fs().Lookup(moved, "..")->inode, dst);
  EXPECT_TRUE(fs().Lookup(moved, "inside").ok());
  // Empty directory over empty directory is allowed; over a non-empty one is not.
  NewDir(dst, "empty");
  InodeNumber other = NewDir(kRootInode, "other");
  ASSERT_OK(fs().Rename(kRootInode, "other", dst, "empty"));
  EXPECT_EQ(fs().Lookup(dst, "empty")->inode, other);
  NewDir(kRootInode, "third");
  EXPECT_THAT(fs().Rename(kRootInode, "third", dst, "renamed"), FsErrorIs(FsError::kNotEmpty));
  NewFile(kRootInode, "file");
  EXPECT_THAT(fs().Rename(kRootInode, "file", dst, "empty"), FsErrorIs(FsError::kIsDirectory));
  EXPECT_THAT(fs().Rename(kRootInode, "third", kRootInode, "file"),
              FsErrorIs(FsError::kNotDirectory));
}

TEST_P(BackendConformanceTest, RenameIntoOwnSubtreeFails) {
  InodeNumber a = NewDir(kRootInode, "a");
  InodeNumber b = NewDir(a, "b");
  InodeNumber c = NewDir(b, "c");
  EXPECT_THAT(fs().Rename(kRootInode, "a", c, "a"), FsErrorIs(FsError::kInvalid));
  EXPECT_THAT(fs().Rename(kRootInode, "a", a, "self"), FsErrorIs(FsError::kInvalid));
  EXPECT_EQ(fs().Lookup(kRootInode, "a")->inode, a);
}

TEST_P(BackendConformanceTest, RenameIsAtomicUnderConcurrency) {
  InodeNumber dir = NewDir(kRootInode, "race");
  NewFile(dir, "ping");
  std::atomic<bool> stop{false};
  std::atomic<int> renames{0};
  std::thread renamer([&] {
    SyncBackend local = fs();
    bool at_ping = true;
    while (!stop.load()) {
      auto r =
          at_ping ? local.Rename(dir, "ping", dir, "pong") : local.Rename(dir, "pong", dir, "ping");
      ASSERT_OK(r);
      at_ping = !at_ping;
      renames.fetch_add(1);
    }
  });
  int observations = 0;
  for (; observations < 300 || renames.load() < 50; ++observations) {
    auto r = fs().ReadDir(dir, 0, 0, 100);
    ASSERT_OK(r);
    ASSERT_EQ(r->entries.size(), 1u) << "a rename was seen half done";
    ASSERT_TRUE(r->entries[0].name == "ping" || r->entries[0].name == "pong");
    if (observations > 100000) break;
  }
  stop = true;
  renamer.join();

  // Many writers renaming their own files onto one name: exactly one survives.
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      SyncBackend local = fs();
      for (int i = 0; i < 20; ++i) {
        std::string name = absl::StrCat("w", t, "_", i);
        ASSERT_OK(local.Create(dir, name));
        ASSERT_OK(local.Rename(dir, name, dir, "winner"));
      }
    });
  }
  for (auto& w : writers) w.join();
  auto names = fs().ListNames(dir);
  ASSERT_OK(names);
  EXPECT_THAT(*names, UnorderedElementsAre(::testing::AnyOf("ping", "pong"), "winner"));
  EXPECT_EQ(fs().Lookup(dir, "winner")->nlink, 1u);
}

TEST_P(BackendConformanceTest, HardLinksShareTheInodeAndCountLinks) {
  InodeNumber f = NewFile(kRootInode, "orig");
  ASSERT_OK(fs().Write(f, 0, "shared"));
  InodeNumber d = NewDir(kRootInode, "d");
  auto link = fs().Link(f, d, "alias");
  ASSERT_OK(link);
  EXPECT_EQ(link->attributes.nlink, 2u);
  EXPECT_EQ(fs().Lookup(d, "alias")->inode, f);
  ASSERT_OK(fs().Unlink(kRootInode, "orig"));
  EXPECT_EQ(fs().GetAttr(f)->nlink, 1u);
  EXPECT_EQ(fs().Read(f, 0, 10)->data, "shared");
  EXPECT_THAT(fs().Link(d, kRootInode, "dirlink"), FsErrorIs(FsError::kIsDirectory));
  EXPECT_THAT(fs().Link(f, d, "alias"), FsErrorIs(FsError::kExists));
  ASSERT_OK(fs().Unlink(d, "alias"));
  EXPECT_THAT(fs().GetAttr(f), FsErrorIs(FsError::kStale));
}

TEST_P(BackendConformanceTest, UnlinkWhileOpenKeepsTheFileUntilRelease) {
  InodeNumber f = NewFile(kRootInode, "tmp");
  ASSERT_OK(fs().Write(f, 0, "still here"));
  ASSERT_OK(fs().Open(f));
  ASSERT_OK(fs().Unlink(kRootInode, "tmp"));
  EXPECT_THAT(fs().Lookup(kRootInode, "tmp"), FsErrorIs(FsError::kNoEntry));
  auto attrs = fs().GetAttr(f);
  ASSERT_OK(attrs);
  EXPECT_EQ(attrs->nlink, 0u);
  EXPECT_EQ(fs().Read(f, 0, 100)->data, "still here");
  ASSERT_OK(fs().Write(f, 10, "!"));
  ASSERT_OK(fs().Release(f));
  EXPECT_THAT(fs().GetAttr(f), FsErrorIs(FsError::kStale));
  EXPECT_THAT(fs().Release(f), FsErrorIs(FsError::kInvalid));
}

TEST_P(BackendConformanceTest, UnlinkedWhileOpenIsReclaimedAfterRestart) {
  InodeNumber f = NewFile(kRootInode, "tmp");
  ASSERT_OK(fs().Write(f, 0, "x"));
  ASSERT_OK(fs().Open(f));
  ASSERT_OK(fs().Unlink(kRootInode, "tmp"));
  Reopen();
  EXPECT_THAT(fs().GetAttr(f), FsErrorIs(FsError::kStale));
}

TEST_P(BackendConformanceTest, SymlinksStoreTheirTarget) {
  auto link = fs().Symlink(kRootInode, "ln", "../some/where");
  ASSERT_OK(link);
  EXPECT_EQ(link->attributes.type, FileType::kSymlink);
  EXPECT_EQ(link->attributes.size, 13u);
  EXPECT_EQ(*fs().ReadLink(link->attributes.inode), "../some/where");
  InodeNumber f = NewFile(kRootInode, "file");
  EXPECT_THAT(fs().ReadLink(f), FsErrorIs(FsError::kInvalid));
  EXPECT_THAT(fs().Read(link->attributes.inode, 0, 1), FsErrorIs(FsError::kInvalid));
  EXPECT_THAT(fs().Symlink(kRootInode, "long", std::string(5000, 'x')),
              FsErrorIs(FsError::kNameTooLong));
}

TEST_P(BackendConformanceTest, SetAttrTruncatesExtendsWithZerosAndChangesOwnership) {
  InodeNumber f = NewFile(kRootInode, "f");
  ASSERT_OK(fs().Write(f, 0, "hello world"));
  SetAttributes shrink;
  shrink.size = 5;
  ASSERT_OK(fs().SetAttr(f, shrink));
  EXPECT_EQ(fs().Read(f, 0, 100)->data, "hello");
  SetAttributes grow;
  grow.size = 10;
  auto grown = fs().SetAttr(f, grow);
  ASSERT_OK(grown);
  EXPECT_EQ(grown->after.size, 10u);
  EXPECT_EQ(fs().Read(f, 0, 100)->data, std::string("hello\0\0\0\0\0", 10));

  SetAttributes owner;
  owner.mode = 0600;
  owner.uid = 1000;
  owner.gid = 200;
  auto changed = fs().SetAttr(f, owner);
  ASSERT_OK(changed);
  EXPECT_EQ(changed->after.mode, 0600u);
  EXPECT_EQ(changed->after.uid, 1000u);
  EXPECT_EQ(changed->after.gid, 200u);

  SetAttributes times;
  times.atime_how = SetAttributes::TimeHow::kClientTime;
  times.atime = {1000000000, 5};
  times.mtime_how = SetAttributes::TimeHow::kClientTime;
  times.mtime = {1100000000, 7};
  auto timed = fs().SetAttr(f, times);
  ASSERT_OK(timed);
  EXPECT_EQ(timed->after.atime, (backend::Timestamp{1000000000, 5}));
  EXPECT_EQ(timed->after.mtime, (backend::Timestamp{1100000000, 7}));

  SetAttributes guarded;
  guarded.mode = 0644;
  guarded.guard_ctime = backend::Timestamp{1, 1};
  EXPECT_THAT(fs().SetAttr(f, guarded), FsErrorIs(FsError::kNotSync));
  guarded.guard_ctime = timed->after.ctime;
  EXPECT_OK(fs().SetAttr(f, guarded));

  InodeNumber d = NewDir(kRootInode, "d");
  EXPECT_THAT(fs().SetAttr(d, grow), FsErrorIs(FsError::kIsDirectory));
}

TEST_P(BackendConformanceTest, SetAttrSetsCreationAndChangeTimesAndFlags) {
  InodeNumber f = NewFile(kRootInode, "f");
  SetAttributes set;
  set.birth_time = backend::Timestamp{900000000, 11};
  set.ctime = backend::Timestamp{950000000, 13};
  set.flags = backend::kFileFlagSparse;
  auto changed = fs().SetAttr(f, set);
  ASSERT_OK(changed);
  EXPECT_EQ(changed->after.birth_time, (backend::Timestamp{900000000, 11}));
  EXPECT_EQ(changed->after.ctime, (backend::Timestamp{950000000, 13}));
  EXPECT_EQ(changed->after.flags, backend::kFileFlagSparse);
  EXPECT_GT(changed->after.change_id, changed->before.change_id);
  auto again = fs().GetAttr(f);
  ASSERT_OK(again);
  EXPECT_EQ(again->birth_time, (backend::Timestamp{900000000, 11}));
  EXPECT_EQ(again->flags, backend::kFileFlagSparse);
  // Times are the owner's to set; flags are also a writer's.
  SetAttributes open_to_all;
  open_to_all.mode = 0666;
  ASSERT_OK(fs().SetAttr(f, open_to_all));
  SetAttributes born;
  born.birth_time = backend::Timestamp{1, 0};
  EXPECT_THAT(as(1000, 100).SetAttr(f, born), FsErrorIs(FsError::kNotPermitted));
  SetAttributes plain;
  plain.flags = 0;
  ASSERT_OK(as(1000, 100).SetAttr(f, plain));
  EXPECT_EQ(fs().GetAttr(f)->flags, 0u);
}

TEST_P(BackendConformanceTest, OwnerOverrideLetsTheOwnerMoveDataWhateverTheMode) {
  InodeNumber home = NewDir(kRootInode, "home", 0777);
  auto made = as(1000, 100).Create(home, "locked", CreateMode::kGuarded, 0, 0644);
  ASSERT_OK(made);
  InodeNumber f = made->attributes.inode;
  ASSERT_OK(as(1000, 100).Write(f, 0, "before chmod"));
  SetAttributes chmod;
  chmod.mode = 0;
  ASSERT_OK(as(1000, 100).SetAttr(f, chmod));
  EXPECT_THAT(as(1000, 100).Write(f, 0, "x"), FsErrorIs(FsError::kAccess));
  EXPECT_THAT(as(1000, 100).Read(f, 0, 10), FsErrorIs(FsError::kAccess));
  auto with_override = [this](uint32_t uid) {
    RequestContext ctx{Identity::Of(uid, 100)};
    ctx.owner_override = true;
    return SyncBackend(*backend_, ctx);
  };
  EXPECT_OK(with_override(1000).Write(f, 0, "AFTER"));
  EXPECT_EQ(with_override(1000).Read(f, 0, 100)->data, "AFTERe chmod");
  EXPECT_THAT(with_override(2000).Write(f, 0, "x"), FsErrorIs(FsError::kAccess));
  EXPECT_THAT(with_override(2000).Read(f, 0, 10), FsErrorIs(FsError::kAccess));
}

TEST_P(BackendConformanceTest, DirectoryRemovalRules) {
  InodeNumber d = NewDir(kRootInode, "d");
  NewFile(d, "f");
  EXPECT_THAT(fs().Rmdir(kRootInode, "d"), FsErrorIs(FsError::kNotEmpty));
  EXPECT_THAT(fs().Rmdir(d, "f"), FsErrorIs(FsError::kNotDirectory));
  EXPECT_THAT(fs().Unlink(kRootInode, "d"), FsErrorIs(FsError::kIsDirectory));
  EXPECT_THAT(fs().Rmdir(kRootInode, "nope"), FsErrorIs(FsError::kNoEntry));
  EXPECT_THAT(fs().Rmdir(d, "."), FsErrorIs(FsError::kInvalid));
  ASSERT_OK(fs().Unlink(d, "f"));
  uint32_t before = fs().GetAttr(kRootInode)->nlink;
  ASSERT_OK(fs().Rmdir(kRootInode, "d"));
  EXPECT_EQ(fs().GetAttr(kRootInode)->nlink, before - 1);
  EXPECT_THAT(fs().GetAttr(d), FsErrorIs(FsError::kStale));
}

TEST_P(BackendConformanceTest, NamesUpTo255BytesWork) {
  EXPECT_OK(fs().Create(kRootInode, std::string(255, 'n')));
  EXPECT_THAT(fs().Create(kRootInode, std::string(256, 'n')), FsErrorIs(FsError::kNameTooLong));
  EXPECT_THAT(fs().Mkdir(kRootInode, std::string(300, 'd')), FsErrorIs(FsError::kNameTooLong));
  EXPECT_THAT(fs().Lookup(kRootInode, std::string(256, 'n')), FsErrorIs(FsError::kNameTooLong));
  EXPECT_THAT(fs().Create(kRootInode, "a/b"), FsErrorIs(FsError::kInvalid));
  EXPECT_THAT(fs().Create(kRootInode, ""), FsErrorIs(FsError::kInvalid));
}

TEST_P(BackendConformanceTest, PermissionDeniedForTheWrongIdentity) {
  SyncBackend alice = as(1000, 100);
  SyncBackend bob = as(2000, 200);
  InodeNumber system = NewDir(kRootInode, "system", 0755);
  EXPECT_THAT(alice.Create(system, "x"), FsErrorIs(FsError::kAccess));
  InodeNumber home = NewDir(kRootInode, "home", 0777);
  auto mine = alice.Create(home, "mine", CreateMode::kGuarded, 0, 0600);
  ASSERT_OK(mine);
  EXPECT_EQ(mine->attributes.uid, 1000u);
  EXPECT_EQ(mine->attributes.gid, 100u);
  InodeNumber f = mine->attributes.inode;
  ASSERT_OK(alice.Write(f, 0, "secret"));
  EXPECT_THAT(bob.Read(f, 0, 10), FsErrorIs(FsError::kAccess));
  EXPECT_THAT(bob.Write(f, 0, "x"), FsErrorIs(FsError::kAccess));
  SetAttributes chmod;
  chmod.mode = 0666;
  EXPECT_THAT(bob.SetAttr(f, chmod), FsErrorIs(FsError::kNotPermitted));
  SetAttributes chown;
  chown.uid = 2000;
  EXPECT_THAT(alice.SetAttr(f, chown), FsErrorIs(FsError::kNotPermitted));
  EXPECT_EQ(*bob.Access(f, 7), 0u);
  EXPECT_EQ(*alice.Access(f, 7), 6u);
  EXPECT_EQ(fs().Read(f, 0, 10)->data, "secret");  // root reads anything

  InodeNumber locked = NewDir(kRootInode, "locked", 0700);
  NewFile(locked, "inner");
  EXPECT_THAT(alice.Lookup(locked, "inner"), FsErrorIs(FsError::kAccess));

  InodeNumber tmp = NewDir(kRootInode, "tmp", 01777);
  ASSERT_OK(alice.Create(tmp, "alices"));
  EXPECT_THAT(bob.Unlink(tmp, "alices"), FsErrorIs(FsError::kAccess));
  EXPECT_THAT(bob.Rename(tmp, "alices", tmp, "stolen"), FsErrorIs(FsError::kAccess));
  EXPECT_OK(alice.Unlink(tmp, "alices"));
  EXPECT_THAT(alice.MakeNode(home, "dev", FileType::kCharDevice),
              FsErrorIs(FsError::kNotPermitted));
  auto fifo = alice.MakeNode(home, "fifo", FileType::kFifo);
  ASSERT_OK(fifo);
  EXPECT_EQ(fifo->attributes.type, FileType::kFifo);
}

TEST_P(BackendConformanceTest, ExtendedAttributes) {
  InodeNumber f = NewFile(kRootInode, "f");
  ASSERT_OK(fs().SetXattr(f, "user.color", "blue"));
  ASSERT_OK(fs().SetXattr(f, "user.size", std::string(1000, 'z')));
  EXPECT_EQ(*fs().GetXattr(f, "user.color"), "blue");
  EXPECT_THAT(*fs().ListXattrs(f), UnorderedElementsAre("user.color", "user.size"));
  EXPECT_THAT(fs().SetXattr(f, "user.color", "red", backend::XattrSetMode::kCreateOnly),
              FsErrorIs(FsError::kExists));
  EXPECT_THAT(fs().SetXattr(f, "user.none", "x", backend::XattrSetMode::kReplaceOnly),
              FsErrorIs(FsError::kNoEntry));
  ASSERT_OK(fs().SetXattr(f, "user.color", "red", backend::XattrSetMode::kReplaceOnly));
  EXPECT_EQ(*fs().GetXattr(f, "user.color"), "red");
  ASSERT_OK(fs().RemoveXattr(f, "user.color"));
  EXPECT_THAT(fs().GetXattr(f, "user.color"), FsErrorIs(FsError::kNoEntry));
  EXPECT_THAT(fs().RemoveXattr(f, "user.color"), FsErrorIs(FsError::kNoEntry));
  EXPECT_THAT(fs().SetXattr(f, "user.big", std::string(65 * 1024, 'b')),
              FsErrorIs(FsError::kTooBig));
  EXPECT_THAT(as(1000).SetXattr(f, "user.x", "y"), FsErrorIs(FsError::kAccess));
  // Xattrs go with the inode.
  ASSERT_OK(fs().Unlink(kRootInode, "f"));
  InodeNumber g = NewFile(kRootInode, "g");
  EXPECT_TRUE(fs().ListXattrs(g)->empty());
}

TEST_P(BackendConformanceTest, SparseWriteBeyondFiveGiB) {
  InodeNumber f = NewFile(kRootInode, "sparse");
  const uint64_t offset = 5ULL << 30;
  auto w = fs().Write(f, offset, "tail");
  ASSERT_OK(w);
  EXPECT_EQ(w->attributes.after.size, offset + 4);
  EXPECT_LT(w->attributes.after.space_used, 1u << 20);
  EXPECT_EQ(fs().Read(f, offset, 100)->data, "tail");
  auto zeros = fs().Read(f, 1ULL << 30, 8);
  ASSERT_OK(zeros);
  EXPECT_EQ(zeros->data, std::string(8, '\0'));
  EXPECT_FALSE(zeros->eof);
  auto extents = fs().ExtentMap(f, 0, offset + 4);
  ASSERT_OK(extents);
  ASSERT_GE(extents->size(), 2u);
  EXPECT_TRUE(extents->front().hole);
  EXPECT_EQ(extents->front().offset, 0u);
  EXPECT_FALSE(extents->back().hole);
  EXPECT_EQ(extents->back().offset + extents->back().length, offset + 4);
  EXPECT_TRUE(fs().Read(f, offset + 4, 10)->eof);
}

TEST_P(BackendConformanceTest, StableWritesSurviveRestartAndTheVerifierChanges) {
  InodeNumber f = NewFile(kRootInode, "durable");
  auto w = fs().Write(f, 0, "stable bytes", Stability::kFileSync);
  ASSERT_OK(w);
  EXPECT_EQ(w->committed, Stability::kFileSync);
  backend::WriteVerifier before = w->verifier;
  ASSERT_OK(fs().Write(f, 12, " and more", Stability::kUnstable));
  auto c = fs().Commit(f);
  ASSERT_OK(c);
  EXPECT_EQ(c->verifier, before);
  Reopen();
  EXPECT_EQ(fs().Read(f, 0, 100)->data, "stable bytes and more");
  EXPECT_NE(backend_->CurrentWriteVerifier(), before);
  EXPECT_EQ(fs().Lookup(kRootInode, "durable")->inode, f);
}

TEST_P(BackendConformanceTest, ReadAndWriteRejectDirectories) {
  InodeNumber d = NewDir(kRootInode, "d");
  EXPECT_THAT(fs().Read(d, 0, 1), FsErrorIs(FsError::kIsDirectory));
  EXPECT_THAT(fs().Write(d, 0, "x"), FsErrorIs(FsError::kIsDirectory));
  EXPECT_THAT(fs().GetAttr(987654321), FsErrorIs(FsError::kStale));
}

TEST_P(BackendConformanceTest, ExpiredDeadlineIsRefused) {
  RequestContext late{Identity::Root()};
  late.deadline = absl::Now() - absl::Seconds(1);
  SyncBackend slow(*backend_, late);
  EXPECT_THAT(slow.GetAttr(kRootInode), StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST_P(BackendConformanceTest, FsStatReportsSpace) {
  auto s = fs().FsStat(kRootInode);
  ASSERT_OK(s);
  EXPECT_GT(s->total_bytes, 0u);
  EXPECT_LE(s->available_bytes, s->total_bytes);
  EXPECT_EQ(s->root.inode, kRootInode);
}

TEST_P(BackendConformanceTest, CallsAfterShutdownAreUnavailable) {
  ASSERT_OK(backend_->Shutdown(absl::Now() + absl::Seconds(5)));
  EXPECT_THAT(fs().GetAttr(kRootInode), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(backend_->Health(), StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace

// Suites are instantiated by each backend's test target.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(BackendConformanceTest);

}  // namespace cfs::testing
