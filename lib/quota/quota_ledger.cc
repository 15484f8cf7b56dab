#include "lib/quota/quota_ledger.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/backend/errors.h"
#include "lib/common/logging.h"

namespace cfs::quota {
namespace {

uint64_t AddClamped(uint64_t value, int64_t delta) {
  if (delta >= 0) return value + static_cast<uint64_t>(delta);
  uint64_t down = static_cast<uint64_t>(-(delta + 1)) + 1;
  return down > value ? 0 : value - down;
}

}  // namespace

QuotaLedger::Reservation& QuotaLedger::Reservation::operator=(Reservation&& other) noexcept {
  if (this != &other) {
    Release();
    ledger_ = std::exchange(other.ledger_, nullptr);
    keys_ = std::move(other.keys_);
    bytes_ = other.bytes_;
    inodes_ = other.inodes_;
  }
  return *this;
}

void QuotaLedger::Reservation::Release() {
  if (ledger_ == nullptr) return;
  std::exchange(ledger_, nullptr)->ReleaseReservation(keys_, bytes_, inodes_);
  keys_.clear();
}

void QuotaLedger::SetLimits(const QuotaKey& key, std::string name, const QuotaLimits& limits) {
  if (limits.empty()) {
    RemoveLimits(key);
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  Account& account = accounts_[key];
  if (!account.limits.has_value()) limited_.fetch_add(1, std::memory_order_release);
  account.limits = limits;
  account.name = std::move(name);
}

void QuotaLedger::RemoveLimits(const QuotaKey& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = accounts_.find(key);
  if (it == accounts_.end() || !it->second.limits.has_value()) return;
  it->second.limits.reset();
  limited_.fetch_sub(1, std::memory_order_release);
}

bool QuotaLedger::HasLimits(const QuotaKey& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = accounts_.find(key);
  return it != accounts_.end() && it->second.limits.has_value();
}

absl::Status QuotaLedger::CheckLocked(const std::vector<QuotaKey>& keys, uint64_t bytes,
                                      uint64_t inodes) const {
  if (bytes == 0 && inodes == 0) return absl::OkStatus();
  for (const QuotaKey& key : keys) {
    auto it = accounts_.find(key);
    if (it == accounts_.end() || !it->second.limits.has_value()) continue;
    const Account& a = it->second;
    const QuotaLimits& l = *a.limits;
    if (bytes > 0 && l.hard_bytes != 0 && a.usage.bytes + a.reserved_bytes + bytes > l.hard_bytes) {
      refusals_.fetch_add(1, std::memory_order_relaxed);
      return backend::FsErrorStatus(
          backend::FsError::kQuota,
          absl::StrCat("quota of ", a.name, ": ", bytes,
                       " more bytes would pass the hard limit of ", l.hard_bytes, " (",
                       a.usage.bytes, " used, ", a.reserved_bytes, " being written)"));
    }
    if (inodes > 0 && l.hard_inodes != 0 &&
        a.usage.inodes + a.reserved_inodes + inodes > l.hard_inodes) {
      refusals_.fetch_add(1, std::memory_order_relaxed);
      return backend::FsErrorStatus(
          backend::FsError::kQuota,
          absl::StrCat("quota of ", a.name, ": the hard limit of ", l.hard_inodes,
                       " files is reached (", a.usage.inodes, " used)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<QuotaLedger::Reservation> QuotaLedger::Reserve(const std::vector<QuotaKey>& keys,
                                                              uint64_t bytes, uint64_t inodes) {
  Reservation reservation;
  if (bytes == 0 && inodes == 0) return reservation;
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status allowed = CheckLocked(keys, bytes, inodes);
  if (!allowed.ok()) return allowed;
  for (const QuotaKey& key : keys) {
    auto it = accounts_.find(key);
    if (it == accounts_.end() || !it->second.limits.has_value()) continue;
    it->second.reserved_bytes += bytes;
    it->second.reserved_inodes += inodes;
    reservation.keys_.push_back(key);
  }
  if (!reservation.keys_.empty()) {
    reservation.ledger_ = this;
    reservation.bytes_ = bytes;
    reservation.inodes_ = inodes;
  }
  return reservation;
}

absl::Status QuotaLedger::Check(const std::vector<QuotaKey>& keys, uint64_t bytes,
                                uint64_t inodes) const {
  std::lock_guard<std::mutex> lock(mu_);
  return CheckLocked(keys, bytes, inodes);
}

void QuotaLedger::ReleaseReservation(const std::vector<QuotaKey>& keys, uint64_t bytes,
                                     uint64_t inodes) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const QuotaKey& key : keys) {
    auto it = accounts_.find(key);
    if (it == accounts_.end()) continue;
    Account& a = it->second;
    a.reserved_bytes -= std::min(a.reserved_bytes, bytes);
    a.reserved_inodes -= std::min(a.reserved_inodes, inodes);
  }
}

void QuotaLedger::Apply(const std::vector<QuotaKey>& keys, int64_t bytes, int64_t inodes) {
  if (bytes == 0 && inodes == 0) return;
  std::vector<std::string> crossed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const QuotaKey& key : keys) {
      Account& a = accounts_[key];
      QuotaUsage before = a.usage;
      a.usage.bytes = AddClamped(a.usage.bytes, bytes);
      a.usage.inodes = AddClamped(a.usage.inodes, inodes);
      if (!a.limits.has_value()) continue;
      const QuotaLimits& l = *a.limits;
      if (l.soft_bytes != 0 && before.bytes <= l.soft_bytes && a.usage.bytes > l.soft_bytes) {
        crossed.push_back(absl::StrCat(a.name, " passed its soft limit of ", l.soft_bytes,
                                       " bytes (", a.usage.bytes, " used)"));
      }
      if (l.soft_inodes != 0 && before.inodes <= l.soft_inodes && a.usage.inodes > l.soft_inodes) {
        crossed.push_back(absl::StrCat(a.name, " passed its soft limit of ", l.soft_inodes,
                                       " files (", a.usage.inodes, " used)"));
      }
    }
  }
  for (const std::string& line : crossed) {
    soft_crossings_.fetch_add(1, std::memory_order_relaxed);
    CFS_LOG(WARNING, "quota") << line;
  }
}

void QuotaLedger::ReplaceUsage(std::map<QuotaKey, QuotaUsage> counted) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [key, account] : accounts_) {
    auto it = counted.find(key);
    account.usage = it == counted.end() ? QuotaUsage{} : it->second;
  }
  for (auto& [key, usage] : counted) {
    if (accounts_.count(key) == 0) accounts_[key].usage = usage;
  }
}

QuotaUsage QuotaLedger::Usage(const QuotaKey& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = accounts_.find(key);
  return it == accounts_.end() ? QuotaUsage{} : it->second.usage;
}

std::optional<QuotaLedger::Entry> QuotaLedger::Get(const QuotaKey& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = accounts_.find(key);
  if (it == accounts_.end() || !it->second.limits.has_value()) return std::nullopt;
  return Entry{key, it->second.name, *it->second.limits, it->second.usage};
}

std::vector<QuotaLedger::Entry> QuotaLedger::ListLimited() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Entry> out;
  for (const auto& [key, a] : accounts_) {
    if (a.limits.has_value()) out.push_back(Entry{key, a.name, *a.limits, a.usage});
  }
  return out;
}

QuotaLedger::Stats QuotaLedger::stats() const {
  return Stats{refusals_.load(std::memory_order_relaxed),
               soft_crossings_.load(std::memory_order_relaxed)};
}

}  // namespace cfs::quota
