#include "lib/common/thread_pool.h"

#include <atomic>

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

}  // namespace
}  // namespace cfs
