#include "lib/protocols/rpc/duplicate_request_cache.h"

namespace cfs::rpc {

DuplicateRequestCache::Lookup DuplicateRequestCache::Begin(const RequestKey& key,
                                                           std::string* reply) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    if (!it->second.done) return Lookup::kInProgress;
    *reply = it->second.reply;
    return Lookup::kReplay;
  }
  while (entries_.size() >= capacity_ && !by_age_.empty()) {
    entries_.erase(by_age_.front());
    by_age_.pop_front();
  }
  by_age_.push_back(key);
  Entry entry;
  entry.age = std::prev(by_age_.end());
  entries_.emplace(key, std::move(entry));
  return Lookup::kNew;
}

void DuplicateRequestCache::Finish(const RequestKey& key, std::string reply) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return;  // evicted meanwhile
  it->second.done = true;
  it->second.reply = std::move(reply);
}

uint64_t DuplicateRequestCache::Hash(absl::string_view args) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char c : args) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

size_t DuplicateRequestCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

}  // namespace cfs::rpc
