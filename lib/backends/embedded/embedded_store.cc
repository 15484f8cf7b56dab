#include "lib/backends/embedded/embedded_store.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <random>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/auth/posix_permissions.h"
#include "lib/backend/errors.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"

namespace cfs::embedded {

using auth::GrantedAccess;
using auth::IsOwnerOrRoot;
using auth::MayAccess;
using auth::MayChown;
using auth::MayRemoveEntry;
using backend::AttrChange;
using backend::Attributes;
using backend::CreateMode;
using backend::DirChange;
using backend::Done;
using backend::EntryResult;
using backend::FileType;
using backend::FsError;
using backend::FsErrorStatus;
using backend::kAccessExecute;
using backend::kAccessRead;
using backend::kAccessWrite;
using backend::kRootInode;
using backend::SetAttributes;
using backend::Timestamp;

namespace {

constexpr size_t kMaxXattrValue = 64 * 1024;

absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  if (s.IsNoSpace())
    return FsErrorStatus(FsError::kNoSpace, absl::StrCat(what, ": ", s.ToString()));
  if (s.IsCorruption()) return absl::DataLossError(absl::StrCat(what, ": ", s.ToString()));
  return FsErrorStatus(FsError::kIo, absl::StrCat(what, ": ", s.ToString()));
}

uint64_t DirectoryVerifier(const InodeRecord& dir) {
  // Cookies never become invalid, so the verifier only has to name the directory's lifetime.
  return (dir.attrs.generation << 32) ^ dir.attrs.inode ^ 0x5a5a5a5a;
}

void Touch(Attributes& a, bool data_changed) {
  Timestamp now = Timestamp::Now();
  if (data_changed) a.mtime = now;
  a.ctime = now;
  ++a.change_id;
}

absl::Status TypeError(const Attributes& a, absl::string_view what) {
  if (a.type == FileType::kDirectory) {
    return FsErrorStatus(FsError::kIsDirectory, absl::StrCat(what, ": is a directory"));
  }
  return FsErrorStatus(FsError::kInvalid, absl::StrCat(what, ": not a regular file"));
}

}  // namespace

absl::Status ValidateName(absl::string_view name) {
  if (name.size() > backend::kMaxNameLength) {
    return FsErrorStatus(FsError::kNameTooLong,
                         absl::StrCat("name is ", name.size(), " bytes; at most ",
                                      backend::kMaxNameLength, " are allowed"));
  }
  if (name.empty() || name == "." || name == ".." ||
      name.find_first_of(absl::string_view("/\0", 2)) != absl::string_view::npos) {
    return FsErrorStatus(FsError::kInvalid,
                         "name must not be empty, '.', '..' or contain / or NUL");
  }
  return absl::OkStatus();
}

EmbeddedStore::EmbeddedStore(const EmbeddedBackendOptions& options, std::unique_ptr<rocksdb::DB> db,
                             std::unique_ptr<ExtentStore> extents)
    : options_(options), db_(std::move(db)), extents_(std::move(extents)) {}

EmbeddedStore::~EmbeddedStore() { Close().IgnoreError(); }

absl::StatusOr<std::unique_ptr<EmbeddedStore>> EmbeddedStore::Open(
    const EmbeddedBackendOptions& options) {
  if (options.data_dir.empty()) {
    return absl::InvalidArgumentError("embedded backend: data_dir must name a directory");
  }
  if (mkdir(options.data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return backend::ErrnoStatus(errno, absl::StrCat("mkdir ", options.data_dir));
  }
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.IncreaseParallelism(2);
  rocksdb::DB* raw_db = nullptr;
  std::string meta_dir = options.data_dir + "/meta";
  rocksdb::Status s = rocksdb::DB::Open(db_options, meta_dir, &raw_db);
  if (!s.ok()) {
    if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
      return absl::FailedPreconditionError(absl::StrCat("embedded backend: ", options.data_dir,
                                                        " is in use by another process (",
                                                        s.ToString(), ")"));
    }
    return FromRocks(s, absl::StrCat("open metadata store ", meta_dir));
  }
  std::unique_ptr<rocksdb::DB> db(raw_db);
  absl::StatusOr<std::unique_ptr<ExtentStore>> extents =
      ExtentStore::Open(options.data_dir + "/data");
  if (!extents.ok()) return extents.status();
  std::unique_ptr<EmbeddedStore> store(
      new EmbeddedStore(options, std::move(db), std::move(*extents)));
  absl::Status init = store->Initialize();
  if (!init.ok()) return init;
  return store;
}

absl::Status EmbeddedStore::Initialize() {
  std::unique_lock<std::shared_mutex> lock(mu_);
  std::string value;
  rocksdb::ReadOptions ro;
  uint64_t boot = 0;
  rocksdb::Status s = db_->Get(ro, kMetaBootCount, &value);
  if (s.ok()) {
    absl::StatusOr<uint64_t> b = DecodeU64(value);
    if (!b.ok()) return b.status();
    boot = *b;
  } else if (!s.IsNotFound()) {
    return FromRocks(s, "read boot count");
  }
  boot_count_ = boot + 1;
  std::random_device rd;
  write_verifier_ = (boot_count_ << 32) ^ (static_cast<uint64_t>(rd()) & 0xffffffffULL);

  s = db_->Get(ro, kMetaNextInode, &value);
  if (s.ok()) {
    absl::StatusOr<uint64_t> n = DecodeU64(value);
    if (!n.ok()) return n.status();
    next_inode_ = *n;
  } else if (!s.IsNotFound()) {
    return FromRocks(s, "read inode counter");
  }
  recovery_.clean_shutdown = db_->Get(ro, kMetaCleanShutdown, &value).ok();

  rocksdb::WriteBatch batch;
  batch.Put(kMetaBootCount, EncodeU64(boot_count_));
  batch.Delete(kMetaCleanShutdown);  // a crash from here on reads as unclean
  if (db_->Get(ro, InodeKey(kRootInode), &value).IsNotFound()) {
    InodeRecord root;
    Attributes& a = root.attrs;
    a.inode = kRootInode;
    a.generation = boot_count_;
    a.type = FileType::kDirectory;
    a.mode = 01777;  // a shared namespace: anyone creates, only owners remove (like /tmp)
    a.nlink = 2;
    a.uid = 0;
    a.gid = 0;
    a.atime = a.mtime = a.ctime = a.birth_time = Timestamp::Now();
    a.change_id = 1;
    root.parent = kRootInode;
    Stage(batch, root);
    next_inode_ = std::max<InodeNumber>(next_inode_, kRootInode + 1);
    batch.Put(kMetaNextInode, EncodeU64(next_inode_));
    recovery_.clean_shutdown = true;  // a new store has nothing to repair
  }
  absl::Status committed = CommitBatch(batch, /*sync=*/true);
  if (!committed.ok()) return committed;
  return Recover();
}

void EmbeddedStore::Stage(rocksdb::WriteBatch& batch, const InodeRecord& record) {
  batch.Put(InodeKey(record.attrs.inode), EncodeInode(record));
}

namespace {
// The group-commit scope of the current thread (see BeginDeferredSync).
struct DeferredSync {
  bool active = false;
  bool pending = false;                       // a durable batch was written without syncing
  std::vector<backend::InodeNumber> to_free;  // data files to remove once that batch is durable
};
thread_local DeferredSync deferred_sync;
}  // namespace

absl::Status EmbeddedStore::CommitBatch(rocksdb::WriteBatch& batch, bool sync) {
  rocksdb::WriteOptions wo;
  wo.sync = sync && !deferred_sync.active;
  absl::Status s = FromRocks(db_->Write(wo, &batch), "commit metadata");
  if (s.ok() && sync && deferred_sync.active) deferred_sync.pending = true;
  return s;
}

void EmbeddedStore::BeginDeferredSync() { deferred_sync = DeferredSync{true, false, {}}; }

absl::Status EmbeddedStore::FinishDeferredSync() {
  DeferredSync done = std::move(deferred_sync);
  deferred_sync = DeferredSync{};
  absl::Status s = done.pending ? GroupSync() : absl::OkStatus();
  if (s.ok()) FreeData(done.to_free);  // else kept: recovery removes what is really stray
  return s;
}

absl::Status EmbeddedStore::GroupSync() {
  // Every batch this thread wrote has a sequence number at or below this one.
  uint64_t target = db_->GetLatestSequenceNumber();
  std::unique_lock<std::mutex> lock(sync_mu_);
  while (synced_seq_ < target) {
    if (syncing_) {  // another thread's sync may cover us: wait for it, then look again
      sync_cv_.wait(lock);
      continue;
    }
    syncing_ = true;
    uint64_t upto = db_->GetLatestSequenceNumber();  // written to the WAL before this read
    lock.unlock();
    absl::Status s = FromRocks(db_->SyncWAL(), "sync metadata log");
    lock.lock();
    syncing_ = false;
    sync_cv_.notify_all();
    if (!s.ok()) return s;
    synced_seq_ = std::max(synced_seq_, upto);
  }
  return absl::OkStatus();
}

namespace {
rocksdb::ReadOptions ReadTier(bool cache_only) {
  rocksdb::ReadOptions ro;
  if (cache_only) ro.read_tier = rocksdb::kBlockCacheTier;  // Incomplete instead of disk I/O
  return ro;
}
}  // namespace

absl::StatusOr<InodeRecord> EmbeddedStore::Load(InodeNumber inode, bool cache_only) {
  std::string value;
  rocksdb::Status s = db_->Get(ReadTier(cache_only), InodeKey(inode), &value);
  if (s.IsIncomplete()) return WouldBlock();
  if (s.IsNotFound()) {
    return FsErrorStatus(FsError::kStale, absl::StrCat("inode ", inode, " does not exist"));
  }
  if (!s.ok()) return FromRocks(s, "read inode");
  return DecodeInode(value);
}

absl::StatusOr<InodeRecord> EmbeddedStore::LoadDirectory(InodeNumber dir, bool cache_only) {
  absl::StatusOr<InodeRecord> record = Load(dir, cache_only);
  if (record.ok() && record->attrs.type != FileType::kDirectory) {
    return FsErrorStatus(FsError::kNotDirectory,
                         absl::StrCat("inode ", dir, " is not a directory"));
  }
  return record;
}

absl::StatusOr<DirentValue> EmbeddedStore::LoadEntry(InodeNumber dir, absl::string_view name,
                                                     bool cache_only) {
  std::string value;
  rocksdb::Status s = db_->Get(ReadTier(cache_only), DirentKey(dir, name), &value);
  if (s.IsIncomplete()) return WouldBlock();
  if (s.IsNotFound()) {
    return FsErrorStatus(FsError::kNoEntry, absl::StrCat("no entry '", name, "'"));
  }
  if (!s.ok()) return FromRocks(s, "read directory entry");
  return DecodeDirent(value);
}

bool EmbeddedStore::DirectoryIsEmpty(InodeNumber dir) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  std::string prefix = DirentPrefix(dir);
  it->Seek(prefix);
  return !(it->Valid() && it->key().starts_with(prefix));
}

Attributes EmbeddedStore::WithSpace(Attributes attrs) {
  if (attrs.type == FileType::kRegular) {
    attrs.space_used = extents_->SpaceUsed(attrs.inode);
  } else if (attrs.type == FileType::kDirectory) {
    attrs.space_used = 4096;
  }
  return attrs;
}

void EmbeddedStore::StageRemoveEntry(rocksdb::WriteBatch& batch, InodeNumber dir,
                                     absl::string_view name, uint64_t cookie) {
  batch.Delete(DirentKey(dir, name));
  batch.Delete(CookieKey(dir, cookie));
}

void EmbeddedStore::StageAddEntry(rocksdb::WriteBatch& batch, InodeRecord& dir_record,
                                  absl::string_view name, const InodeRecord& child) {
  DirentValue entry;
  entry.inode = child.attrs.inode;
  entry.type = child.attrs.type;
  entry.cookie = dir_record.next_cookie++;
  batch.Put(DirentKey(dir_record.attrs.inode, name), EncodeDirent(entry));
  batch.Put(CookieKey(dir_record.attrs.inode, entry.cookie),
            rocksdb::Slice(name.data(), name.size()));
}

void EmbeddedStore::StageFreeInode(rocksdb::WriteBatch& batch, InodeNumber inode) {
  batch.Delete(InodeKey(inode));
  batch.Delete(OrphanKey(inode));
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  std::string prefix = XattrPrefix(inode);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    batch.Delete(it->key());
  }
}

void EmbeddedStore::StageDropLink(rocksdb::WriteBatch& batch, InodeRecord& victim,
                                  std::vector<InodeNumber>& to_free) {
  InodeNumber inode = victim.attrs.inode;
  if (victim.attrs.type == FileType::kDirectory) {
    victim.attrs.nlink = 0;
  } else if (victim.attrs.nlink > 0) {
    --victim.attrs.nlink;
  }
  Touch(victim.attrs, /*data_changed=*/false);
  if (victim.attrs.nlink > 0) {
    Stage(batch, victim);
    return;
  }
  auto open = open_counts_.find(inode);
  if (open != open_counts_.end() && open->second > 0) {
    Stage(batch, victim);
    batch.Put(OrphanKey(inode), "");
    return;
  }
  StageFreeInode(batch, inode);
  to_free.push_back(inode);
}

void EmbeddedStore::FreeData(const std::vector<InodeNumber>& inodes) {
  if (deferred_sync.active) {  // not before the batch that freed them is durable
    deferred_sync.to_free.insert(deferred_sync.to_free.end(), inodes.begin(), inodes.end());
    return;
  }
  // A crash before this leaves stray extent files; recovery removes them.
  for (InodeNumber inode : inodes) extents_->Remove(inode).IgnoreError();
}

InodeRecord EmbeddedStore::NewRecord(FileType type, uint32_t mode, const Identity& who,
                                     const InodeRecord& parent) {
  InodeRecord record;
  Attributes& a = record.attrs;
  a.inode = next_inode_++;
  a.generation = boot_count_;
  a.type = type;
  a.mode = mode & 07777;
  a.nlink = type == FileType::kDirectory ? 2 : 1;
  a.uid = who.uid;
  bool inherit_group = (parent.attrs.mode & auth::kModeSetGid) != 0;
  a.gid = inherit_group ? parent.attrs.gid : who.gid;
  if (inherit_group && type == FileType::kDirectory) a.mode |= auth::kModeSetGid;
  a.atime = a.mtime = a.ctime = a.birth_time = Timestamp::Now();
  a.change_id = 1;
  if (type == FileType::kDirectory) record.parent = parent.attrs.inode;
  return record;
}

absl::StatusOr<EntryResult> EmbeddedStore::MakeEntry(const Identity& who, InodeNumber parent,
                                                     absl::string_view name, InodeRecord child,
                                                     const SetAttributes& attrs) {
  absl::StatusOr<InodeRecord> dir = LoadDirectory(parent);
  if (!dir.ok()) return dir.status();
  if (!MayAccess(who, dir->attrs, kAccessWrite | kAccessExecute)) {
    return FsErrorStatus(FsError::kAccess, "no write permission on the directory");
  }
  if (LoadEntry(parent, name).ok()) {
    return FsErrorStatus(FsError::kExists, absl::StrCat("'", name, "' exists"));
  }
  if (attrs.uid.has_value() && *attrs.uid != child.attrs.uid) {
    if (!who.IsRoot()) return FsErrorStatus(FsError::kNotPermitted, "only root may set the owner");
    child.attrs.uid = *attrs.uid;
  }
  if (attrs.gid.has_value() && *attrs.gid != child.attrs.gid) {
    if (!who.IsRoot() && !who.InGroup(*attrs.gid)) {
      return FsErrorStatus(FsError::kNotPermitted, "not a member of the requested group");
    }
    child.attrs.gid = *attrs.gid;
  }
  if (attrs.atime_how == SetAttributes::TimeHow::kClientTime) child.attrs.atime = attrs.atime;
  if (attrs.mtime_how == SetAttributes::TimeHow::kClientTime) child.attrs.mtime = attrs.mtime;

  DirChange change;
  change.before = WithSpace(dir->attrs);
  rocksdb::WriteBatch batch;
  StageAddEntry(batch, *dir, name, child);
  if (child.attrs.type == FileType::kDirectory) ++dir->attrs.nlink;
  Touch(dir->attrs, /*data_changed=*/true);
  Stage(batch, *dir);
  Stage(batch, child);
  batch.Put(kMetaNextInode, EncodeU64(next_inode_));
  absl::Status s = CommitBatch(batch, /*sync=*/true);
  if (!s.ok()) return s;
  change.after = WithSpace(dir->attrs);
  return EntryResult{WithSpace(child.attrs), change};
}

absl::StatusOr<Attributes> EmbeddedStore::Lookup(const Identity& who, InodeNumber dir,
                                                 absl::string_view name, bool cache_only) {
  // A cache-only lookup must not wait for a namespace change that holds the lock over its sync.
  std::shared_lock<std::shared_mutex> lock(mu_, std::defer_lock);
  if (cache_only) {
    if (!lock.try_lock()) return WouldBlock();
  } else {
    lock.lock();
  }
  absl::StatusOr<InodeRecord> parent = LoadDirectory(dir, cache_only);
  if (!parent.ok()) return parent.status();
  if (!MayAccess(who, parent->attrs, kAccessExecute)) {
    return FsErrorStatus(FsError::kAccess, "no search permission on the directory");
  }
  if (name.size() > backend::kMaxNameLength) return ValidateName(name);
  if (name == ".") return WithSpace(parent->attrs);
  if (name == "..") return GetAttr(parent->parent, cache_only);
  absl::StatusOr<DirentValue> entry = LoadEntry(dir, name, cache_only);
  if (!entry.ok()) return entry.status();
  absl::StatusOr<InodeRecord> child = Load(entry->inode, cache_only);
  if (!child.ok()) return child.status();
  return WithSpace(child->attrs);
}

absl::StatusOr<Attributes> EmbeddedStore::GetAttr(InodeNumber inode, bool cache_only) {
  absl::StatusOr<InodeRecord> record = Load(inode, cache_only);
  if (!record.ok()) return record.status();
  return WithSpace(record->attrs);
}

absl::Status EmbeddedStore::ApplyTruncate(InodeRecord& record, uint64_t size) {
  if (size > options_.max_file_size) {
    return FsErrorStatus(FsError::kTooBig, absl::StrCat("size ", size, " exceeds the maximum ",
                                                        options_.max_file_size));
  }
  absl::Status s = extents_->Truncate(record.attrs.inode, size);
  if (!s.ok()) return s;
  record.attrs.size = size;
  Touch(record.attrs, /*data_changed=*/true);
  return absl::OkStatus();
}

absl::StatusOr<AttrChange> EmbeddedStore::SetAttr(const Identity& who, InodeNumber inode,
                                                  const SetAttributes& attrs) {
  std::unique_lock<std::shared_mutex> lock(mu_);
  absl::StatusOr<InodeRecord> record = Load(inode);
  if (!record.ok()) return record.status();
  Attributes& a = record->attrs;
  AttrChange change;
  change.before = WithSpace(a);
  if (attrs.guard_ctime.has_value() && *attrs.guard_ctime != a.ctime) {
    return FsErrorStatus(FsError::kNotSync, "ctime guard does not match");
  }
  if (attrs.size.has_value()) {
    if (a.type != FileType::kRegular) return TypeError(a, "set size");
    if (!MayAccess(who, a, kAccessWrite)) {
      return FsErrorStatus(FsError::kAccess, "no write permission to change the size");
    }
  }
  if (attrs.mode.has_value() && !IsOwnerOrRoot(who, a)) {
    return FsErrorStatus(FsError::kNotPermitted, "only the owner may change the mode");
  }
  uint32_t new_uid = attrs.uid.value_or(a.uid);
  uint32_t new_gid = attrs.gid.value_or(a.gid);
  bool chown = new_uid != a.uid || new_gid != a.gid;
  if (chown && !MayChown(who, a, new_uid, new_gid)) {
    return FsErrorStatus(FsError::kNotPermitted, "not permitted to change the owner or group");
  }
  using TimeHow = SetAttributes::TimeHow;
  bool client_time = attrs.atime_how == TimeHow::kClientTime ||
                     attrs.mtime_how == TimeHow::kClientTime || attrs.birth_time.has_value() ||
                     attrs.ctime.has_value();
  bool server_time =
      attrs.atime_how == TimeHow::kServerTime || attrs.mtime_how == TimeHow::kServerTime;
  if (client_time && !IsOwnerOrRoot(who, a)) {
    return FsErrorStatus(FsError::kNotPermitted, "only the owner may set explicit times");
  }
  if (server_time && !IsOwnerOrRoot(who, a) && !MayAccess(who, a, kAccessWrite)) {
    return FsErrorStatus(FsError::kAccess, "no write permission to touch the times");
  }
  if (attrs.flags.has_value() && !IsOwnerOrRoot(who, a) && !MayAccess(who, a, kAccessWrite)) {
    return FsErrorStatus(FsError::kAccess, "no write permission to change the flags");
  }

  if (attrs.size.has_value() && *attrs.size != a.size) {
    absl::Status s = ApplyTruncate(*record, *attrs.size);
    if (!s.ok()) return s;
  }
  if (attrs.mode.has_value()) {
    uint32_t mode = *attrs.mode & 07777;
    if (!who.IsRoot() && a.type != FileType::kDirectory && !who.InGroup(a.gid)) {
      mode &= ~auth::kModeSetGid;
    }
    a.mode = mode;
  }
  if (chown) {
    a.uid = new_uid;
    a.gid = new_gid;
    if (!who.IsRoot() && a.type != FileType::kDirectory) {
      a.mode &= ~(auth::kModeSetUid | auth::kModeSetGid);
    }
  }
  Timestamp now = Timestamp::Now();
  if (attrs.atime_how == TimeHow::kServerTime) a.atime = now;
  if (attrs.atime_how == TimeHow::kClientTime) a.atime = attrs.atime;
  if (attrs.mtime_how == TimeHow::kServerTime) a.mtime = now;
  if (attrs.mtime_how == TimeHow::kClientTime) a.mtime = attrs.mtime;
  if (attrs.birth_time.has_value()) a.birth_time = *attrs.birth_time;
  if (attrs.flags.has_value()) a.flags = *attrs.flags;
  a.ctime = attrs.ctime.value_or(now);
  ++a.change_id;
  rocksdb::WriteBatch batch;
  Stage(batch, *record);
  absl::Status s = CommitBatch(batch, /*sync=*/true);
  if (!s.ok()) return s;
  change.after = WithSpace(a);
  return change;
}

absl::StatusOr<uint32_t> EmbeddedStore::Access(const Identity& who, InodeNumber inode,
                                               uint32_t requested) {
  absl::StatusOr<InodeRecord> record = Load(inode);
  if (!record.ok()) return record.status();
  return GrantedAccess(who, record->attrs, requested);
}

absl::StatusOr<EntryResult> EmbeddedStore::Create(const Identity& who,
                                                  const backend::CreateRequest& request) {
  absl::Status valid = ValidateName(request.name);
  if (!valid.ok()) return valid;
  std::unique_lock<std::shared_mutex> lock(mu_);
  absl::StatusOr<InodeRecord> dir = LoadDirectory(request.parent);
  if (!dir.ok()) return dir.status();
  absl::StatusOr<DirentValue> existing = LoadEntry(request.parent, request.name);
  if (existing.ok()) {
    if (!MayAccess(who, dir->attrs, kAccessExecute)) {
      return FsErrorStatus(FsError::kAccess, "no search permission on the directory");
    }
    absl::StatusOr<InodeRecord> file = Load(existing->inode);
    if (!file.ok()) return file.status();
    DirChange unchanged{WithSpace(dir->attrs), WithSpace(dir->attrs)};
    switch (request.how) {
      case CreateMode::kGuarded:
        return FsErrorStatus(FsError::kExists, absl::StrCat("'", request.name, "' exists"));
      case CreateMode::kExclusive:
        if (file->create_verifier == request.verifier) {
          return EntryResult{WithSpace(file->attrs), unchanged};
        }
        return FsErrorStatus(FsError::kExists,
                             absl::StrCat("'", request.name, "' exists with another verifier"));
      case CreateMode::kUnchecked:
        if (file->attrs.type != FileType::kRegular) {
          return FsErrorStatus(FsError::kExists,
                               absl::StrCat("'", request.name, "' exists and is not a file"));
        }
        if (request.attributes.size.has_value() && *request.attributes.size != file->attrs.size) {
          if (!MayAccess(who, file->attrs, kAccessWrite)) {
            return FsErrorStatus(FsError::kAccess, "no write permission to truncate");
          }
          absl::Status s = ApplyTruncate(*file, *request.attributes.size);
          if (!s.ok()) return s;
          rocksdb::WriteBatch batch;
          Stage(batch, *file);
          s = CommitBatch(batch, /*sync=*/true);
          if (!s.ok()) return s;
        }
        return EntryResult{WithSpace(file->attrs), unchanged};
    }
  } else if (backend::GetFsError(existing.status()) != FsError::kNoEntry) {
    return existing.status();
  }
  InodeRecord child =
      NewRecord(FileType::kRegular, request.attributes.mode.value_or(0644), who, *dir);
  if (request.how == CreateMode::kExclusive) child.create_verifier = request.verifier;
  return MakeEntry(who, request.parent, request.name, std::move(child), request.attributes);
}

absl::StatusOr<EntryResult> EmbeddedStore::MakeDirectory(const Identity& who, InodeNumber parent,
                                                         absl::string_view name,
                                                         const SetAttributes& attrs) {
  absl::Status valid = ValidateName(name);
  if (!valid.ok()) return valid;
  std::unique_lock<std::shared_mutex> lock(mu_);
  absl::StatusOr<InodeRecord> dir = LoadDirectory(parent);
  if (!dir.ok()) return dir.status();
  InodeRecord child = NewRecord(FileType::kDirectory, attrs.mode.value_or(0755), who, *dir);
  return MakeEntry(who, parent, name, std::move(child), attrs);
}

absl::StatusOr<EntryResult> EmbeddedStore::MakeSymlink(const Identity& who, InodeNumber parent,
                                                       absl::string_view name,
                                                       absl::string_view target,
                                                       const SetAttributes& attrs) {
  absl::Status valid = ValidateName(name);
  if (!valid.ok()) return valid;
  if (target.empty()) return FsErrorStatus(FsError::kInvalid, "symlink target must not be empty");
  if (target.size() > backend::kMaxSymlinkLength) {
    return FsErrorStatus(FsError::kNameTooLong, "symlink target is too long");
  }
  std::unique_lock<std::shared_mutex> lock(mu_);
  absl::StatusOr<InodeRecord> dir = LoadDirectory(parent);
  if (!dir.ok()) return dir.status();
  InodeRecord child = NewRecord(FileType::kSymlink, 0777, who, *dir);
  child.symlink_target = std::string(target);
  child.attrs.size = target.size();
  return MakeEntry(who, parent, name, std::move(child), attrs);
}

absl::StatusOr<EntryResult> EmbeddedStore::MakeNode(const Identity& who, InodeNumber parent,
                                                    absl::string_view name, FileType type,
                                                    uint32_t rdev_major, uint32_t rdev_minor,
                                                    const SetAttributes& attrs) {
  absl::Status valid = ValidateName(name);
  if (!valid.ok()) return valid;
  bool device = type == FileType::kBlockDevice || type == FileType::kCharDevice;
  if (!device && type != FileType::kFifo && type != FileType::kSocket) {
    return FsErrorStatus(FsError::kInvalid, "MakeNode makes fifos, sockets and devices only");
  }
  if (device && !who.IsRoot()) {
    return FsErrorStatus(FsError::kNotPermitted, "only root may make device nodes");
  }
  std::unique_lock<std::shared_mutex> lock(mu_);
  absl::StatusOr<InodeRecord> dir = LoadDirectory(parent);
  if (!dir.ok()) return dir.status();
  InodeRecord child = NewRecord(type, attrs.mode.value_or(0644), who, *dir);
  if (device) {
    child.attrs.rdev_major = rdev_major;
    child.attrs.rdev_minor = rdev_minor;
  }
  return MakeEntry(who, parent, name, std::move(child), attrs);
}

absl::StatusOr<std::string> EmbeddedStore::ReadLink(const Identity& who, InodeNumber inode) {
  absl::StatusOr<InodeRecord> record = Load(inode);
  if (!record.ok()) return record.status();
  if (record->attrs.type != FileType::kSymlink) {
    return FsErrorStatus(FsError::kInvalid, "not a symbolic link");
  }
  return record->symlink_target;
}

absl::StatusOr<EntryResult> EmbeddedStore::Link(const Identity& who, InodeNumber inode,
                                                InodeNumber dir, absl::string_view name) {
  absl::Status valid = ValidateName(name);
  if (!valid.ok()) return valid;
  std::unique_lock<std::shared_mutex> lock(mu_);
  absl::StatusOr<InodeRecord> file = Load(inode);
  if (!file.ok()) return file.status();
  if (file->attrs.type == FileType::kDirectory) {
    return FsErrorStatus(FsError::kIsDirectory, "hard links to directories are not allowed");
  }
  if (file->attrs.nlink == 0) {
    return FsErrorStatus(FsError::kNoEntry, "the file has been removed");
  }
  absl::StatusOr<InodeRecord> parent = LoadDirectory(dir);
  if (!parent.ok()) return parent.status();
  if (!MayAccess(who, parent->attrs, kAccessWrite | kAccessExecute)) {
    return FsErrorStatus(FsError::kAccess, "no write permission on the directory");
  }
  if (LoadEntry(dir, name).ok()) {
    return FsErrorStatus(FsError::kExists, absl::StrCat("'", name, "' exists"));
  }
  DirChange change;
  change.before = WithSpace(parent->attrs);
  rocksdb::WriteBatch batch;
  ++file->attrs.nlink;
  Touch(file->attrs, /*data_changed=*/false);
  StageAddEntry(batch, *parent, name, *file);
  Touch(parent->attrs, /*data_changed=*/true);
  Stage(batch, *parent);
  Stage(batch, *file);
  absl::Status s = CommitBatch(batch, /*sync=*/true);
  if (!s.ok()) return s;
  change.after = WithSpace(parent->attrs);
  return EntryResult{WithSpace(file->attrs), change};
}

absl::StatusOr<EmbeddedStore::Removal> EmbeddedStore::LoadForRemoval(const Identity& who,
                                                                     InodeNumber dir,
                                                                     absl::string_view name,
                                                                     bool want_directory) {
  absl::StatusOr<InodeRecord> parent = LoadDirectory(dir);
  if (!parent.ok()) return parent.status();
  if (!MayAccess(who, parent->attrs, kAccessExecute)) {
    return FsErrorStatus(FsError::kAccess, "no search permission on the directory");
  }
  absl::StatusOr<DirentValue> entry = LoadEntry(dir, name);
  if (!entry.ok()) return entry.status();
  absl::StatusOr<InodeRecord> victim = Load(entry->inode);
  if (!victim.ok()) return victim.status();
  bool is_directory = victim->attrs.type == FileType::kDirectory;
  if (is_directory && !want_directory) {
    return FsErrorStatus(FsError::kIsDirectory, absl::StrCat("'", name, "' is a directory"));
  }
  if (!is_directory && want_directory) {
    return FsErrorStatus(FsError::kNotDirectory, absl::StrCat("'", name, "' is not a directory"));
  }
  if (!MayRemoveEntry(who, parent->attrs, victim->attrs)) {
    return FsErrorStatus(FsError::kAccess, "not permitted to remove the entry");
  }
  return Removal{std::move(*parent), *entry, std::move(*victim)};
}

absl::StatusOr<DirChange> EmbeddedStore::Unlink(const Identity& who, InodeNumber dir,
                                                absl::string_view name) {
  absl::Status valid = ValidateName(name);
  if (!valid.ok()) return valid;
  std::vector<InodeNumber> to_free;
  DirChange change;
  {
    std::unique_lock<std::shared_mutex> lock(mu_);
    absl::StatusOr<Removal> removal = LoadForRemoval(who, dir, name, /*want_directory=*/false);
    if (!removal.ok()) return removal.status();
    InodeRecord& parent = removal->parent;
    change.before = WithSpace(parent.attrs);
    rocksdb::WriteBatch batch;
    StageRemoveEntry(batch, dir, name, removal->entry.cookie);
    StageDropLink(batch, removal->victim, to_free);
    Touch(parent.attrs, /*data_changed=*/true);
    Stage(batch, parent);
    absl::Status s = CommitBatch(batch, /*sync=*/true);
    if (!s.ok()) return s;
    change.after = WithSpace(parent.attrs);
  }
  FreeData(to_free);
  return change;
}

absl::StatusOr<DirChange> EmbeddedStore::RemoveDirectory(const Identity& who, InodeNumber dir,
                                                         absl::string_view name) {
  if (name == ".") return FsErrorStatus(FsError::kInvalid, "cannot remove '.'");
  if (name == "..") return FsErrorStatus(FsError::kNotEmpty, "cannot remove '..'");
  absl::Status valid = ValidateName(name);
  if (!valid.ok()) return valid;
  std::unique_lock<std::shared_mutex> lock(mu_);
  absl::StatusOr<Removal> removal = LoadForRemoval(who, dir, name, /*want_directory=*/true);
  if (!removal.ok()) return removal.status();
  if (!DirectoryIsEmpty(removal->victim.attrs.inode)) {
    return FsErrorStatus(FsError::kNotEmpty, absl::StrCat("'", name, "' is not empty"));
  }
  InodeRecord& parent = removal->parent;
  DirChange change;
  change.before = WithSpace(parent.attrs);
  rocksdb::WriteBatch batch;
  StageRemoveEntry(batch, dir, name, removal->entry.cookie);
  StageFreeInode(batch, removal->victim.attrs.inode);
  --parent.attrs.nlink;
  Touch(parent.attrs, /*data_changed=*/true);
  Stage(batch, parent);
  absl::Status s = CommitBatch(batch, /*sync=*/true);
  if (!s.ok()) return s;
  change.after = WithSpace(parent.attrs);
  return change;
}

absl::StatusOr<backend::RenameResult> EmbeddedStore::Rename(const Identity& who,
                                                            InodeNumber from_dir,
                                                            absl::string_view from_name,
                                                            InodeNumber to_dir,
                                                            absl::string_view to_name) {
  absl::Status valid = ValidateName(from_name);
  if (valid.ok()) valid = ValidateName(to_name);
  if (!valid.ok()) return valid;
  std::vector<InodeNumber> to_free;
  backend::RenameResult result;
  {
    std::unique_lock<std::shared_mutex> lock(mu_);
    absl::StatusOr<InodeRecord> src_dir = LoadDirectory(from_dir);
    if (!src_dir.ok()) return src_dir.status();
    absl::StatusOr<InodeRecord> dst_dir = LoadDirectory(to_dir);
    if (!dst_dir.ok()) return dst_dir.status();
    if (!MayAccess(who, src_dir->attrs, kAccessExecute) ||
        !MayAccess(who, dst_dir->attrs, kAccessWrite | kAccessExecute)) {
      return FsErrorStatus(FsError::kAccess, "no write permission on a directory");
    }
    absl::StatusOr<DirentValue> src_entry = LoadEntry(from_dir, from_name);
    if (!src_entry.ok()) return src_entry.status();
    absl::StatusOr<InodeRecord> moved = Load(src_entry->inode);
    if (!moved.ok()) return moved.status();
    if (!MayRemoveEntry(who, src_dir->attrs, moved->attrs)) {
      return FsErrorStatus(FsError::kAccess, "not permitted to move the entry");
    }
    bool moving_dir = moved->attrs.type == FileType::kDirectory;
    bool same_dir = from_dir == to_dir;
    if (moving_dir && !same_dir) {
      // The moved directory's ".." changes: POSIX asks for write permission on it.
      if (!MayAccess(who, moved->attrs, kAccessWrite)) {
        return FsErrorStatus(FsError::kAccess, "no write permission on the moved directory");
      }
      // Refuse moving a directory into its own subtree.
      for (InodeNumber up = to_dir;;) {
        if (up == moved->attrs.inode) {
          return FsErrorStatus(FsError::kInvalid, "cannot move a directory into itself");
        }
        if (up == kRootInode) break;
        absl::StatusOr<InodeRecord> step = Load(up);
        if (!step.ok()) return step.status();
        up = step->parent;
      }
    }
    absl::StatusOr<DirentValue> dst_entry = LoadEntry(to_dir, to_name);
    std::optional<InodeRecord> replaced;
    if (dst_entry.ok()) {
      if (dst_entry->inode == src_entry->inode) {
        // Both names are links to one file: POSIX says do nothing.
        result.from_dir = {WithSpace(src_dir->attrs), WithSpace(src_dir->attrs)};
        result.to_dir = {WithSpace(dst_dir->attrs), WithSpace(dst_dir->attrs)};
        return result;
      }
      absl::StatusOr<InodeRecord> target = Load(dst_entry->inode);
      if (!target.ok()) return target.status();
      bool target_dir = target->attrs.type == FileType::kDirectory;
      if (moving_dir && !target_dir) {
        return FsErrorStatus(FsError::kNotDirectory, "cannot replace a file with a directory");
      }
      if (!moving_dir && target_dir) {
        return FsErrorStatus(FsError::kIsDirectory, "cannot replace a directory with a file");
      }
      if (target_dir && !DirectoryIsEmpty(target->attrs.inode)) {
        return FsErrorStatus(FsError::kNotEmpty, "the target directory is not empty");
      }
      if (!MayRemoveEntry(who, dst_dir->attrs, target->attrs)) {
        return FsErrorStatus(FsError::kAccess, "not permitted to replace the target");
      }
      replaced = std::move(*target);
    } else if (backend::GetFsError(dst_entry.status()) != FsError::kNoEntry) {
      return dst_entry.status();
    }

    result.from_dir.before = WithSpace(src_dir->attrs);
    result.to_dir.before = WithSpace(dst_dir->attrs);
    rocksdb::WriteBatch batch;
    StageRemoveEntry(batch, from_dir, from_name, src_entry->cookie);
    // With one directory, both changes apply to one record: keep a single copy.
    InodeRecord& target_dir_record = same_dir ? *src_dir : *dst_dir;
    if (replaced.has_value()) {
      StageRemoveEntry(batch, to_dir, to_name, dst_entry->cookie);
      if (replaced->attrs.type == FileType::kDirectory) {
        StageFreeInode(batch, replaced->attrs.inode);
        --target_dir_record.attrs.nlink;
      } else {
        StageDropLink(batch, *replaced, to_free);
      }
    }
    StageAddEntry(batch, target_dir_record, to_name, *moved);
    if (moving_dir && !same_dir) {
      --src_dir->attrs.nlink;
      ++dst_dir->attrs.nlink;
      moved->parent = to_dir;
    }
    Touch(moved->attrs, /*data_changed=*/false);
    Touch(src_dir->attrs, /*data_changed=*/true);
    Stage(batch, *src_dir);
    if (!same_dir) {
      Touch(dst_dir->attrs, /*data_changed=*/true);
      Stage(batch, *dst_dir);
    }
    Stage(batch, *moved);
    absl::Status s = CommitBatch(batch, /*sync=*/true);
    if (!s.ok()) return s;
    result.from_dir.after = WithSpace(src_dir->attrs);
    result.to_dir.after = WithSpace(same_dir ? src_dir->attrs : dst_dir->attrs);
    if (same_dir) result.to_dir.before = result.from_dir.before;
  }
  FreeData(to_free);
  return result;
}

absl::StatusOr<backend::ReadDirResult> EmbeddedStore::ReadDir(const Identity& who, InodeNumber dir,
                                                              uint64_t cookie, uint64_t verifier,
                                                              size_t max_entries,
                                                              bool with_attributes) {
  std::shared_lock<std::shared_mutex> lock(mu_);
  absl::StatusOr<InodeRecord> record = LoadDirectory(dir);
  if (!record.ok()) return record.status();
  if (!MayAccess(who, record->attrs, kAccessRead)) {
    return FsErrorStatus(FsError::kAccess, "no read permission on the directory");
  }
  backend::ReadDirResult result;
  result.cookie_verifier = DirectoryVerifier(*record);
  result.directory = WithSpace(record->attrs);
  if (verifier != 0 && verifier != result.cookie_verifier) {
    return FsErrorStatus(FsError::kBadCookie, "cookie verifier does not match the directory");
  }
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  std::string prefix = CookiePrefix(dir);
  for (it->Seek(CookieKey(dir, cookie + 1)); it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    if (result.entries.size() >= max_entries) return result;  // more remain: not eof
    absl::string_view name(it->value().data(), it->value().size());
    absl::StatusOr<DirentValue> entry = LoadEntry(dir, name);
    if (!entry.ok()) continue;  // removed between the two reads
    backend::DirEntry out;
    out.name = std::string(name);
    out.inode = entry->inode;
    out.type = entry->type;
    out.cookie = CookieOfKey(absl::string_view(it->key().data(), it->key().size()));
    if (with_attributes) {
      absl::StatusOr<InodeRecord> child = Load(entry->inode);
      if (child.ok()) out.attributes = WithSpace(child->attrs);
    }
    result.entries.push_back(std::move(out));
  }
  result.eof = true;
  return result;
}

absl::StatusOr<backend::FsStatResult> EmbeddedStore::FsStat(InodeNumber inode) {
  absl::StatusOr<InodeRecord> record = Load(inode);
  if (!record.ok()) return record.status();
  struct statvfs vfs;
  if (statvfs(options_.data_dir.c_str(), &vfs) != 0) {
    return backend::ErrnoStatus(errno, "statvfs");
  }
  backend::FsStatResult r;
  r.total_bytes = static_cast<uint64_t>(vfs.f_blocks) * vfs.f_frsize;
  r.free_bytes = static_cast<uint64_t>(vfs.f_bfree) * vfs.f_frsize;
  r.available_bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  r.total_files = vfs.f_files;
  r.free_files = vfs.f_ffree;
  r.available_files = vfs.f_favail;
  r.root = WithSpace(record->attrs);
  return r;
}

namespace {
absl::Status ValidateXattrName(absl::string_view name) {
  if (name.empty()) return FsErrorStatus(FsError::kInvalid, "xattr name must not be empty");
  if (name.size() > backend::kMaxNameLength) {
    return FsErrorStatus(FsError::kNameTooLong, "xattr name is longer than 255 bytes");
  }
  return absl::OkStatus();
}
}  // namespace

absl::StatusOr<std::string> EmbeddedStore::GetXattr(const Identity& who, InodeNumber inode,
                                                    absl::string_view name, bool cache_only) {
  absl::Status valid = ValidateXattrName(name);
  if (!valid.ok()) return valid;
  absl::StatusOr<InodeRecord> record = Load(inode, cache_only);
  if (!record.ok()) return record.status();
  if (!MayAccess(who, record->attrs, kAccessRead)) {
    return FsErrorStatus(FsError::kAccess, "no read permission");
  }
  std::string value;
  rocksdb::Status s = db_->Get(ReadTier(cache_only), XattrKey(inode, name), &value);
  if (s.IsIncomplete()) return WouldBlock();
  if (s.IsNotFound()) {
    return FsErrorStatus(FsError::kNoEntry, absl::StrCat("no extended attribute '", name, "'"));
  }
  if (!s.ok()) return FromRocks(s, "read xattr");
  return value;
}

absl::StatusOr<Done> EmbeddedStore::SetXattr(const Identity& who, InodeNumber inode,
                                             absl::string_view name, absl::string_view value,
                                             backend::XattrSetMode mode) {
  if (value.size() > kMaxXattrValue) {
    return FsErrorStatus(FsError::kTooBig, "xattr value is larger than 64 KiB");
  }
  return ChangeXattr(who, inode, name, value, mode);
}

absl::StatusOr<Done> EmbeddedStore::ChangeXattr(const Identity& who, InodeNumber inode,
                                                absl::string_view name,
                                                std::optional<absl::string_view> value,
                                                backend::XattrSetMode mode) {
  absl::Status valid = ValidateXattrName(name);
  if (!valid.ok()) return valid;
  std::unique_lock<std::shared_mutex> lock(mu_);
  absl::StatusOr<InodeRecord> record = Load(inode);
  if (!record.ok()) return record.status();
  if (!IsOwnerOrRoot(who, record->attrs) && !MayAccess(who, record->attrs, kAccessWrite)) {
    return FsErrorStatus(FsError::kAccess, "no write permission");
  }
  std::string existing;
  bool exists = db_->Get(rocksdb::ReadOptions(), XattrKey(inode, name), &existing).ok();
  if (mode == backend::XattrSetMode::kCreateOnly && exists) {
    return FsErrorStatus(FsError::kExists, absl::StrCat("extended attribute '", name, "' exists"));
  }
  if (mode == backend::XattrSetMode::kReplaceOnly && !exists) {
    return FsErrorStatus(FsError::kNoEntry, absl::StrCat("no extended attribute '", name, "'"));
  }
  rocksdb::WriteBatch batch;
  if (value.has_value()) {
    batch.Put(XattrKey(inode, name), rocksdb::Slice(value->data(), value->size()));
  } else {
    batch.Delete(XattrKey(inode, name));
  }
  Touch(record->attrs, /*data_changed=*/false);
  Stage(batch, *record);
  absl::Status s = CommitBatch(batch, /*sync=*/true);
  if (!s.ok()) return s;
  return Done{};
}

absl::StatusOr<std::vector<std::string>> EmbeddedStore::ListXattrs(const Identity& who,
                                                                   InodeNumber inode) {
  absl::StatusOr<InodeRecord> record = Load(inode);
  if (!record.ok()) return record.status();
  if (!MayAccess(who, record->attrs, kAccessRead)) {
    return FsErrorStatus(FsError::kAccess, "no read permission");
  }
  std::vector<std::string> names;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  std::string prefix = XattrPrefix(inode);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    names.emplace_back(NameOfKey(absl::string_view(it->key().data(), it->key().size())));
  }
  return names;
}

absl::StatusOr<Done> EmbeddedStore::RemoveXattr(const Identity& who, InodeNumber inode,
                                                absl::string_view name) {
  return ChangeXattr(who, inode, name, std::nullopt, backend::XattrSetMode::kReplaceOnly);
}

absl::StatusOr<std::vector<backend::Extent>> EmbeddedStore::GetExtentMap(const Identity& who,
                                                                         InodeNumber inode,
                                                                         uint64_t offset,
                                                                         uint64_t length) {
  absl::StatusOr<InodeRecord> record = Load(inode);
  if (!record.ok()) return record.status();
  if (record->attrs.type != FileType::kRegular) return TypeError(record->attrs, "extent map");
  if (!MayAccess(who, record->attrs, kAccessRead)) {
    return FsErrorStatus(FsError::kAccess, "no read permission");
  }
  return extents_->Map(inode, offset, length, record->attrs.size);
}

absl::StatusOr<Done> EmbeddedStore::OpenFile(InodeNumber inode, bool cache_only) {
  // A cache-only call must not wait for a namespace change that holds the lock over its sync.
  std::unique_lock<std::shared_mutex> lock(mu_, std::defer_lock);
  if (cache_only) {
    if (!lock.try_lock()) return WouldBlock();
  } else {
    lock.lock();
  }
  absl::StatusOr<InodeRecord> record = Load(inode, cache_only);
  if (!record.ok()) return record.status();
  ++open_counts_[inode];
  return Done{};
}

absl::StatusOr<Done> EmbeddedStore::ReleaseFile(InodeNumber inode, bool cache_only) {
  std::vector<InodeNumber> to_free;
  {
    std::unique_lock<std::shared_mutex> lock(mu_, std::defer_lock);
    if (cache_only) {
      if (!lock.try_lock()) return WouldBlock();
    } else {
      lock.lock();
    }
    auto it = open_counts_.find(inode);
    if (it == open_counts_.end()) {
      return FsErrorStatus(FsError::kInvalid, "release without a matching open");
    }
    if (it->second > 1) {
      --it->second;
      return Done{};
    }
    // The last release: an unlinked inode is freed now (a synced write: not cache-only).
    absl::StatusOr<InodeRecord> record = Load(inode, cache_only);
    if (IsWouldBlock(record.status())) return record.status();
    if (cache_only && record.ok() && record->attrs.nlink == 0) return WouldBlock();
    open_counts_.erase(it);
    if (!record.ok() || record->attrs.nlink > 0) return Done{};
    rocksdb::WriteBatch batch;
    StageFreeInode(batch, inode);
    absl::Status s = CommitBatch(batch, /*sync=*/true);
    if (!s.ok()) return s;
    to_free.push_back(inode);
  }
  FreeData(to_free);
  return Done{};
}

absl::StatusOr<backend::ReadResult> EmbeddedStore::Read(const Identity& who, InodeNumber inode,
                                                        uint64_t offset, uint64_t count,
                                                        bool cache_only, bool owner_override) {
  absl::StatusOr<InodeRecord> record = Load(inode, cache_only);
  if (!record.ok()) return record.status();
  const Attributes& a = record->attrs;
  if (a.type != FileType::kRegular) return TypeError(a, "read");
  if (!auth::MayAccessData(who, a, kAccessRead, owner_override)) {
    return FsErrorStatus(FsError::kAccess, "no read permission");
  }
  backend::ReadResult result;
  if (offset < a.size) {
    uint64_t want = std::min(count, a.size - offset);
    absl::Status s = extents_->Read(inode, offset, want, &result.data, cache_only);
    if (!s.ok()) return s;
    result.data.resize(want, '\0');  // a sparse tail beyond the file's bytes reads as zeros
  }
  result.eof = offset + result.data.size() >= a.size;
  result.attributes = WithSpace(a);
  return result;
}

absl::StatusOr<backend::WriteResult> EmbeddedStore::Write(const Identity& who, InodeNumber inode,
                                                          uint64_t offset, const Buffer& data,
                                                          backend::Stability stability,
                                                          bool owner_override) {
  {
    absl::StatusOr<InodeRecord> record = Load(inode);
    if (!record.ok()) return record.status();
    if (record->attrs.type != FileType::kRegular) return TypeError(record->attrs, "write");
    if (!auth::MayAccessData(who, record->attrs, kAccessWrite, owner_override)) {
      return FsErrorStatus(FsError::kAccess, "no write permission");
    }
  }
  if (offset > options_.max_file_size || data.size() > options_.max_file_size - offset) {
    return FsErrorStatus(FsError::kTooBig, "write would exceed the maximum file size");
  }
  absl::Status s = extents_->Write(inode, offset, data);
  if (!s.ok()) return s;
  if (stability != backend::Stability::kUnstable) {
    s = extents_->Sync(inode);
    if (!s.ok()) return s;
  }
  std::unique_lock<std::shared_mutex> lock(mu_);
  absl::StatusOr<InodeRecord> record = Load(inode);
  if (!record.ok()) {
    // Freed while we wrote: drop the file our write may have re-created.
    extents_->Remove(inode).IgnoreError();
    return record.status();
  }
  backend::WriteResult result;
  Attributes& a = record->attrs;
  result.attributes.before = WithSpace(a);
  a.size = std::max<uint64_t>(a.size, offset + data.size());
  Touch(a, /*data_changed=*/true);
  if (!who.IsRoot()) a.mode &= ~(auth::kModeSetUid | auth::kModeSetGid);
  rocksdb::WriteBatch batch;
  Stage(batch, *record);
  s = CommitBatch(batch, /*sync=*/stability != backend::Stability::kUnstable);
  if (!s.ok()) return s;
  result.count = data.size();
  result.committed = stability;
  result.verifier = write_verifier_;
  result.attributes.after = WithSpace(a);
  return result;
}

absl::StatusOr<backend::CommitResult> EmbeddedStore::Commit(const Identity& who,
                                                            InodeNumber inode) {
  absl::StatusOr<InodeRecord> record = Load(inode);
  if (!record.ok()) return record.status();
  if (record->attrs.type != FileType::kRegular) return TypeError(record->attrs, "commit");
  absl::Status s = extents_->Sync(inode);
  if (!s.ok()) return s;
  s = FromRocks(db_->SyncWAL(), "sync metadata log");
  if (!s.ok()) return s;
  backend::CommitResult result;
  result.verifier = write_verifier_;
  result.attributes.before = result.attributes.after = WithSpace(record->attrs);
  return result;
}

absl::Status EmbeddedStore::Close() {
  std::unique_lock<std::shared_mutex> lock(mu_);
  if (closed_) return absl::OkStatus();
  closed_ = true;
  rocksdb::WriteBatch batch;
  // Files still open hold unlinked inodes: keep them as orphans for the next start.
  batch.Put(kMetaCleanShutdown, "1");
  absl::Status s = CommitBatch(batch, /*sync=*/true);
  rocksdb::Status closed = db_->Close();
  if (s.ok()) s = FromRocks(closed, "close metadata store");
  return s;
}

}  // namespace cfs::embedded
