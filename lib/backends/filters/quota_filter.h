// QuotaFilter: enforces and accounts quotas (lib/quota) on every call that changes space or
// files, whichever protocol makes it, and serves the QuotaService.
//
// Placement: outside the attribute cache (its look-ups are cheap there), inside the change
// feed. While no quota is set it forwards every call untouched and counts nothing. The first
// limit makes it count: a scan of the namespace (as root) totals bytes and files per uid, gid
// and export or bucket tree, and from then on each change updates the totals:
// - Write, SetAttr (size, owner), Create: growth is reserved against the hard limits of the
//   file's owner, group and trees before the call goes on (FsError::kQuota when it would pass
//   one), and the real difference (attributes before and after) is charged when it completes.
//   Writes in flight to one file reserve only what each adds past the others, so pipelined
//   writes are not counted twice, and concurrent writers can never pass a hard limit together.
// - Create, MakeDirectory, MakeSymlink, MakeNode reserve and charge one file; Unlink of a last
//   link, RemoveDirectory and a Rename over an entry free theirs (at the unlink: an unlinked file
//   still open keeps its bytes on disk until its last release, but not in the quota).
// - A Rename of a file into other limited trees is charged to them (and may be refused); a
//   Rename of a directory, or a Link, across the boundary of a limited tree fails with
//   FsError::kCrossDevice (as XFS project quotas do: clients copy instead).
// Tree membership: every directory's parent is known (from the scan and every later change), and
// every file's directory is known for files inside limited trees. Deleting a bucket or export
// directory drops its quota. Thread-safe.
//
// Example:
//   auto filter = std::make_unique<QuotaFilter>(std::move(backend), QuotaFilterOptions{exports});
//   CFS_RETURN_IF_ERROR(filter->Configure(options.quotas));  // scans when any are set
//   quota::QuotaService& quotas = *filter;

#ifndef CFS_LIB_BACKENDS_FILTERS_QUOTA_FILTER_H_
#define CFS_LIB_BACKENDS_FILTERS_QUOTA_FILTER_H_

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "lib/auth/export_policy.h"
#include "lib/backends/filters/forwarding_backend.h"
#include "lib/quota/quota.h"
#include "lib/quota/quota_ledger.h"

namespace cfs::filters {

struct QuotaFilterOptions {
  // Export quotas name these; bucket quotas name directories of the first export with
  // s3_buckets.
  std::vector<auth::Export> exports;
};

class QuotaFilter : public ForwardingBackend, public quota::QuotaService {
 public:
  QuotaFilter(backend::BackendPtr next, QuotaFilterOptions options);
  ~QuotaFilter() override;

  // Sets every limit of `settings` and counts usage once if any is set. Blocks (a scan).
  // Errors: as SetQuota, naming the setting.
  absl::Status Configure(const std::vector<quota::QuotaSetting>& settings);

  const quota::QuotaLedger& ledger() const { return ledger_; }

  // The exports changed: export quotas set from now on name these (quotas already set keep
  // their directories).
  void SetExports(std::vector<auth::Export> exports);

  // quota::QuotaService
  absl::Status SetQuota(const quota::QuotaSetting& setting) override;
  absl::Status RemoveQuota(const quota::QuotaSubject& subject) override;
  absl::StatusOr<quota::QuotaReport> GetQuota(const quota::QuotaSubject& subject) const override;
  std::vector<quota::QuotaReport> ListQuotas() const override;
  absl::Status RebuildUsage() override;
  absl::Status CheckGrowth(const backend::Identity& who, backend::InodeNumber dir, uint64_t bytes,
                           uint64_t inodes) const override;

  // Backend
  std::string Describe() const override;
  void SetAttr(const Ctx& c, Ino inode, const backend::SetAttributes& attrs,
               Cb<backend::AttrChange> done) override;
  void Create(const Ctx& c, const backend::CreateRequest& request,
              Cb<backend::EntryResult> done) override;
  void MakeDirectory(const Ctx& c, Ino parent, absl::string_view name,
                     const backend::SetAttributes& attrs, Cb<backend::EntryResult> done) override;
  void MakeSymlink(const Ctx& c, Ino parent, absl::string_view name, absl::string_view target,
                   const backend::SetAttributes& attrs, Cb<backend::EntryResult> done) override;
  void MakeNode(const Ctx& c, Ino parent, absl::string_view name, backend::FileType type,
                uint32_t rdev_major, uint32_t rdev_minor, const backend::SetAttributes& attrs,
                Cb<backend::EntryResult> done) override;
  void Link(const Ctx& c, Ino inode, Ino dir, absl::string_view name,
            Cb<backend::EntryResult> done) override;
  void Unlink(const Ctx& c, Ino dir, absl::string_view name, Cb<backend::DirChange> done) override;
  void RemoveDirectory(const Ctx& c, Ino dir, absl::string_view name,
                       Cb<backend::DirChange> done) override;
  void Rename(const Ctx& c, Ino from_dir, absl::string_view from_name, Ino to_dir,
              absl::string_view to_name, Cb<backend::RenameResult> done) override;
  void Write(const Ctx& c, Ino inode, uint64_t offset, Buffer data, backend::Stability stability,
             Cb<backend::WriteResult> done) override;

 private:
  using Keys = std::vector<quota::QuotaKey>;
  struct Pending {
    uint64_t end = 0;  // the furthest end of the writes in flight
    int count = 0;
  };

  // Create once it is known whether the name exists (`looked_up`; `existing` its attributes).
  void CreateChecked(const Ctx& c, const backend::CreateRequest& request,
                     std::optional<backend::Attributes> existing, bool looked_up,
                     Cb<backend::EntryResult> done);
  // Reserves one file for the entry `name` that `make` creates under `parent` (refused only
  // when the name does not exist yet), and charges it once `make`'s completion succeeds.
  void MakeEntry(const Ctx& c, Ino parent, absl::string_view name,
                 const backend::SetAttributes& attrs,
                 absl::AnyInvocable<void(Cb<backend::EntryResult>) &&> make,
                 Cb<backend::EntryResult> done);
  // The last known attributes of regular files written through the filter (owner, size), so a
  // write needs no look-up. Kept newest by change_id; cleared whole past kMaxKnown entries.
  void Remember(const backend::Attributes& attrs);
  void Forget(Ino inode);
  std::optional<backend::Attributes> Recall(Ino inode) const;
  // A write once the file's attributes are known: reserve, forward, charge.
  void WriteWith(const Ctx& c, const backend::Attributes& attrs, uint64_t offset, Buffer data,
                 backend::Stability stability, Cb<backend::WriteResult> done);
  bool active() const { return active_.load(std::memory_order_acquire); }
  // Sets the (valid, non-empty) limits of `setting`; true when they add a tree to count.
  // Errors: as KeyOf.
  absl::StatusOr<bool> ApplyLimits(const quota::QuotaSetting& setting);
  // The key a subject names (resolving export and bucket paths). Errors: kNotFound.
  absl::StatusOr<quota::QuotaKey> KeyOf(const quota::QuotaSubject& subject) const;
  quota::QuotaReport ReportOf(const quota::QuotaSubject& subject,
                              const quota::QuotaLedger::Entry& entry) const;

  // The limited trees holding directory `dir` (itself included when it is a tree root).
  Keys TreesOf(Ino dir) const;
  // The limited trees holding non-directory `inode` (through its recorded directory).
  Keys TreesOfFile(Ino inode) const;
  // Owner, group and `trees`.
  static Keys KeysOf(const backend::Attributes& attrs, const Keys& trees);
  Keys TreesOfObject(const backend::Attributes& attrs, Ino parent) const;
  void NoteEntry(const backend::Attributes& attrs, Ino parent);
  void ForgetEntry(const backend::Attributes& attrs);
  void DropTreeRoot(Ino dir);
  // Adds a completed change to the ledger (and to the changes counted during a rebuild).
  void Charge(const Keys& keys, int64_t bytes, int64_t inodes);
  // Charges the move of one object's usage from `before_keys` to `after_keys`.
  void ChargeMove(const Keys& before_keys, uint64_t before_bytes, const Keys& after_keys,
                  uint64_t after_bytes);
  // Totals usage by a walk of the namespace. Blocks.
  absl::Status Scan();

  mutable std::mutex mu_;
  // Export names and paths, and the S3 export's root ("" without one).
  std::vector<auth::Export> exports_ ABSL_GUARDED_BY(mu_);
  std::string s3_root_ ABSL_GUARDED_BY(mu_);
  quota::QuotaLedger ledger_;
  std::atomic<bool> active_{false};
  std::mutex rebuild_mu_;  // one scan at a time; held across SetQuota's scans

  std::unordered_map<Ino, Ino> dir_parent_;   // guarded by mu_
  std::unordered_map<Ino, Ino> file_parent_;  // guarded by mu_ (files inside limited trees)
  std::map<Ino, Keys> tree_roots_;            // guarded by mu_
  std::map<quota::QuotaKey, quota::QuotaSubject> subjects_;  // guarded by mu_
  std::unordered_map<Ino, Pending> pending_;                 // guarded by mu_
  static constexpr size_t kMaxKnown = 65536;
  std::unordered_map<Ino, backend::Attributes> known_;             // guarded by mu_
  bool rebuilding_ = false;                                        // guarded by mu_
  std::map<quota::QuotaKey, std::pair<int64_t, int64_t>> during_;  // guarded by mu_
};

}  // namespace cfs::filters

#endif  // CFS_LIB_BACKENDS_FILTERS_QUOTA_FILTER_H_
