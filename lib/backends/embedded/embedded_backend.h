// EmbeddedBackend: the persistent single-node store that `cfs-gateway` serves by default.
//
// Metadata (inodes, directory entries with stable readdir cookies, xattrs, counters) lives in
// RocksDB and every namespace change is one atomic write batch. File bytes live in an
// ExtentStore (one sparse file per inode). Stability: unstable writes may sit in the page cache;
// data-sync, file-sync and Commit fdatasync the data and sync RocksDB's log before they answer.
// The write verifier changes on every start. On start, inodes unlinked while open are reclaimed
// and, after an unclean stop, the invariants (nlink = entries, no entry to a missing inode, no
// file data past the recorded size) are checked and repaired.
//
// Blocking work runs on a bounded thread pool; callbacks run on its threads. Thread-safe.
// Namespace changes are serialised by one lock, which is what makes rename atomic.
//
// Example:
//   EmbeddedBackendOptions options;
//   options.data_dir = "/var/lib/cfs";
//   absl::StatusOr<std::unique_ptr<EmbeddedBackend>> backend = EmbeddedBackend::Open(options);

#ifndef CFS_LIB_BACKENDS_EMBEDDED_EMBEDDED_BACKEND_H_
#define CFS_LIB_BACKENDS_EMBEDDED_EMBEDDED_BACKEND_H_

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "lib/backend/backend.h"
#include "lib/backends/embedded/embedded_store.h"
#include "lib/common/thread_pool.h"

namespace cfs::embedded {

class EmbeddedBackend : public backend::Backend {
 public:
  // Opens (creating on first use) the store in options.data_dir and recovers it.
  // Errors: kInvalidArgument (no data_dir), kFailedPrecondition (another process holds the
  // store), kDataLoss (corrupt metadata), errno-derived errors from the file system.
  static absl::StatusOr<std::unique_ptr<EmbeddedBackend>> Open(
      const EmbeddedBackendOptions& options);
  ~EmbeddedBackend() override;

  const RecoveryReport& recovery_report() const;

  // Invariant violations of the stored namespace (empty when consistent). For tests and fsck.
  std::vector<std::string> CheckInvariants();

  // backend::Backend
  std::string Describe() const override;
  absl::Status Health() const override;
  absl::Status Shutdown(absl::Time deadline) override;

  // backend::MetadataService
  void Lookup(const backend::RequestContext& ctx, backend::InodeNumber dir, absl::string_view name,
              backend::Callback<backend::Attributes> done) override;
  void GetAttr(const backend::RequestContext& ctx, backend::InodeNumber inode,
               backend::Callback<backend::Attributes> done) override;
  void SetAttr(const backend::RequestContext& ctx, backend::InodeNumber inode,
               const backend::SetAttributes& attrs,
               backend::Callback<backend::AttrChange> done) override;
  void Access(const backend::RequestContext& ctx, backend::InodeNumber inode, uint32_t requested,
              backend::Callback<uint32_t> done) override;
  void Create(const backend::RequestContext& ctx, const backend::CreateRequest& request,
              backend::Callback<backend::EntryResult> done) override;
  void MakeDirectory(const backend::RequestContext& ctx, backend::InodeNumber parent,
                     absl::string_view name, const backend::SetAttributes& attrs,
                     backend::Callback<backend::EntryResult> done) override;
  void MakeSymlink(const backend::RequestContext& ctx, backend::InodeNumber parent,
                   absl::string_view name, absl::string_view target,
                   const backend::SetAttributes& attrs,
                   backend::Callback<backend::EntryResult> done) override;
  void MakeNode(const backend::RequestContext& ctx, backend::InodeNumber parent,
                absl::string_view name, backend::FileType type, uint32_t rdev_major,
                uint32_t rdev_minor, const backend::SetAttributes& attrs,
                backend::Callback<backend::EntryResult> done) override;
  void ReadLink(const backend::RequestContext& ctx, backend::InodeNumber inode,
                backend::Callback<std::string> done) override;
  void Link(const backend::RequestContext& ctx, backend::InodeNumber inode,
            backend::InodeNumber dir, absl::string_view name,
            backend::Callback<backend::EntryResult> done) override;
  void Unlink(const backend::RequestContext& ctx, backend::InodeNumber dir, absl::string_view name,
              backend::Callback<backend::DirChange> done) override;
  void RemoveDirectory(const backend::RequestContext& ctx, backend::InodeNumber dir,
                       absl::string_view name, backend::Callback<backend::DirChange> done) override;
  void Rename(const backend::RequestContext& ctx, backend::InodeNumber from_dir,
              absl::string_view from_name, backend::InodeNumber to_dir, absl::string_view to_name,
              backend::Callback<backend::RenameResult> done) override;
  void ReadDir(const backend::RequestContext& ctx, backend::InodeNumber dir, uint64_t cookie,
               uint64_t verifier, size_t max_entries, bool with_attributes,
               backend::Callback<backend::ReadDirResult> done) override;
  void FsStat(const backend::RequestContext& ctx, backend::InodeNumber inode,
              backend::Callback<backend::FsStatResult> done) override;
  void GetXattr(const backend::RequestContext& ctx, backend::InodeNumber inode,
                absl::string_view name, backend::Callback<std::string> done) override;
  void SetXattr(const backend::RequestContext& ctx, backend::InodeNumber inode,
                absl::string_view name, absl::string_view value, backend::XattrSetMode mode,
                backend::Callback<backend::Done> done) override;
  void ListXattrs(const backend::RequestContext& ctx, backend::InodeNumber inode,
                  backend::Callback<std::vector<std::string>> done) override;
  void RemoveXattr(const backend::RequestContext& ctx, backend::InodeNumber inode,
                   absl::string_view name, backend::Callback<backend::Done> done) override;
  void GetExtentMap(const backend::RequestContext& ctx, backend::InodeNumber inode, uint64_t offset,
                    uint64_t length, backend::Callback<std::vector<backend::Extent>> done) override;
  void Open(const backend::RequestContext& ctx, backend::InodeNumber inode,
            backend::Callback<backend::Done> done) override;
  void Release(const backend::RequestContext& ctx, backend::InodeNumber inode,
               backend::Callback<backend::Done> done) override;

  // backend::DataService
  void Read(const backend::RequestContext& ctx, backend::InodeNumber inode, uint64_t offset,
            uint64_t count, backend::Callback<backend::ReadResult> done) override;
  void Write(const backend::RequestContext& ctx, backend::InodeNumber inode, uint64_t offset,
             Buffer data, backend::Stability stability,
             backend::Callback<backend::WriteResult> done) override;
  void Commit(const backend::RequestContext& ctx, backend::InodeNumber inode, uint64_t offset,
              uint64_t count, backend::Callback<backend::CommitResult> done) override;
  backend::WriteVerifier CurrentWriteVerifier() const override;

 private:
  EmbeddedBackend(std::unique_ptr<EmbeddedStore> store, const EmbeddedBackendOptions& options);

  // Runs `work` on the pool unless shut down or past the deadline, then completes `done`.
  template <typename T, typename Work>
  void Run(const backend::RequestContext& ctx, backend::Callback<T> done, Work work);

  // Tries `try_work` (cache-only) on the caller's thread first; runs `work` on the pool when it
  // would block.
  template <typename T, typename TryWork, typename Work>
  void RunCachedOrQueue(const backend::RequestContext& ctx, backend::Callback<T> done,
                        TryWork try_work, Work work);

  // Counts a call in flight; false (and nothing counted) once shut down.
  bool BeginCall();
  // Marks the end of a call counted by BeginCall().
  void EndCall();

  std::unique_ptr<EmbeddedStore> store_;
  const std::string data_dir_;
  const bool inline_cached_reads_;
  const uint64_t max_inline_read_bytes_;
  ThreadPool pool_;
  std::atomic<bool> shut_down_{false};
  // Calls accepted and not yet finished; Shutdown waits for zero before closing the store.
  std::mutex in_flight_mu_;
  std::condition_variable in_flight_done_;
  int in_flight_ ABSL_GUARDED_BY(in_flight_mu_) = 0;
};

}  // namespace cfs::embedded

#endif  // CFS_LIB_BACKENDS_EMBEDDED_EMBEDDED_BACKEND_H_
