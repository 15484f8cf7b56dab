// QuotaLedger: the accounting behind quotas: usage per key, the limits of the keys that have
// them, and reservations of changes in flight.
//
// A key is a kind and a number: a uid, a gid, or the root directory inode of an export or bucket
// tree. A change first reserves its growth against the hard limits of every key it touches
// (usage + reserved + growth must stay within each hard limit, so concurrent writers never pass
// a limit together), then, once the backend has done it, applies its real delta and drops the
// reservation. Crossing a soft limit upwards logs one warning and counts in the stats.
// Thread-safe.
//
// Example:
//   QuotaLedger ledger;
//   ledger.SetLimits({QuotaKind::kUser, 1000}, "user 1000", {.hard_bytes = 1 << 20});
//   absl::StatusOr<QuotaLedger::Reservation> r = ledger.Reserve(keys, 4096, 0);
//   if (!r.ok()) return r.status();  // FsError::kQuota
//   ... the write ...
//   ledger.Apply(keys, bytes_added, 0);  // then r goes out of scope

#ifndef CFS_LIB_QUOTA_QUOTA_LEDGER_H_
#define CFS_LIB_QUOTA_QUOTA_LEDGER_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>  // std::mutex: visible to ThreadSanitizer (Debian's Abseil is not instrumented)
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "lib/quota/quota.h"

namespace cfs::quota {

struct QuotaKey {
  QuotaKind kind = QuotaKind::kUser;
  uint64_t id = 0;  // uid, gid, or the tree's root directory inode

  friend bool operator<(const QuotaKey& a, const QuotaKey& b) {
    return a.kind != b.kind ? a.kind < b.kind : a.id < b.id;
  }
  friend bool operator==(const QuotaKey& a, const QuotaKey& b) {
    return a.kind == b.kind && a.id == b.id;
  }
};

class QuotaLedger {
 public:
  // Growth held against the hard limits until the change completes; released when destroyed.
  // Movable.
  class Reservation {
   public:
    Reservation() = default;
    Reservation(Reservation&& other) noexcept { *this = std::move(other); }
    Reservation& operator=(Reservation&& other) noexcept;
    ~Reservation() { Release(); }
    void Release();

   private:
    friend class QuotaLedger;
    QuotaLedger* ledger_ = nullptr;
    std::vector<QuotaKey> keys_;
    uint64_t bytes_ = 0;
    uint64_t inodes_ = 0;
  };

  struct Stats {
    uint64_t refusals = 0;        // changes refused by a hard limit
    uint64_t soft_crossings = 0;  // times usage rose past a soft limit
  };

  // One key with limits, as ListLimited reports it.
  struct Entry {
    QuotaKey key;
    std::string name;  // "user 1000", "bucket photos"
    QuotaLimits limits;
    QuotaUsage usage;
  };

  QuotaLedger() = default;
  QuotaLedger(const QuotaLedger&) = delete;
  QuotaLedger& operator=(const QuotaLedger&) = delete;

  // Sets the limits of `key` (`name` is what messages call it); empty limits remove them.
  void SetLimits(const QuotaKey& key, std::string name, const QuotaLimits& limits);
  void RemoveLimits(const QuotaKey& key);
  // Whether any key has limits (callers skip all accounting while none does).
  bool HasLimits() const { return limited_.load(std::memory_order_acquire) > 0; }
  bool HasLimits(const QuotaKey& key) const;

  // Reserves `bytes` and `inodes` of growth on every key. Errors: FsError::kQuota naming the
  // first key whose hard limit the growth would pass (nothing is reserved then).
  absl::StatusOr<Reservation> Reserve(const std::vector<QuotaKey>& keys, uint64_t bytes,
                                      uint64_t inodes);
  // As Reserve, without holding anything.
  absl::Status Check(const std::vector<QuotaKey>& keys, uint64_t bytes, uint64_t inodes) const;

  // Adds a completed change (negative: space freed) to every key's usage (never below 0).
  void Apply(const std::vector<QuotaKey>& keys, int64_t bytes, int64_t inodes);

  // Replaces all usage with a recount (rebuilds). Reservations in flight are kept.
  void ReplaceUsage(std::map<QuotaKey, QuotaUsage> counted);

  QuotaUsage Usage(const QuotaKey& key) const;
  std::optional<Entry> Get(const QuotaKey& key) const;
  std::vector<Entry> ListLimited() const;
  Stats stats() const;

 private:
  struct Account {
    QuotaUsage usage;
    uint64_t reserved_bytes = 0;
    uint64_t reserved_inodes = 0;
    std::optional<QuotaLimits> limits;
    std::string name;
  };

  absl::Status CheckLocked(const std::vector<QuotaKey>& keys, uint64_t bytes, uint64_t inodes) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReleaseReservation(const std::vector<QuotaKey>& keys, uint64_t bytes, uint64_t inodes);

  mutable std::mutex mu_;
  std::map<QuotaKey, Account> accounts_ ABSL_GUARDED_BY(mu_);
  std::atomic<int> limited_{0};  // keys with limits
  mutable std::atomic<uint64_t> refusals_{0};
  std::atomic<uint64_t> soft_crossings_{0};
};

}  // namespace cfs::quota

#endif  // CFS_LIB_QUOTA_QUOTA_LEDGER_H_
