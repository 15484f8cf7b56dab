// Quotas: soft and hard limits on bytes and inodes per user, group, export and S3 bucket, and
// the QuotaService that protocols and the control plane use to read and change them.
//
// Usage counts the logical size of regular files (bytes) and every file, directory, symlink and
// node (inodes), charged to the file's owner (uid), its group (gid) and every export and bucket
// directory it lies in. A hard limit refuses the change that would pass it (FsError::kQuota:
// NFS3ERR_DQUOT, S3 403 QuotaExceeded, SMB STATUS_DISK_FULL); a soft limit only warns (a log
// line when it is crossed and a metric).
//
// Example:
//   QuotaSetting s{.subject = {QuotaKind::kUser, "1000"}, .limits = {.hard_bytes = 1 << 30}};
//   CFS_RETURN_IF_ERROR(service.SetQuota(s));
//   for (const QuotaReport& r : service.ListQuotas()) ...

#ifndef CFS_LIB_QUOTA_QUOTA_H_
#define CFS_LIB_QUOTA_QUOTA_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/backend/types.h"

namespace cfs::quota {

enum class QuotaKind : uint8_t { kUser, kGroup, kExport, kBucket };

// "user", "group", "export", "bucket".
absl::string_view QuotaKindName(QuotaKind kind);
// Errors: kInvalidArgument naming the text.
absl::StatusOr<QuotaKind> ParseQuotaKind(absl::string_view text);

// Whom a quota limits: a uid or gid in decimal, an export's name or a bucket's name.
struct QuotaSubject {
  QuotaKind kind = QuotaKind::kUser;
  std::string name;

  std::string ToString() const;  // "user:1000", "bucket:photos"
  friend bool operator<(const QuotaSubject& a, const QuotaSubject& b) {
    return a.kind != b.kind ? a.kind < b.kind : a.name < b.name;
  }
  friend bool operator==(const QuotaSubject& a, const QuotaSubject& b) {
    return a.kind == b.kind && a.name == b.name;
  }
};

// 0 means no limit of that kind.
struct QuotaLimits {
  uint64_t soft_bytes = 0;
  uint64_t hard_bytes = 0;
  uint64_t soft_inodes = 0;
  uint64_t hard_inodes = 0;

  bool empty() const {
    return soft_bytes == 0 && hard_bytes == 0 && soft_inodes == 0 && hard_inodes == 0;
  }
};

struct QuotaSetting {
  QuotaSubject subject;
  QuotaLimits limits;
};

// Checks a setting's own fields (a numeric uid/gid, a soft limit not above its hard limit).
// Errors: kInvalidArgument naming the subject and the field.
absl::Status ValidateQuotaSetting(const QuotaSetting& setting);

struct QuotaUsage {
  uint64_t bytes = 0;
  uint64_t inodes = 0;
};

struct QuotaReport {
  QuotaSetting setting;
  QuotaUsage usage;
  bool soft_exceeded = false;  // usage above a soft limit (bytes or inodes)
  bool hard_reached = false;   // usage at or above a hard limit
};

// What the gateway's quota filter offers to protocols and the control plane. Thread-safe.
class QuotaService {
 public:
  virtual ~QuotaService() = default;

  // Sets (or replaces) the limits of a subject; limits with every field 0 remove it. The
  // first limit set makes the service count usage (a scan of the namespace). Errors:
  // kInvalidArgument (ValidateQuotaSetting), kNotFound (no such export or bucket).
  virtual absl::Status SetQuota(const QuotaSetting& setting) = 0;

  // Errors: kNotFound (the subject has no limits).
  virtual absl::Status RemoveQuota(const QuotaSubject& subject) = 0;

  // The limits of `subject` with its current usage. Errors: kNotFound (no limits).
  virtual absl::StatusOr<QuotaReport> GetQuota(const QuotaSubject& subject) const = 0;

  // Every subject with limits, in subject order.
  virtual std::vector<QuotaReport> ListQuotas() const = 0;

  // Recounts usage by a scan of the namespace (exact when nothing writes meanwhile; changes
  // made during the scan are counted once they complete). Blocks until done.
  virtual absl::Status RebuildUsage() = 0;

  // Whether `who` may add `bytes` and `inodes` under directory `dir` now (a protocol's early
  // check, e.g. an S3 PUT's Content-Length): the hard limits of the caller's user and group and
  // of every export and bucket holding `dir`. Errors: FsError::kQuota naming the subject.
  virtual absl::Status CheckGrowth(const backend::Identity& who, backend::InodeNumber dir,
                                   uint64_t bytes, uint64_t inodes) const = 0;
};

}  // namespace cfs::quota

#endif  // CFS_LIB_QUOTA_QUOTA_H_
