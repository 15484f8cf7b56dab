#include "lib/common/thread_pool.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace cfs {
namespace {

TEST(ThreadPoolTest, RunsEveryTaskBeforeShutdownReturns) {
  std::atomic<int> ran{0};
  ThreadPool pool(3, 4);
  for (int i = 0; i < 100; ++i) pool.Submit([&ran] { ran.fetch_add(1); });
  pool.Shutdown();
  EXPECT_EQ(ran.load(), 100);
}

TEST(ThreadPoolTest, SubmitAfterShutdownRunsInline) {
  ThreadPool pool(1, 1);
  pool.Shutdown();
  bool ran = false;
  pool.Submit([&ran] { ran = true; });
  EXPECT_TRUE(ran);
}

TEST(ThreadPoolTest, FullQueueBlocksSubmitterUntilAWorkerFrees) {
  ThreadPool pool(1, 1);
  absl::Notification release;
  absl::Notification started;
  pool.Submit([&] {
    started.Notify();
    release.WaitForNotification();
  });
  started.WaitForNotification();
  pool.Submit([] {});  // fills the queue
  std::atomic<bool> third_submitted{false};
  std::thread submitter([&] {
    pool.Submit([] {});
    third_submitted = true;
  });
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_FALSE(third_submitted.load());
  release.Notify();
  submitter.join();
  EXPECT_TRUE(third_submitted.load());
}

TEST(ThreadPoolTest, ManySubmittersToAFullQueueAllGetIn) {
  // Submitters wait on a full queue; every one of them must be let in as room appears (a pop
  // that wakes one waiter only could leave another asleep for good).
  std::atomic<int> ran{0};
  ThreadPool pool(2, 1);
  std::vector<std::thread> submitters;
  for (int t = 0; t < 6; ++t) {
    submitters.emplace_back([&] {
      for (int i = 0; i < 300; ++i) pool.Submit([&ran] { ran.fetch_add(1); });
    });
  }
  for (std::thread& s : submitters) s.join();
  pool.Shutdown();
  EXPECT_EQ(ran.load(), 1800);
}

}  // namespace
}  // namespace cfs
