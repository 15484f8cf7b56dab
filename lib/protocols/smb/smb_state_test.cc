// SmbServerState's asynchronous stream lock: one critical section at a time per file, in the
// order they asked, handed on by the holder's unlock from whatever thread calls it.
#include "lib/protocols/smb/smb_state.h"

#include <functional>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace cfs::smb {
namespace {

using Unlock = SmbServerState::StreamUnlock;

TEST(StreamLockTest, HeldLockQueuesTheNextSectionUntilUnlock) {
  SmbServerState state;
  std::vector<int> ran;
  Unlock first_unlock;
  state.WithStreamLock(7, [&](Unlock unlock) {
    ran.push_back(1);
    first_unlock = unlock;  // still held after this returns
  });
  Unlock second_unlock;
  state.WithStreamLock(7, [&](Unlock unlock) {
    ran.push_back(2);
    second_unlock = unlock;
  });
  state.WithStreamLock(7, [&](Unlock unlock) {
    ran.push_back(3);
    unlock();
  });
  EXPECT_EQ(ran, std::vector<int>({1}));
  first_unlock();
  EXPECT_EQ(ran, std::vector<int>({1, 2}));
  second_unlock();
  EXPECT_EQ(ran, std::vector<int>({1, 2, 3}));
  // Free again: the next section runs at once.
  state.WithStreamLock(7, [&](Unlock unlock) {
    ran.push_back(4);
    unlock();
  });
  EXPECT_EQ(ran, std::vector<int>({1, 2, 3, 4}));
}

TEST(StreamLockTest, OtherFilesDoNotWait) {
  SmbServerState state;
  Unlock held;
  state.WithStreamLock(1, [&](Unlock unlock) { held = unlock; });
  bool ran = false;
  state.WithStreamLock(2, [&](Unlock unlock) {
    ran = true;
    unlock();
  });
  EXPECT_TRUE(ran);
  held();
}

TEST(StreamLockTest, SectionsFromManyThreadsNeverOverlap) {
  SmbServerState state;
  int inside = 0;  // guarded by the stream lock itself
  int overlaps = 0;
  int total = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        state.WithStreamLock(42, [&](Unlock unlock) {
          if (++inside != 1) ++overlaps;
          ++total;
          --inside;
          // Half the sections end on another thread, as backend callbacks do.
          if (total % 2 == 0) {
            std::thread([unlock] { unlock(); }).join();
          } else {
            unlock();
          }
        });
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(overlaps, 0);
  EXPECT_EQ(total, 8 * 200);
}

}  // namespace
}  // namespace cfs::smb
