// A fixed set of worker threads draining one bounded FIFO of tasks.
//
// Used by backends to run blocking disk work off the network loops. Submit() blocks the caller
// while the queue is full (backpressure, never an unbounded queue). Thread-safe.
//
// Example:
//   cfs::ThreadPool pool(/*threads=*/4, /*max_queued=*/1024);
//   pool.Submit([] { DoBlockingWork(); });
//   pool.Shutdown();  // runs what is queued, then joins

#ifndef CFS_LIB_COMMON_THREAD_POOL_H_
#define CFS_LIB_COMMON_THREAD_POOL_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>  // std::mutex: visible to ThreadSanitizer (Debian's Abseil is not instrumented)
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"

namespace cfs {

class ThreadPool {
 public:
  ThreadPool(int threads, size_t max_queued);
  ~ThreadPool();  // Calls Shutdown().
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Queues `task`; blocks while `max_queued` tasks wait. After Shutdown() the task runs inline
  // on the caller's thread, so no completion is ever lost.
  void Submit(absl::AnyInvocable<void() &&> task);

  // Runs every queued task, then joins the workers. Idempotent.
  void Shutdown();

 private:
  void WorkerLoop();

  const size_t max_queued_;
  std::mutex mu_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::deque<absl::AnyInvocable<void() &&>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
};

}  // namespace cfs

#endif  // CFS_LIB_COMMON_THREAD_POOL_H_
