// Crash test of the embedded backend: a child process runs a random stream of metadata
// operations and stable writes, reporting each acknowledgement; the parent kills it with
// SIGKILL at a random moment, reopens the store (recovery), and checks that every acknowledged
// operation is there, nothing unacknowledged beyond the one in flight shows, and the
// invariants hold. Repeated for many cycles on the same store.

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "lib/backends/embedded/embedded_backend.h"
#include "testing/crash/crash_workload.h"
#include "testing/sync_backend.h"
#include "testing/temp_dir.h"

namespace cfs::testing {
namespace {

std::string child_binary;  // from argv

constexpr int kCycles = 24;

struct ChildRun {
  std::vector<std::string> acked;  // ops acknowledged, in order
  std::string pending;             // op begun but neither acked nor failed
  bool ready = false;
};

// Starts the child, lets it run for `run_for`, kills it with SIGKILL and collects its report.
ChildRun RunAndKill(const std::string& data_dir, uint64_t seed, absl::Duration run_for) {
  int pipe_fds[2];
  EXPECT_EQ(pipe(pipe_fds), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(pipe_fds[1], STDOUT_FILENO);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    std::string seed_text = std::to_string(seed);
    execl(child_binary.c_str(), child_binary.c_str(), data_dir.c_str(), seed_text.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(pipe_fds[1]);
  // The run starts once the child has opened the store (slow under sanitizers), bounded.
  std::string output;
  char buffer[65536];
  absl::Time give_up = absl::Now() + absl::Seconds(120);
  while (output.find("ready \n") == std::string::npos && absl::Now() < give_up) {
    pollfd pfd{pipe_fds[0], POLLIN, 0};
    if (poll(&pfd, 1, 100) <= 0) continue;
    ssize_t n = read(pipe_fds[0], buffer, sizeof(buffer));
    if (n <= 0) break;  // the child died before it was ready
    output.append(buffer, n);
  }
  absl::SleepFor(run_for);
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the child ended by itself (status " << status << ") before the kill";
  ssize_t n;
  while ((n = read(pipe_fds[0], buffer, sizeof(buffer))) > 0) output.append(buffer, n);
  close(pipe_fds[0]);

  ChildRun run;
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    if (lines.eof()) break;  // a line cut by the kill has no newline: ignore it
    size_t space = line.find(' ');
    std::string what = line.substr(0, space);
    std::string op = space == std::string::npos ? "" : line.substr(space + 1);
    if (what == "ready") {
      run.ready = true;
    } else if (what == "begin") {
      run.pending = op;
    } else if (what == "ack") {
      EXPECT_EQ(op, run.pending);
      run.acked.push_back(op);
      run.pending.clear();
    } else if (what == "fail") {
      run.pending.clear();
    }
  }
  return run;
}

// Reads the whole store into a model (grouping paths by inode) and its invariant violations.
NamespaceModel ReadStore(const std::string& data_dir, std::vector<std::string>* violations,
                         embedded::RecoveryReport* report) {
  embedded::EmbeddedBackendOptions options;
  options.data_dir = data_dir;
  auto backend = embedded::EmbeddedBackend::Open(options);
  EXPECT_TRUE(backend.ok()) << backend.status();
  NamespaceModel actual;
  if (!backend.ok()) return actual;
  *report = (*backend)->recovery_report();
  SyncBackend fs(**backend, backend::RequestContext{backend::Identity::Root()});
  std::map<backend::InodeNumber, int> groups;
  auto top = fs.ListNames(backend::kRootInode);
  EXPECT_TRUE(top.ok()) << top.status();
  if (!top.ok()) return actual;
  for (const std::string& d : *top) {
    actual.dirs.insert(d);
    backend::InodeNumber dir = fs.Lookup(backend::kRootInode, d)->inode;
    auto entries = fs.ListNames(dir);
    EXPECT_TRUE(entries.ok()) << entries.status();
    if (!entries.ok()) continue;
    for (const std::string& f : *entries) {
      auto attrs = fs.Lookup(dir, f);
      EXPECT_TRUE(attrs.ok()) << attrs.status();
      auto [it, inserted] = groups.emplace(attrs->inode, actual.next_group);
      if (inserted) {
        auto data = fs.Read(attrs->inode, 0, attrs->size + 1);
        EXPECT_TRUE(data.ok()) << data.status();
        actual.group_content[actual.next_group++] = data->data;
      }
      actual.path_group[d + "/" + f] = it->second;
    }
  }
  *violations = (*backend)->CheckInvariants();
  return actual;
}

TEST(EmbeddedCrashTest, AcknowledgedOperationsSurviveSigkill) {
  ASSERT_FALSE(child_binary.empty()) << "pass the crash_child binary as the first argument";
  TempDir dir;
  std::mt19937_64 rng(20261124);
  NamespaceModel expected;
  size_t total_acked = 0;
  size_t cycles_with_pending = 0;
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    absl::Duration run_for = absl::Milliseconds(150 + rng() % 400);
    ChildRun run = RunAndKill(dir.path(), rng(), run_for);
    ASSERT_TRUE(run.ready) << "cycle " << cycle << ": the child never opened the store";
    for (const std::string& op : run.acked) ASSERT_TRUE(expected.Apply(op)) << op;
    total_acked += run.acked.size();

    std::vector<std::string> violations;
    embedded::RecoveryReport report;
    NamespaceModel actual = ReadStore(dir.path(), &violations, &report);
    EXPECT_FALSE(report.clean_shutdown) << "cycle " << cycle;
    EXPECT_TRUE(violations.empty()) << "cycle " << cycle << ": " << absl::StrJoin(violations, "; ");

    std::vector<std::string> diffs = expected.Diff(actual);
    if (!diffs.empty() && !run.pending.empty()) {
      ++cycles_with_pending;
      // The op in flight may have happened: accept the state after it too.
      NamespaceModel after = expected;
      after.Apply(run.pending);
      std::vector<std::string> after_diffs = after.Diff(actual);
      if (!after_diffs.empty() &&
          (run.pending.rfind("write ", 0) == 0 || run.pending.rfind("trunc ", 0) == 0)) {
        // An unacknowledged write or truncate may be torn; its file must still exist.
        std::vector<std::string> paths = NamespaceModel::PathsOf(run.pending);
        std::set<std::string> unknown;
        int group = expected.path_group.at(paths[0]);
        for (const auto& [path, g] : expected.path_group) {
          if (g == group) unknown.insert(path);
        }
        after_diffs = expected.Diff(actual, unknown);
      }
      diffs = after_diffs;
    }
    ASSERT_TRUE(diffs.empty()) << "cycle " << cycle << " (in flight: '" << run.pending
                               << "'): " << absl::StrJoin(diffs, "; ");
    expected = actual;  // the next cycle starts from what is on disk
  }
  // The run must have exercised the store, not idled.
  EXPECT_GT(total_acked, static_cast<size_t>(kCycles * 5));
  std::printf("%zu acknowledged operations over %d SIGKILL cycles (%zu with an op in flight)\n",
              total_acked, kCycles, cycles_with_pending);
}

}  // namespace
}  // namespace cfs::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc > 1) cfs::testing::child_binary = argv[1];
  return RUN_ALL_TESTS();
}
