// Clock: where resilience code reads the time, so tests can move it by hand.
//
// Example:
//   ManualClock clock(absl::UnixEpoch());
//   CircuitBreaker breaker("node-1", {}, &clock);
//   clock.Advance(absl::Seconds(30));

#ifndef CFS_LIB_RESILIENCE_CLOCK_H_
#define CFS_LIB_RESILIENCE_CLOCK_H_

#include <mutex>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace cfs::resilience {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
  // The process's real clock. Thread-safe.
  static Clock& Real();
};

// A clock that moves only when told. Thread-safe.
class ManualClock : public Clock {
 public:
  explicit ManualClock(absl::Time start) : now_(start) {}
  absl::Time Now() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ += d;
  }

 private:
  mutable std::mutex mu_;
  absl::Time now_;
};

}  // namespace cfs::resilience

#endif  // CFS_LIB_RESILIENCE_CLOCK_H_
