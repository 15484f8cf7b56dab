#include "lib/backends/remote/a4_pending_calls.h"

#include <utility>

namespace cfs::remote {

absl::StatusOr<uint64_t> A4PendingCalls::Add(absl::Time deadline, A4Done done,
                                             std::shared_ptr<const void> keep_alive) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!broken_) {
      uint64_t id = next_id_++;
      calls_.emplace(id, Call{deadline, std::move(done), std::move(keep_alive)});
      return id;
    }
  }
  absl::Status closed = absl::UnavailableError("A4 connection is closed");
  std::move(done)(closed);
  return closed;
}

bool A4PendingCalls::Complete(uint64_t id, absl::StatusOr<A4Reply> reply) {
  Call call;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = calls_.find(id);
    if (it == calls_.end()) return false;
    call = std::move(it->second);
    calls_.erase(it);
  }
  std::move(call.done)(std::move(reply));
  return true;
}

bool A4PendingCalls::Break(const absl::Status& why) {
  std::map<uint64_t, Call> failed;
  bool first;
  {
    std::lock_guard<std::mutex> lock(mu_);
    first = !broken_;
    broken_ = true;
    failed.swap(calls_);
  }
  for (auto& [id, call] : failed) std::move(call.done)(why);
  return first;
}

void A4PendingCalls::ExpireOverdue(absl::Time now) {
  std::vector<Call> overdue;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = calls_.begin(); it != calls_.end();) {
      if (it->second.deadline <= now) {
        overdue.push_back(std::move(it->second));
        it = calls_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (Call& call : overdue) {
    std::move(call.done)(absl::DeadlineExceededError("no A4 response before the deadline"));
  }
}

bool A4PendingCalls::broken() const {
  std::lock_guard<std::mutex> lock(mu_);
  return broken_;
}

size_t A4PendingCalls::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_.size();
}

}  // namespace cfs::remote
