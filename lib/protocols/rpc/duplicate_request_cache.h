// DuplicateRequestCache: replays the original reply to a retransmitted non-idempotent call.
//
// Clients retransmit a CREATE, REMOVE or RENAME when a reply is lost, often on a new connection;
// executing it twice would turn success into EEXIST/ENOENT. Entries are keyed by client address,
// xid, program, version, procedure and a hash of the arguments, bounded in count (oldest evicted
// first). Thread-safe.
//
// Example:
//   switch (cache.Begin(key, &cached)) {
//     case Lookup::kNew: run the call, then cache.Finish(key, reply); break;
//     case Lookup::kReplay: send(cached); break;
//     case Lookup::kInProgress: drop it; the first execution will answer; break;
//   }

#ifndef CFS_LIB_PROTOCOLS_RPC_DUPLICATE_REQUEST_CACHE_H_
#define CFS_LIB_PROTOCOLS_RPC_DUPLICATE_REQUEST_CACHE_H_

#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "absl/strings/string_view.h"

namespace cfs::rpc {

struct RequestKey {
  std::string client;
  uint32_t xid = 0;
  uint32_t program = 0;
  uint32_t version = 0;
  uint32_t procedure = 0;
  uint64_t args_hash = 0;

  friend bool operator<(const RequestKey& a, const RequestKey& b) {
    return std::tie(a.client, a.xid, a.program, a.version, a.procedure, a.args_hash) <
           std::tie(b.client, b.xid, b.program, b.version, b.procedure, b.args_hash);
  }
};

class DuplicateRequestCache {
 public:
  enum class Lookup { kNew, kInProgress, kReplay };

  explicit DuplicateRequestCache(size_t capacity = 8192) : capacity_(capacity) {}

  // Registers `key` as in progress (kNew) or reports a duplicate; kReplay fills `reply`.
  Lookup Begin(const RequestKey& key, std::string* reply);
  // Stores the reply of a call begun with kNew.
  void Finish(const RequestKey& key, std::string reply);

  static uint64_t Hash(absl::string_view args);
  size_t size() const;

 private:
  struct Entry {
    bool done = false;
    std::string reply;
    std::list<RequestKey>::iterator age;
  };
  const size_t capacity_;
  mutable std::mutex mu_;
  std::map<RequestKey, Entry> entries_;  // guarded by mu_
  std::list<RequestKey> by_age_;         // oldest first; guarded by mu_
};

}  // namespace cfs::rpc

#endif  // CFS_LIB_PROTOCOLS_RPC_DUPLICATE_REQUEST_CACHE_H_
