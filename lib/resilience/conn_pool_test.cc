#include "lib/resilience/conn_pool.h"

#include <atomic>
#include <future>
#include <map>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace cfs::resilience {
namespace {

class FakeConn : public PooledConnection {
 public:
  bool Broken() const override { return broken_.load(); }
  size_t InFlight() const override { return 0; }
  void Close() override { broken_ = true; }
  void Break() { broken_ = true; }

 private:
  std::atomic<bool> broken_{false};
};

// Counts connections opened; can be told to refuse. Shared with the pool's callbacks: a
// connect started by a test can finish on the pool's connect threads after the test returned.
struct FakeServer : std::enable_shared_from_this<FakeServer> {
  std::atomic<int> opened{0};
  std::atomic<bool> refuse{false};
  std::atomic<bool> healthy{true};
  std::mutex mu;
  std::vector<FakeConn*> conns;

  ConnPool::Connector Connector() {
    return [self = shared_from_this()](
               absl::Time) -> absl::StatusOr<std::unique_ptr<PooledConnection>> {
      if (self->refuse) return absl::UnavailableError("connection refused");
      ++self->opened;
      auto conn = std::make_unique<FakeConn>();
      std::lock_guard<std::mutex> lock(self->mu);
      self->conns.push_back(conn.get());
      return std::unique_ptr<PooledConnection>(std::move(conn));
    };
  }
  ConnPool::HealthCheck Check() {
    return [self = shared_from_this()](PooledConnection&, absl::AnyInvocable<void(bool) &&> done) {
      std::move(done)(self->healthy.load());
    };
  }
};

absl::StatusOr<std::shared_ptr<PooledConnection>> AcquireNow(ConnPool& pool, absl::Duration wait) {
  std::promise<absl::StatusOr<std::shared_ptr<PooledConnection>>> got;
  pool.Acquire(absl::Now() + wait,
               [&got](absl::StatusOr<std::shared_ptr<PooledConnection>> c) { got.set_value(c); });
  return got.get_future().get();
}

void WaitFor(const std::function<bool()>& condition) {
  for (int i = 0; i < 500 && !condition(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

TEST(ConnPoolTest, OpensTheMinimumAtOnce) {
  Scheduler scheduler;
  auto server = std::make_shared<FakeServer>();
  auto pool =
      ConnPool::Create("n", ConnPoolOptions{}, server->Connector(), server->Check(), &scheduler);
  WaitFor([&] { return pool->stats().connections == 2; });
  EXPECT_EQ(pool->stats().connections, 2u);
  EXPECT_EQ(server->opened.load(), 2);
}

TEST(ConnPoolTest, BoundsHoldUnder500ConcurrentRequests) {
  Scheduler scheduler;
  auto server = std::make_shared<FakeServer>();
  ConnPoolOptions options;
  options.max_in_flight_per_connection = 8;  // 10 connections x 8 = 80 requests at a time
  auto pool = ConnPool::Create("n", options, server->Connector(), server->Check(), &scheduler);
  std::mutex mu;
  std::map<const PooledConnection*, int> in_use;
  int most_on_one = 0;
  int most_at_once = 0;
  int at_once = 0;
  std::atomic<int> served{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 500; ++i) {
    clients.emplace_back([&] {
      std::promise<void> finished;
      pool->Acquire(absl::Now() + absl::Seconds(30),
                    [&](absl::StatusOr<std::shared_ptr<PooledConnection>> c) {
                      if (!c.ok()) {
                        ++failed;
                        finished.set_value();
                        return;
                      }
                      std::shared_ptr<PooledConnection> conn = *c;
                      std::thread([&, conn] {
                        {
                          std::lock_guard<std::mutex> lock(mu);
                          most_on_one = std::max(most_on_one, ++in_use[conn.get()]);
                          most_at_once = std::max(most_at_once, ++at_once);
                        }
                        std::this_thread::sleep_for(std::chrono::milliseconds(5));
                        {
                          std::lock_guard<std::mutex> lock(mu);
                          --in_use[conn.get()];
                          --at_once;
                        }
                        ++served;
                        pool->Release(conn.get());
                        finished.set_value();
                      }).detach();
                    });
      finished.get_future().wait();
    });
  }
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(served.load(), 500);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_LE(most_on_one, 8);
  EXPECT_LE(most_at_once, 80);
  EXPECT_LE(server->opened.load(), 10);
  EXPECT_LE(pool->stats().connections, 10u);
  EXPECT_EQ(pool->stats().in_use, 0u);
  EXPECT_EQ(pool->stats().waiters, 0u);
}

TEST(ConnPoolTest, TooManyWaitersAreRefusedAndDeadlinesEndWaiting) {
  Scheduler scheduler;
  auto server = std::make_shared<FakeServer>();
  ConnPoolOptions options;
  options.min_connections = 1;
  options.max_connections = 1;
  options.max_in_flight_per_connection = 1;
  options.max_waiters = 1;
  auto pool = ConnPool::Create("n", options, server->Connector(), server->Check(), &scheduler);
  auto held = AcquireNow(*pool, absl::Seconds(5));
  ASSERT_TRUE(held.ok()) << held.status();
  std::promise<absl::Status> waiter;
  pool->Acquire(
      absl::Now() + absl::Milliseconds(200),
      [&](absl::StatusOr<std::shared_ptr<PooledConnection>> c) { waiter.set_value(c.status()); });
  auto refused = AcquireNow(*pool, absl::Seconds(5));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(pool->stats().rejected, 1u);
  // The waiter's deadline passes while the only connection stays in use.
  EXPECT_EQ(waiter.get_future().get().code(), absl::StatusCode::kDeadlineExceeded);
  pool->Release(held->get());
}

TEST(ConnPoolTest, IdleConnectionsBeyondTheMinimumAreReaped) {
  Scheduler scheduler;
  auto server = std::make_shared<FakeServer>();
  ManualClock clock(absl::Now());
  ConnPoolOptions options;
  options.max_in_flight_per_connection = 1;
  options.maintenance_interval = absl::Hours(1);  // this test runs maintenance itself
  auto pool =
      ConnPool::Create("n", options, server->Connector(), server->Check(), &scheduler, &clock);
  std::vector<std::shared_ptr<PooledConnection>> held;
  for (int i = 0; i < 5; ++i) {
    auto c = AcquireNow(*pool, absl::Seconds(5));
    ASSERT_TRUE(c.ok()) << c.status();
    held.push_back(*c);
  }
  EXPECT_EQ(pool->stats().connections, 5u);
  for (auto& c : held) pool->Release(c.get());
  clock.Advance(absl::Minutes(4));
  pool->MaintainForTest();
  EXPECT_EQ(pool->stats().connections, 5u);  // not idle long enough yet
  clock.Advance(absl::Minutes(1));
  pool->MaintainForTest();
  EXPECT_EQ(pool->stats().connections, 2u);
  EXPECT_EQ(pool->stats().reaped, 3u);
  WaitFor([&] { return pool->stats().connecting == 0; });  // a late connect reads `clock`
}

TEST(ConnPoolTest, FailedHealthChecksAndBrokenConnectionsAreReplaced) {
  Scheduler scheduler;
  auto server = std::make_shared<FakeServer>();
  ManualClock clock(absl::Now());
  ConnPoolOptions options;
  options.maintenance_interval = absl::Hours(1);
  auto pool =
      ConnPool::Create("n", options, server->Connector(), server->Check(), &scheduler, &clock);
  WaitFor([&] { return pool->stats().connections == 2; });
  server->healthy = false;
  clock.Advance(absl::Seconds(30));
  pool->MaintainForTest();  // both checks fail: both connections close
  server->healthy = true;
  pool->MaintainForTest();  // dropped and replaced
  WaitFor([&] { return pool->stats().connections == 2 && server->opened.load() == 4; });
  EXPECT_EQ(server->opened.load(), 4);
  EXPECT_EQ(pool->stats().replaced, 2u);

  // A connection that breaks under use is replaced on the next acquire.
  {
    std::lock_guard<std::mutex> lock(server->mu);
    server->conns.back()->Break();
  }
  auto c = AcquireNow(*pool, absl::Seconds(5));
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE((*c)->Broken());
  pool->Release(c->get());
  WaitFor([&] { return server->opened.load() == 5; });
  EXPECT_EQ(server->opened.load(), 5);
  WaitFor([&] { return pool->stats().connecting == 0; });  // a late connect reads `clock`
}

TEST(ConnPoolTest, WaitersFailFastWhenTheNodeRefusesConnections) {
  Scheduler scheduler;
  auto server = std::make_shared<FakeServer>();
  server->refuse = true;
  auto pool =
      ConnPool::Create("n", ConnPoolOptions{}, server->Connector(), server->Check(), &scheduler);
  absl::Time start = absl::Now();
  auto c = AcquireNow(*pool, absl::Seconds(30));
  EXPECT_EQ(c.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));  // not the 30 s deadline
  EXPECT_GE(pool->stats().connect_failures, 1u);
}

TEST(ConnPoolTest, ShutdownFailsLaterAcquires) {
  Scheduler scheduler;
  auto server = std::make_shared<FakeServer>();
  auto pool =
      ConnPool::Create("n", ConnPoolOptions{}, server->Connector(), server->Check(), &scheduler);
  pool->Shutdown();
  EXPECT_EQ(AcquireNow(*pool, absl::Seconds(1)).status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace cfs::resilience
