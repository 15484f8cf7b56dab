#include "lib/common/serial_loop.h"

#include <memory>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace cfs {
namespace {

TEST(SerialLoopTest, StepsAnsweredAtOnceLoopWithoutRecursion) {
  int steps = 0;
  int depth = 0;
  int max_depth = 0;
  std::unique_ptr<SerialLoop> loop;
  loop = std::make_unique<SerialLoop>([&] {
    ++depth;
    max_depth = std::max(max_depth, depth);
    if (++steps < 100000) loop->Continue();  // "answered at once"
    --depth;
  });
  loop->Continue();
  EXPECT_EQ(steps, 100000);
  EXPECT_EQ(max_depth, 1);
}

TEST(SerialLoopTest, StepsAnsweredOnAnotherThreadRunThere) {
  std::vector<std::thread> threads;
  std::mutex mu;
  int steps = 0;
  std::unique_ptr<SerialLoop> loop;
  loop = std::make_unique<SerialLoop>([&] {
    std::lock_guard<std::mutex> lock(mu);
    if (++steps < 10) threads.emplace_back([&] { loop->Continue(); });
  });
  loop->Continue();
  for (size_t i = 0;; ++i) {
    std::thread t;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (i >= threads.size()) break;
      t = std::move(threads[i]);
    }
    t.join();
  }
  EXPECT_EQ(steps, 10);
}

}  // namespace
}  // namespace cfs
