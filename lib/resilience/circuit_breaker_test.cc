#include "lib/resilience/circuit_breaker.h"

#include "gtest/gtest.h"
#include "testing/status_matchers.h"

using ::cfs::testing::StatusIs;

namespace cfs::resilience {
namespace {

TEST(CircuitBreakerTest, FiveFailuresOpenThirtySecondsHalfOpenTwoSuccessesClose) {
  ManualClock clock(absl::UnixEpoch());
  CircuitBreaker b("node", CircuitBreakerOptions{}, &clock);
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(b.Allow().ok());
    b.RecordFailure();
  }
  EXPECT_EQ(b.state(), CircuitBreaker::State::kClosed);
  b.RecordFailure();
  EXPECT_EQ(b.state(), CircuitBreaker::State::kOpen);
  absl::Status refused = b.Allow();
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(refused.message().find("node"), absl::string_view::npos);
  clock.Advance(absl::Seconds(29));
  EXPECT_THAT(b.Allow(), StatusIs(absl::StatusCode::kUnavailable));
  clock.Advance(absl::Seconds(1));
  EXPECT_TRUE(b.Allow().ok());
  EXPECT_EQ(b.state(), CircuitBreaker::State::kHalfOpen);
  b.RecordSuccess();
  EXPECT_EQ(b.state(), CircuitBreaker::State::kHalfOpen);
  b.RecordSuccess();
  EXPECT_EQ(b.state(), CircuitBreaker::State::kClosed);
  EXPECT_EQ(b.times_opened(), 1u);
  EXPECT_EQ(b.calls_refused(), 2u);
}

TEST(CircuitBreakerTest, AFailureWhileHalfOpenOpensAgain) {
  ManualClock clock(absl::UnixEpoch());
  CircuitBreaker b("node", CircuitBreakerOptions{}, &clock);
  for (int i = 0; i < 5; ++i) b.RecordFailure();
  clock.Advance(absl::Seconds(30));
  ASSERT_TRUE(b.Allow().ok());
  b.RecordSuccess();
  b.RecordFailure();
  EXPECT_EQ(b.state(), CircuitBreaker::State::kOpen);
  EXPECT_THAT(b.Allow(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(b.times_opened(), 2u);
}

TEST(CircuitBreakerTest, ASuccessResetsTheFailureCount) {
  ManualClock clock(absl::UnixEpoch());
  CircuitBreaker b("node", CircuitBreakerOptions{}, &clock);
  for (int i = 0; i < 4; ++i) b.RecordFailure();
  b.RecordSuccess();
  for (int i = 0; i < 4; ++i) b.RecordFailure();
  EXPECT_EQ(b.state(), CircuitBreaker::State::kClosed);
}

TEST(CircuitBreakerTest, OnlyNodeFailuresCount) {
  EXPECT_TRUE(CircuitBreaker::IsNodeFailure(absl::UnavailableError("down")));
  EXPECT_TRUE(CircuitBreaker::IsNodeFailure(absl::DeadlineExceededError("slow")));
  EXPECT_FALSE(CircuitBreaker::IsNodeFailure(absl::NotFoundError("no such file")));
  EXPECT_FALSE(CircuitBreaker::IsNodeFailure(absl::OkStatus()));
}

TEST(CircuitBreakerRegistryTest, OneBreakerPerNameAndASnapshotOfStates) {
  ManualClock clock(absl::UnixEpoch());
  CircuitBreakerRegistry registry(CircuitBreakerOptions{}, &clock);
  std::shared_ptr<CircuitBreaker> a = registry.GetOrCreate("a");
  EXPECT_EQ(registry.GetOrCreate("a"), a);
  std::shared_ptr<CircuitBreaker> b = registry.GetOrCreate("b");
  for (int i = 0; i < 5; ++i) b->RecordFailure();
  std::vector<CircuitBreakerRegistry::Entry> snap = registry.Snapshot();
  ASSERT_EQ(snap.size(), 2u);
  EXPECT_EQ(snap[0].name, "a");
  EXPECT_EQ(snap[0].state, CircuitBreaker::State::kClosed);
  EXPECT_EQ(snap[1].state, CircuitBreaker::State::kOpen);
  EXPECT_EQ(StateName(snap[1].state), "open");
}

}  // namespace
}  // namespace cfs::resilience
