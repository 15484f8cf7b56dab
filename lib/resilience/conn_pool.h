// ConnPool: the connections to one backend node, shared by every request to it.
//
// Connections carry many requests at once (A4 multiplexes by request id), so a connection is
// "available" while fewer than max_in_flight_per_connection requests use it. Acquire hands out
// the least loaded available connection; when none is, the request waits (at most max_waiters
// wait; more fail with kResourceExhausted) while a new connection is opened, up to
// max_connections. Connections are opened in the background (Acquire never blocks), broken
// ones are dropped and replaced, idle ones beyond min_connections are closed after
// idle_timeout, and idle ones are health-checked every health_check_interval (a failed check
// replaces the connection). Defaults are the documented ones (docs/architecture.md).
// Thread-safe; `use` callbacks run on the caller's thread, a releasing thread or a
// background thread.
//
// Example:
//   auto pool = ConnPool::Create("a4:10.0.0.2:7100", {}, connect, health_check, &scheduler);
//   pool->Acquire(deadline, [pool](absl::StatusOr<std::shared_ptr<PooledConnection>> c) {
//     ... use *c, then pool->Release(c->get()) when the request finished ...
//   });

#ifndef CFS_LIB_RESILIENCE_CONN_POOL_H_
#define CFS_LIB_RESILIENCE_CONN_POOL_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/common/thread_pool.h"
#include "lib/resilience/clock.h"
#include "lib/resilience/scheduler.h"

namespace cfs::resilience {

// What the pool needs of a connection. Implementations are thread-safe.
class PooledConnection {
 public:
  virtual ~PooledConnection() = default;
  // True once the connection failed: the pool drops and replaces it.
  virtual bool Broken() const = 0;
  // Requests sent on it and not yet answered.
  virtual size_t InFlight() const = 0;
  // Fails what is in flight and closes it. Idempotent.
  virtual void Close() = 0;
};

struct ConnPoolOptions {
  size_t min_connections = 2;
  size_t max_connections = 10;
  absl::Duration idle_timeout = absl::Minutes(5);
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration health_check_interval = absl::Seconds(30);
  size_t max_in_flight_per_connection = 64;
  size_t max_waiters = 1024;
  absl::Duration maintenance_interval = absl::Seconds(1);
};

class ConnPool : public std::enable_shared_from_this<ConnPool> {
 public:
  // Opens a connection before the deadline (blocking: runs on the pool's connect threads). It
  // can still run after the pool is destroyed, so it must own (or share) what it uses.
  using Connector =
      std::function<absl::StatusOr<std::unique_ptr<PooledConnection>>(absl::Time deadline)>;
  // Checks an idle connection; calls `healthy` once with the verdict.
  using HealthCheck =
      std::function<void(PooledConnection& conn, absl::AnyInvocable<void(bool) &&> healthy)>;
  using Use = absl::AnyInvocable<void(absl::StatusOr<std::shared_ptr<PooledConnection>>) &&>;

  // Starts opening min_connections and schedules maintenance on `scheduler`, which must
  // outlive the pool.
  static std::shared_ptr<ConnPool> Create(std::string name, ConnPoolOptions options,
                                          Connector connect, HealthCheck check,
                                          Scheduler* scheduler, Clock* clock = &Clock::Real());
  ~ConnPool();

  // Calls `use` once: with a connection that counts one more request in flight (give it back
  // with Release), or with kUnavailable (no connection can be opened), kResourceExhausted (too
  // many requests waiting) or kDeadlineExceeded (none became available in time).
  void Acquire(absl::Time deadline, Use use);
  // One request acquired on `conn` finished.
  void Release(const PooledConnection* conn);
  // Closes every connection and fails every waiter; later Acquires fail with kUnavailable.
  void Shutdown();

  struct Stats {
    size_t connections = 0;  // open, not broken
    size_t connecting = 0;
    size_t in_use = 0;  // requests holding a connection
    size_t waiters = 0;
    uint64_t opened = 0;
    uint64_t connect_failures = 0;
    uint64_t replaced = 0;  // dropped broken or unhealthy
    uint64_t reaped = 0;    // closed for idleness
    uint64_t rejected = 0;  // refused for too many waiters
  };
  Stats stats() const;
  const std::string& name() const { return name_; }

  // Runs maintenance now (the scheduler also runs it every maintenance_interval).
  void MaintainForTest() { Maintain(); }

 private:
  struct Entry {
    std::shared_ptr<PooledConnection> conn;
    size_t in_use = 0;
    absl::Time last_used;
    absl::Time last_checked;
    bool checking = false;
  };
  struct Waiter {
    absl::Time deadline;
    Use use;
  };
  using Ready = std::vector<std::pair<Use, absl::StatusOr<std::shared_ptr<PooledConnection>>>>;

  ConnPool(std::string name, ConnPoolOptions options, Connector connect, HealthCheck check,
           Scheduler* scheduler, Clock* clock);
  void StartConnectLocked();
  void OnConnected(absl::StatusOr<std::unique_ptr<PooledConnection>> conn);
  // Gives available capacity to waiters (and fails expired ones); fills `ready`.
  void ServeWaitersLocked(Ready* ready);
  void DropBrokenLocked(std::vector<std::shared_ptr<PooledConnection>>* closing);
  void Maintain();
  void ScheduleMaintenance();
  static void Run(Ready& ready);

  const std::string name_;
  const ConnPoolOptions options_;
  const Connector connect_;
  const HealthCheck check_;
  Scheduler* const scheduler_;
  Clock* const clock_;

  mutable std::mutex mu_;
  bool shut_down_ = false;      // guarded by mu_
  std::vector<Entry> entries_;  // guarded by mu_
  size_t connecting_ = 0;       // guarded by mu_
  std::deque<Waiter> waiters_;  // guarded by mu_
  absl::Status last_connect_error_;
  Stats counters_;  // guarded by mu_ (the cumulative fields)
};

}  // namespace cfs::resilience

#endif  // CFS_LIB_RESILIENCE_CONN_POOL_H_
