#include "lib/resilience/scheduler.h"

#include <chrono>

namespace cfs::resilience {

Scheduler::Scheduler() : thread_([this] { Loop(); }) {}

Scheduler::~Scheduler() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void Scheduler::RunAt(absl::Time when, absl::AnyInvocable<void() &&> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    tasks_.emplace(std::make_pair(when, seq_++), std::move(task));
  }
  wake_.notify_all();
}

void Scheduler::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (tasks_.empty()) {
      wake_.wait(lock);
      continue;
    }
    absl::Time due = tasks_.begin()->first.first;
    absl::Time now = absl::Now();
    if (due > now) {
      wake_.wait_for(lock, absl::ToChronoNanoseconds(due - now));
      continue;
    }
    absl::AnyInvocable<void()&&> task = std::move(tasks_.begin()->second);
    tasks_.erase(tasks_.begin());
    lock.unlock();
    std::move(task)();
    lock.lock();
  }
}

}  // namespace cfs::resilience
