// CircuitBreaker: stops calling a backend node that keeps failing, so requests to it fail fast
// (kUnavailable) instead of each waiting out its timeout, and probes it again later.
//
// Closed: calls pass; `failure_threshold` consecutive failures open the circuit. Open: calls
// are refused at once for `open_duration`, then the circuit is half-open. Half-open: calls pass
// as probes; `success_threshold` consecutive successes close it, one failure opens it again.
// Only failures of the node itself count (the caller decides: unreachable, timed out), never a
// file-system answer such as "no such file". CircuitBreakerRegistry hands out one breaker per
// name (GetOrCreate) and lists their states for metrics. Thread-safe.
//
// Example:
//   std::shared_ptr<CircuitBreaker> b = registry.GetOrCreate("a4:10.0.0.2:7100");
//   if (absl::Status s = b->Allow(); !s.ok()) return s;  // open: kUnavailable at once
//   ... call ...; ok ? b->RecordSuccess() : b->RecordFailure();

#ifndef CFS_LIB_RESILIENCE_CIRCUIT_BREAKER_H_
#define CFS_LIB_RESILIENCE_CIRCUIT_BREAKER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/resilience/clock.h"

namespace cfs::resilience {

// The documented defaults (docs/architecture.md).
struct CircuitBreakerOptions {
  int failure_threshold = 5;
  int success_threshold = 2;
  absl::Duration open_duration = absl::Seconds(30);
  absl::Duration operation_timeout = absl::Seconds(5);
};

class CircuitBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };

  CircuitBreaker(std::string name, CircuitBreakerOptions options, Clock* clock = &Clock::Real());

  // OK when a call may go ahead; kUnavailable (naming the breaker) while open.
  absl::Status Allow();
  void RecordSuccess();
  void RecordFailure();

  State state() const;
  const std::string& name() const { return name_; }
  const CircuitBreakerOptions& options() const { return options_; }
  // How often the circuit opened, and calls refused while open (for metrics).
  uint64_t times_opened() const;
  uint64_t calls_refused() const;

  // True for the errors that say the node itself failed (kUnavailable, kDeadlineExceeded).
  static bool IsNodeFailure(const absl::Status& status);

 private:
  void OpenLocked();

  const std::string name_;
  const CircuitBreakerOptions options_;
  Clock* const clock_;
  mutable std::mutex mu_;
  State state_ = State::kClosed;  // guarded by mu_
  int consecutive_failures_ = 0;  // guarded by mu_
  int consecutive_successes_ = 0;
  absl::Time opened_at_;
  uint64_t times_opened_ = 0;
  uint64_t calls_refused_ = 0;
};

absl::string_view StateName(CircuitBreaker::State state);

class CircuitBreakerRegistry {
 public:
  explicit CircuitBreakerRegistry(CircuitBreakerOptions options = {}, Clock* clock = &Clock::Real())
      : options_(options), clock_(clock) {}

  // The breaker called `name`, made on first use.
  std::shared_ptr<CircuitBreaker> GetOrCreate(const std::string& name);

  struct Entry {
    std::string name;
    CircuitBreaker::State state;
    uint64_t times_opened;
    uint64_t calls_refused;
  };
  std::vector<Entry> Snapshot() const;

 private:
  const CircuitBreakerOptions options_;
  Clock* const clock_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<CircuitBreaker>> breakers_;  // guarded by mu_
};

}  // namespace cfs::resilience

#endif  // CFS_LIB_RESILIENCE_CIRCUIT_BREAKER_H_
