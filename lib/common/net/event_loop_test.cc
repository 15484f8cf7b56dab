#include "lib/common/net/event_loop.h"

#include <sched.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace cfs::net {
namespace {

// Sets the soft RLIMIT_MEMLOCK for one test and restores it after.
class MemlockLimit {
 public:
  explicit MemlockLimit(rlim_t bytes) {
    getrlimit(RLIMIT_MEMLOCK, &saved_);
    rlimit lowered = saved_;
    lowered.rlim_cur = std::min(bytes, saved_.rlim_max);
    setrlimit(RLIMIT_MEMLOCK, &lowered);
  }
  ~MemlockLimit() { setrlimit(RLIMIT_MEMLOCK, &saved_); }

 private:
  rlimit saved_{};
};

// True when io_uring rings count against RLIMIT_MEMLOCK here (no CAP_IPC_LOCK).
bool RingsCountAgainstMemlock() {
  MemlockLimit none(0);
  EventLoop probe(EventLoop::Options{});
  return !probe.status().ok();
}

// Runs `body` in a child process in a user namespace of its own, where this process's
// capabilities (CAP_IPC_LOCK among them) do not reach, so rings count against RLIMIT_MEMLOCK
// as they do for an unprivileged gateway. `body` returns what failed, empty when nothing did.
// The result is "skip: ..." when the child cannot get there.
std::string InUserNamespace(const std::function<std::string()>& body) {
  int out[2];
  if (pipe(out) != 0) return "pipe failed";
  pid_t child = fork();
  if (child == 0) {
    close(out[0]);
    std::string result;
    if (unshare(CLONE_NEWUSER) != 0) {
      result = std::string("skip: unshare(CLONE_NEWUSER): ") + std::strerror(errno);
    } else if (!RingsCountAgainstMemlock()) {
      result = "skip: rings do not count against RLIMIT_MEMLOCK here";
    } else {
      // Closed rings (an earlier test's) are freed, and uncounted, a little after they close:
      // give them two seconds.
      for (int attempt = 0; attempt < 40; ++attempt) {
        result = body();
        if (result.empty()) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    ssize_t ignored = write(out[1], result.data(), result.size());
    (void)ignored;
    _exit(0);
  }
  close(out[1]);
  std::string result;
  char buf[512];
  for (ssize_t n; (n = read(out[0], buf, sizeof(buf))) > 0;) result.append(buf, n);
  close(out[0]);
  int status = 0;
  waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return "the child process died";
  return result;
}

#define EXPECT_PASSES_IN_USER_NAMESPACE(body)                     \
  do {                                                            \
    std::string failure = InUserNamespace(body);                  \
    if (failure.rfind("skip: ", 0) == 0) GTEST_SKIP() << failure; \
    EXPECT_EQ(failure, "");                                       \
  } while (false)

std::string StatusText(const EventLoop& loop) { return loop.status().ToString(); }

TEST(EventLoopTest, RunsPostedTasksOnItsThread) {
  EventLoop loop(EventLoop::Options{});
  ASSERT_TRUE(loop.status().ok()) << loop.status();
  std::thread runner([&] { loop.Run(); });
  std::promise<bool> in_loop;
  loop.Post([&] { in_loop.set_value(loop.InLoopThread()); });
  EXPECT_TRUE(in_loop.get_future().get());
  EXPECT_FALSE(loop.InLoopThread());
  loop.Stop();
  runner.join();
}

// Every listener has a loop per two cores and a gateway has several listeners; the default
// limit of 8 MiB is shared by every process of the user. Forty default rings take under half
// of it, at their full size; the old 4096-entry rings ran out at 20.
TEST(EventLoopTest, FortyDefaultRingsFitInTheDefaultLockedMemoryLimit) {
  EXPECT_PASSES_IN_USER_NAMESPACE([]() -> std::string {
    MemlockLimit limit(8 << 20);
    std::vector<std::unique_ptr<EventLoop>> loops;
    for (int i = 0; i < 40; ++i) {
      loops.push_back(std::make_unique<EventLoop>(EventLoop::Options{}));
      if (!loops.back()->status().ok())
        return "ring " + std::to_string(i) + ": " + StatusText(*loops.back());
      if (loops.back()->submission_entries() != 256)
        return "ring " + std::to_string(i) + " fell back";
    }
    return "";
  });
}

// A ring too big for the limit falls back to one an eighth the size instead of failing.
TEST(EventLoopTest, ARingTooBigForTheLimitFallsBackToASmallerOne) {
  EXPECT_PASSES_IN_USER_NAMESPACE([]() -> std::string {
    MemlockLimit limit(3 << 20);
    EventLoop::Options big;
    big.ring_entries = 32768;  // 2 MiB of submission entries, 1 MiB of completions: over 3 MiB
    big.completion_entries = 65536;
    EventLoop loop(big);
    if (!loop.status().ok()) return StatusText(loop);
    if (loop.submission_entries() != 4096) {
      return "a ring of " + std::to_string(loop.submission_entries()) + " entries, not 4096";
    }
    return "";
  });
}

// With no locked memory at all the error says what to raise, and Run() returns at once.
TEST(EventLoopTest, NoLockedMemoryGivesAnErrorNamingTheLimit) {
  EXPECT_PASSES_IN_USER_NAMESPACE([]() -> std::string {
    MemlockLimit none(0);
    EventLoop loop(EventLoop::Options{});
    if (loop.status().code() != absl::StatusCode::kUnavailable) return "status " + StatusText(loop);
    if (loop.status().message().find("ulimit -l") == absl::string_view::npos) {
      return "the error does not say what to raise: " + StatusText(loop);
    }
    loop.Run();
    return "";
  });
}

}  // namespace
}  // namespace cfs::net
