#include "lib/resilience/circuit_breaker.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace cfs::resilience {

namespace {
class RealClock : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};
}  // namespace

Clock& Clock::Real() {
  static RealClock* clock = new RealClock();
  return *clock;
}

CircuitBreaker::CircuitBreaker(std::string name, CircuitBreakerOptions options, Clock* clock)
    : name_(std::move(name)), options_(options), clock_(clock) {}

absl::Status CircuitBreaker::Allow() {
  std::lock_guard<std::mutex> lock(mu_);
  if (state_ == State::kOpen) {
    if (clock_->Now() - opened_at_ < options_.open_duration) {
      ++calls_refused_;
      return absl::UnavailableError(absl::StrCat("circuit open for ", name_));
    }
    state_ = State::kHalfOpen;
    consecutive_successes_ = 0;
  }
  return absl::OkStatus();
}

void CircuitBreaker::RecordSuccess() {
  std::lock_guard<std::mutex> lock(mu_);
  consecutive_failures_ = 0;
  if (state_ == State::kHalfOpen && ++consecutive_successes_ >= options_.success_threshold) {
    state_ = State::kClosed;
  }
}

void CircuitBreaker::RecordFailure() {
  std::lock_guard<std::mutex> lock(mu_);
  consecutive_successes_ = 0;
  if (state_ == State::kHalfOpen) {
    OpenLocked();
    return;
  }
  if (state_ == State::kClosed && ++consecutive_failures_ >= options_.failure_threshold) {
    OpenLocked();
  }
}

void CircuitBreaker::OpenLocked() {
  state_ = State::kOpen;
  opened_at_ = clock_->Now();
  consecutive_failures_ = 0;
  ++times_opened_;
}

CircuitBreaker::State CircuitBreaker::state() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_;
}

uint64_t CircuitBreaker::times_opened() const {
  std::lock_guard<std::mutex> lock(mu_);
  return times_opened_;
}

uint64_t CircuitBreaker::calls_refused() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_refused_;
}

bool CircuitBreaker::IsNodeFailure(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable ||
         status.code() == absl::StatusCode::kDeadlineExceeded;
}

absl::string_view StateName(CircuitBreaker::State state) {
  switch (state) {
    case CircuitBreaker::State::kClosed:
      return "closed";
    case CircuitBreaker::State::kOpen:
      return "open";
    case CircuitBreaker::State::kHalfOpen:
      return "half_open";
  }
  return "unknown";
}

std::shared_ptr<CircuitBreaker> CircuitBreakerRegistry::GetOrCreate(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  std::shared_ptr<CircuitBreaker>& b = breakers_[name];
  if (b == nullptr) b = std::make_shared<CircuitBreaker>(name, options_, clock_);
  return b;
}

std::vector<CircuitBreakerRegistry::Entry> CircuitBreakerRegistry::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Entry> out;
  for (const auto& [name, b] : breakers_) {
    out.push_back({name, b->state(), b->times_opened(), b->calls_refused()});
  }
  return out;
}

}  // namespace cfs::resilience
