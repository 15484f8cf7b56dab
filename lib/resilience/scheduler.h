// Scheduler: one thread that runs tasks at given times (retries after a backoff, periodic pool
// maintenance). Tasks must be short; they run on the scheduler's thread. Thread-safe.
//
// Example:
//   Scheduler scheduler;
//   scheduler.RunAt(absl::Now() + absl::Milliseconds(50), [] { Retry(); });

#ifndef CFS_LIB_RESILIENCE_SCHEDULER_H_
#define CFS_LIB_RESILIENCE_SCHEDULER_H_

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace cfs::resilience {

class Scheduler {
 public:
  Scheduler();
  ~Scheduler();  // drops tasks not yet due

  void RunAt(absl::Time when, absl::AnyInvocable<void() &&> task);
  void RunAfter(absl::Duration delay, absl::AnyInvocable<void() &&> task) {
    RunAt(absl::Now() + delay, std::move(task));
  }

 private:
  void Loop();

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  uint64_t seq_ = 0;       // guarded by mu_
  std::map<std::pair<absl::Time, uint64_t>, absl::AnyInvocable<void() &&>> tasks_;  // by mu_
  std::thread thread_;
};

}  // namespace cfs::resilience

#endif  // CFS_LIB_RESILIENCE_SCHEDULER_H_
