#include "lib/resilience/conn_pool.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace cfs::resilience {

std::shared_ptr<ConnPool> ConnPool::Create(std::string name, ConnPoolOptions options,
                                           Connector connect, HealthCheck check,
                                           Scheduler* scheduler, Clock* clock) {
  std::shared_ptr<ConnPool> pool(new ConnPool(std::move(name), options, std::move(connect),
                                              std::move(check), scheduler, clock));
  {
    std::lock_guard<std::mutex> lock(pool->mu_);
    while (pool->connecting_ < pool->options_.min_connections) pool->StartConnectLocked();
  }
  pool->ScheduleMaintenance();
  return pool;
}

ConnPool::ConnPool(std::string name, ConnPoolOptions options, Connector connect, HealthCheck check,
                   Scheduler* scheduler, Clock* clock)
    : name_(std::move(name)),
      options_(options),
      connect_(std::move(connect)),
      check_(std::move(check)),
      scheduler_(scheduler),
      clock_(clock) {}

ConnPool::~ConnPool() { Shutdown(); }

namespace {
// Connects block (up to connect_timeout), so they run on threads of their own, shared by every
// pool and never joined: a pool may be destroyed on one of them.
ThreadPool& ConnectThreads() {
  static ThreadPool* threads = new ThreadPool(4, 4096);
  return *threads;
}
}  // namespace

void ConnPool::Run(Ready& ready) {
  for (auto& [use, result] : ready) std::move(use)(std::move(result));
}

void ConnPool::Acquire(absl::Time deadline, Use use) {
  Ready ready;
  std::vector<std::shared_ptr<PooledConnection>> closing;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shut_down_) {
      ready.emplace_back(std::move(use), absl::UnavailableError(name_ + ": pool shut down"));
    } else {
      DropBrokenLocked(&closing);
      Entry* best = nullptr;
      for (Entry& e : entries_) {
        if (e.in_use >= options_.max_in_flight_per_connection) continue;
        if (best == nullptr || e.in_use < best->in_use) best = &e;
      }
      // A fresh connection is worth opening when the least loaded one is already busy.
      bool grow = (best == nullptr || best->in_use > 0) &&
                  entries_.size() + connecting_ < options_.max_connections;
      if (best != nullptr) {
        ++best->in_use;
        best->last_used = clock_->Now();
        ready.emplace_back(std::move(use), best->conn);
        if (grow && connecting_ == 0) StartConnectLocked();
      } else if (waiters_.size() >= options_.max_waiters) {
        ++counters_.rejected;
        ready.emplace_back(std::move(use),
                           absl::ResourceExhaustedError(absl::StrCat(name_, ": ", waiters_.size(),
                                                                     " requests already wait")));
      } else {
        waiters_.push_back(Waiter{deadline, std::move(use)});
        if (grow) StartConnectLocked();
      }
    }
  }
  for (auto& c : closing) c->Close();
  Run(ready);
}

void ConnPool::Release(const PooledConnection* conn) {
  Ready ready;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (Entry& e : entries_) {
      if (e.conn.get() != conn) continue;
      if (e.in_use > 0) --e.in_use;
      e.last_used = clock_->Now();
      break;
    }
    ServeWaitersLocked(&ready);
  }
  Run(ready);
}

void ConnPool::ServeWaitersLocked(Ready* ready) {
  absl::Time now = clock_->Now();
  while (!waiters_.empty()) {
    Waiter& w = waiters_.front();
    if (w.deadline <= now) {
      ready->emplace_back(std::move(w.use), absl::DeadlineExceededError(absl::StrCat(
                                                name_, ": no connection became available")));
      waiters_.pop_front();
      continue;
    }
    Entry* best = nullptr;
    for (Entry& e : entries_) {
      if (e.conn->Broken() || e.in_use >= options_.max_in_flight_per_connection) continue;
      if (best == nullptr || e.in_use < best->in_use) best = &e;
    }
    if (best == nullptr) return;
    ++best->in_use;
    best->last_used = now;
    ready->emplace_back(std::move(w.use), best->conn);
    waiters_.pop_front();
  }
}

void ConnPool::DropBrokenLocked(std::vector<std::shared_ptr<PooledConnection>>* closing) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->conn->Broken()) {
      ++counters_.replaced;
      closing->push_back(std::move(it->conn));
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  while (!shut_down_ && entries_.size() + connecting_ < options_.min_connections) {
    StartConnectLocked();
  }
}

void ConnPool::StartConnectLocked() {
  ++connecting_;
  std::weak_ptr<ConnPool> weak = weak_from_this();
  absl::Time deadline = clock_->Now() + options_.connect_timeout;
  Connector connect = connect_;
  ConnectThreads().Submit([weak, connect, deadline] {
    absl::StatusOr<std::unique_ptr<PooledConnection>> conn = connect(deadline);
    if (std::shared_ptr<ConnPool> pool = weak.lock()) {
      pool->OnConnected(std::move(conn));
    } else if (conn.ok()) {
      (*conn)->Close();
    }
  });
}

void ConnPool::OnConnected(absl::StatusOr<std::unique_ptr<PooledConnection>> conn) {
  Ready ready;
  std::shared_ptr<PooledConnection> extra;
  {
    std::lock_guard<std::mutex> lock(mu_);
    --connecting_;
    if (!conn.ok()) {
      ++counters_.connect_failures;
      last_connect_error_ = conn.status();
      bool usable = false;
      for (const Entry& e : entries_) usable = usable || !e.conn->Broken();
      if (!usable && connecting_ == 0) {
        // Nothing can serve the waiters: they fail now rather than wait out their deadline.
        for (Waiter& w : waiters_) {
          ready.emplace_back(std::move(w.use),
                             absl::UnavailableError(absl::StrCat(
                                 name_, ": cannot connect: ", conn.status().message())));
        }
        waiters_.clear();
      }
    } else if (shut_down_) {
      extra = std::move(*conn);
    } else {
      ++counters_.opened;
      Entry e;
      e.conn = std::move(*conn);
      e.last_used = e.last_checked = clock_->Now();
      entries_.push_back(std::move(e));
      ServeWaitersLocked(&ready);
    }
  }
  if (extra != nullptr) extra->Close();
  Run(ready);
}

void ConnPool::Maintain() {
  Ready ready;
  std::vector<std::shared_ptr<PooledConnection>> closing;
  std::vector<std::shared_ptr<PooledConnection>> to_check;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shut_down_) return;
    absl::Time now = clock_->Now();
    DropBrokenLocked(&closing);
    // Idle connections beyond the minimum close.
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (entries_.size() > options_.min_connections && it->in_use == 0 && !it->checking &&
          now - it->last_used >= options_.idle_timeout) {
        ++counters_.reaped;
        closing.push_back(std::move(it->conn));
        it = entries_.erase(it);
      } else {
        ++it;
      }
    }
    for (Entry& e : entries_) {
      if (e.in_use == 0 && !e.checking && now - e.last_checked >= options_.health_check_interval) {
        e.checking = true;
        e.last_checked = now;
        to_check.push_back(e.conn);
      }
    }
    ServeWaitersLocked(&ready);  // fails the waiters whose deadline passed
  }
  for (auto& c : closing) c->Close();
  Run(ready);
  for (std::shared_ptr<PooledConnection>& conn : to_check) {
    std::weak_ptr<ConnPool> weak = weak_from_this();
    PooledConnection* raw = conn.get();
    check_(*conn, [weak, raw, conn](bool healthy) {
      std::shared_ptr<ConnPool> pool = weak.lock();
      if (pool == nullptr) return;
      bool replace = false;
      {
        std::lock_guard<std::mutex> lock(pool->mu_);
        for (Entry& e : pool->entries_) {
          if (e.conn.get() != raw) continue;
          e.checking = false;
          replace = !healthy;
        }
      }
      // An unhealthy connection is closed: it counts as broken and is replaced.
      if (replace) conn->Close();
    });
  }
}

void ConnPool::ScheduleMaintenance() {
  std::weak_ptr<ConnPool> weak = weak_from_this();
  scheduler_->RunAfter(options_.maintenance_interval, [weak] {
    if (std::shared_ptr<ConnPool> pool = weak.lock()) {
      pool->Maintain();
      pool->ScheduleMaintenance();
    }
  });
}

void ConnPool::Shutdown() {
  Ready ready;
  std::vector<Entry> entries;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shut_down_) return;
    shut_down_ = true;
    entries.swap(entries_);
    for (Waiter& w : waiters_) {
      ready.emplace_back(std::move(w.use), absl::UnavailableError(name_ + ": pool shut down"));
    }
    waiters_.clear();
  }
  for (Entry& e : entries) e.conn->Close();
  Run(ready);
}

ConnPool::Stats ConnPool::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  Stats s = counters_;
  for (const Entry& e : entries_) {
    if (e.conn->Broken()) continue;
    ++s.connections;
    s.in_use += e.in_use;
  }
  s.connecting = connecting_;
  s.waiters = waiters_.size();
  return s;
}

}  // namespace cfs::resilience
