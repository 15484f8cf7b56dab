// EmbeddedStore: the synchronous core of the embedded backend (see EmbeddedBackend).
//
// Each method does the whole operation on the caller's thread and returns its result, with the
// permission checks of the SPI contract. Namespace changes hold one writer lock and commit one
// RocksDB write batch, so each is atomic and survives a crash whole or not at all. Thread-safe.
//
// Example:
//   auto store = EmbeddedStore::Open(options);
//   absl::StatusOr<EntryResult> made = (*store)->MakeDirectory(id, kRootInode, "docs", {});

#ifndef CFS_LIB_BACKENDS_EMBEDDED_EMBEDDED_STORE_H_
#define CFS_LIB_BACKENDS_EMBEDDED_EMBEDDED_STORE_H_

#include <condition_variable>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>  // visible to ThreadSanitizer (Debian's Abseil is not instrumented)
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "lib/backend/callback.h"
#include "lib/backend/types.h"
#include "lib/backends/embedded/extent_store.h"
#include "lib/backends/embedded/inode_record.h"

namespace rocksdb {
class DB;
class WriteBatch;
}  // namespace rocksdb

namespace cfs::embedded {

struct EmbeddedBackendOptions {
  std::string data_dir;  // holds `meta/` (RocksDB) and `data/` (extent files)
  int worker_threads = 8;
  size_t max_queued_requests = 4096;
  uint64_t max_file_size = 1ULL << 44;  // 16 TiB, ext4's limit
  // GetAttr, Lookup and reads up to max_inline_read_bytes first try to complete on the caller's
  // thread from RocksDB's block cache and the page cache, never waiting for the disk or a
  // writer; only what would wait goes to the pool. Saves two thread hand-offs per call; the
  // price is the copy of a cached read (about 100 us for 1 MiB) on the caller's network loop.
  bool inline_cached_reads = true;
  uint64_t max_inline_read_bytes = 1 << 20;
};

// What start-up recovery found and fixed, for logs and tests.
struct RecoveryReport {
  bool clean_shutdown = false;
  size_t orphans_reclaimed = 0;         // unlinked-while-open or unreferenced inodes
  size_t dangling_entries_removed = 0;  // entries naming a missing inode
  size_t nlink_fixed = 0;
  size_t stray_files_removed = 0;  // extent files without an inode
  size_t files_trimmed = 0;        // extent files longer than the recorded size
};

class EmbeddedStore {
 public:
  using Identity = backend::Identity;
  using InodeNumber = backend::InodeNumber;

  static absl::StatusOr<std::unique_ptr<EmbeddedStore>> Open(const EmbeddedBackendOptions& options);
  ~EmbeddedStore();

  const RecoveryReport& recovery_report() const { return recovery_; }
  backend::WriteVerifier write_verifier() const { return write_verifier_; }
  std::vector<std::string> CheckInvariants();
  // Syncs everything and records a clean shutdown. Later calls fail.
  absl::Status Close();

  // Reads take `cache_only`: then they never wait for the disk (RocksDB's block cache, the page
  // cache) and fail with WouldBlock() where they would have (see IsWouldBlock).
  absl::StatusOr<backend::Attributes> Lookup(const Identity& who, InodeNumber dir,
                                             absl::string_view name, bool cache_only = false);
  absl::StatusOr<backend::Attributes> GetAttr(InodeNumber inode, bool cache_only = false);
  absl::StatusOr<backend::AttrChange> SetAttr(const Identity& who, InodeNumber inode,
                                              const backend::SetAttributes& attrs);
  absl::StatusOr<uint32_t> Access(const Identity& who, InodeNumber inode, uint32_t requested);
  absl::StatusOr<backend::EntryResult> Create(const Identity& who,
                                              const backend::CreateRequest& request);
  absl::StatusOr<backend::EntryResult> MakeDirectory(const Identity& who, InodeNumber parent,
                                                     absl::string_view name,
                                                     const backend::SetAttributes& attrs);
  absl::StatusOr<backend::EntryResult> MakeSymlink(const Identity& who, InodeNumber parent,
                                                   absl::string_view name, absl::string_view target,
                                                   const backend::SetAttributes& attrs);
  absl::StatusOr<backend::EntryResult> MakeNode(const Identity& who, InodeNumber parent,
                                                absl::string_view name, backend::FileType type,
                                                uint32_t rdev_major, uint32_t rdev_minor,
                                                const backend::SetAttributes& attrs);
  absl::StatusOr<std::string> ReadLink(const Identity& who, InodeNumber inode);
  absl::StatusOr<backend::EntryResult> Link(const Identity& who, InodeNumber inode, InodeNumber dir,
                                            absl::string_view name);
  absl::StatusOr<backend::DirChange> Unlink(const Identity& who, InodeNumber dir,
                                            absl::string_view name);
  absl::StatusOr<backend::DirChange> RemoveDirectory(const Identity& who, InodeNumber dir,
                                                     absl::string_view name);
  absl::StatusOr<backend::RenameResult> Rename(const Identity& who, InodeNumber from_dir,
                                               absl::string_view from_name, InodeNumber to_dir,
                                               absl::string_view to_name);
  absl::StatusOr<backend::ReadDirResult> ReadDir(const Identity& who, InodeNumber dir,
                                                 uint64_t cookie, uint64_t verifier,
                                                 size_t max_entries, bool with_attributes);
  absl::StatusOr<backend::FsStatResult> FsStat(InodeNumber inode);
  absl::StatusOr<std::string> GetXattr(const Identity& who, InodeNumber inode,
                                       absl::string_view name, bool cache_only = false);
  absl::StatusOr<backend::Done> SetXattr(const Identity& who, InodeNumber inode,
                                         absl::string_view name, absl::string_view value,
                                         backend::XattrSetMode mode);
  absl::StatusOr<std::vector<std::string>> ListXattrs(const Identity& who, InodeNumber inode);
  absl::StatusOr<backend::Done> RemoveXattr(const Identity& who, InodeNumber inode,
                                            absl::string_view name);
  absl::StatusOr<std::vector<backend::Extent>> GetExtentMap(const Identity& who, InodeNumber inode,
                                                            uint64_t offset, uint64_t length);
  // Open and release counts are in memory; cache-only calls change them only when that needs no
  // I/O (a release that frees an unlinked inode would block).
  absl::StatusOr<backend::Done> OpenFile(InodeNumber inode, bool cache_only = false);
  absl::StatusOr<backend::Done> ReleaseFile(InodeNumber inode, bool cache_only = false);

  // `owner_override`: RequestContext's (the owner reads and writes whatever the mode).
  absl::StatusOr<backend::ReadResult> Read(const Identity& who, InodeNumber inode, uint64_t offset,
                                           uint64_t count, bool cache_only = false,
                                           bool owner_override = false);
  absl::StatusOr<backend::WriteResult> Write(const Identity& who, InodeNumber inode,
                                             uint64_t offset, const Buffer& data,
                                             backend::Stability stability,
                                             bool owner_override = false);
  absl::StatusOr<backend::CommitResult> Commit(const Identity& who, InodeNumber inode);

  // Group commit. Between BeginDeferredSync() and FinishDeferredSync() on one thread, changes
  // that must be durable before their reply are written without waiting for the disk, and
  // data files they free are kept; FinishDeferredSync(), called once the store's lock is no
  // longer held, makes them durable with one WAL sync shared by every thread that waits at the
  // same time, then removes the freed files. The reply goes out only after it returns.
  void BeginDeferredSync();
  absl::Status FinishDeferredSync();

 private:
  EmbeddedStore(const EmbeddedBackendOptions& options, std::unique_ptr<rocksdb::DB> db,
                std::unique_ptr<ExtentStore> extents);

  absl::Status Initialize();  // root, counters, boot count, recovery
  // Reclaims orphans; after an unclean stop also repairs the namespace invariants.
  absl::Status Recover() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Walks every record: reports violations, and with `repair` fixes them (counted in report).
  absl::Status ScanNamespace(bool repair, RecoveryReport* report,
                             std::vector<std::string>* violations)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Record access. Load fails with kStale for a missing inode.
  absl::StatusOr<InodeRecord> Load(InodeNumber inode, bool cache_only = false);
  absl::StatusOr<DirentValue> LoadEntry(InodeNumber dir, absl::string_view name,
                                        bool cache_only = false);
  absl::StatusOr<InodeRecord> LoadDirectory(InodeNumber dir, bool cache_only = false);
  void Stage(rocksdb::WriteBatch& batch, const InodeRecord& record);
  absl::Status CommitBatch(rocksdb::WriteBatch& batch, bool sync);
  bool DirectoryIsEmpty(InodeNumber dir);
  backend::Attributes WithSpace(backend::Attributes attrs);

  // The entry `name` of `dir` about to be removed, after the search, type and (sticky)
  // permission checks. Errors: kNoEntry, kIsDirectory/kNotDirectory, kAccess.
  struct Removal {
    InodeRecord parent;
    DirentValue entry;
    InodeRecord victim;
  };
  absl::StatusOr<Removal> LoadForRemoval(const Identity& who, InodeNumber dir,
                                         absl::string_view name, bool want_directory);

  // Stages the removal of entry `name` (cookie `cookie`) from `dir`.
  void StageRemoveEntry(rocksdb::WriteBatch& batch, InodeNumber dir, absl::string_view name,
                        uint64_t cookie);
  // Stages adding `name` -> `child` to `dir` (updates dir's next cookie in `dir_record`).
  void StageAddEntry(rocksdb::WriteBatch& batch, InodeRecord& dir_record, absl::string_view name,
                     const InodeRecord& child);
  // Stages dropping one link of `victim`; frees it (or marks it orphan while open). Inodes to
  // free after commit are appended to `to_free`.
  void StageDropLink(rocksdb::WriteBatch& batch, InodeRecord& victim,
                     std::vector<InodeNumber>& to_free) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StageFreeInode(rocksdb::WriteBatch& batch, InodeNumber inode);
  void FreeData(const std::vector<InodeNumber>& inodes);

  // Common part of Create/MakeDirectory/MakeSymlink/MakeNode: checks and stages a new inode.
  absl::StatusOr<backend::EntryResult> MakeEntry(const Identity& who, InodeNumber parent,
                                                 absl::string_view name, InodeRecord child,
                                                 const backend::SetAttributes& attrs)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  InodeRecord NewRecord(backend::FileType type, uint32_t mode, const Identity& who,
                        const InodeRecord& parent) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status ApplyTruncate(InodeRecord& record, uint64_t size);
  // Sets (`value`) or removes (nullopt) one xattr, with the permission and mode checks.
  absl::StatusOr<backend::Done> ChangeXattr(const Identity& who, InodeNumber inode,
                                            absl::string_view name,
                                            std::optional<absl::string_view> value,
                                            backend::XattrSetMode mode);

  const EmbeddedBackendOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::unique_ptr<ExtentStore> extents_;
  RecoveryReport recovery_;
  backend::WriteVerifier write_verifier_ = 0;
  uint64_t boot_count_ = 0;

  // Serialises namespace and attribute changes; readers take it shared.
  std::shared_mutex mu_;
  InodeNumber next_inode_ ABSL_GUARDED_BY(mu_) = 2;
  std::map<InodeNumber, int> open_counts_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;

  // Makes every change written so far durable (one SyncWAL for all waiting threads).
  absl::Status GroupSync();
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  uint64_t synced_seq_ ABSL_GUARDED_BY(sync_mu_) = 0;  // the WAL is durable up to here
  bool syncing_ ABSL_GUARDED_BY(sync_mu_) = false;
};

// Checks a name for use as a directory entry. Errors: kNameTooLong, kInvalid (empty, ".",
// "..", or containing '/' or NUL).
absl::Status ValidateName(absl::string_view name);

}  // namespace cfs::embedded

#endif  // CFS_LIB_BACKENDS_EMBEDDED_EMBEDDED_STORE_H_
