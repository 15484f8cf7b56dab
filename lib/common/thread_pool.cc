#include "lib/common/thread_pool.h"

#include <utility>

namespace cfs {

ThreadPool::ThreadPool(int threads, size_t max_queued) : max_queued_(max_queued) {
  for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

ThreadPool::~ThreadPool() { Shutdown(); }

void ThreadPool::Submit(absl::AnyInvocable<void() &&> task) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    not_full_.wait(lock, [this] { return stopping_ || queue_.size() < max_queued_; });
    if (!stopping_) {
      queue_.push_back(std::move(task));
      lock.unlock();
      // Woken after the unlock: the worker does not wake only to wait for the mutex.
      not_empty_.notify_one();
      return;
    }
  }
  std::move(task)();
}

void ThreadPool::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  not_empty_.notify_all();
  not_full_.notify_all();
  for (std::thread& worker : workers_) worker.join();
  workers_.clear();
}

void ThreadPool::WorkerLoop() {
  while (true) {
    absl::AnyInvocable<void() &&> task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      not_empty_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      bool was_full = queue_.size() >= max_queued_;
      task = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      // Only a full queue has submitters waiting; all of them recheck (one notify per pop from
      // full could leave one asleep while there is room).
      if (was_full) not_full_.notify_all();
    }
    std::move(task)();
  }
}

}  // namespace cfs
