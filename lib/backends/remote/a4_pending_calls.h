// A4PendingCalls: the calls an A4 connection has sent and not yet had answered, shared by every
// transport: request ids, deadlines, completion by id, failing them all when the connection
// breaks. Thread-safe; completions run outside the lock, on the thread that triggers them.
//
// Example:
//   absl::StatusOr<uint64_t> id = pending.Add(deadline, std::move(done), keep_alive);
//   if (!id.ok()) return;                    // already broken: `done` has run
//   ... on a response ...  pending.Complete(response_id, std::move(reply));

#ifndef CFS_LIB_BACKENDS_REMOTE_A4_PENDING_CALLS_H_
#define CFS_LIB_BACKENDS_REMOTE_A4_PENDING_CALLS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "lib/backends/remote/a4_channel.h"

namespace cfs::remote {

class A4PendingCalls {
 public:
  // Registers a call and returns its request id; when the connection is already broken, runs
  // `done` with kUnavailable and returns that error instead. `keep_alive` is held until the
  // call completes.
  absl::StatusOr<uint64_t> Add(absl::Time deadline, A4Done done,
                               std::shared_ptr<const void> keep_alive = nullptr);
  // Completes call `id` with `reply`; false when no such call waits (it expired meanwhile).
  bool Complete(uint64_t id, absl::StatusOr<A4Reply> reply);
  // Marks the connection broken and fails every waiting call with `why`. True the first time.
  bool Break(const absl::Status& why);
  // Fails the calls whose deadline is at or before `now` with kDeadlineExceeded.
  void ExpireOverdue(absl::Time now);

  bool broken() const;
  size_t size() const;

 private:
  struct Call {
    absl::Time deadline;
    A4Done done;
    std::shared_ptr<const void> keep_alive;
  };
  mutable std::mutex mu_;
  bool broken_ = false;             // guarded by mu_
  uint64_t next_id_ = 1;            // guarded by mu_
  std::map<uint64_t, Call> calls_;  // guarded by mu_
};

}  // namespace cfs::remote

#endif  // CFS_LIB_BACKENDS_REMOTE_A4_PENDING_CALLS_H_
