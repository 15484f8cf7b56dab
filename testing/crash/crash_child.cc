// The crash test's child: opens the embedded backend in argv[1] and runs random operations
// forever, reporting each on stdout ("begin", then "ack" once it is stable, or "fail"), until
// the parent kills it with SIGKILL. See crash_workload.h for the op language.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lib/backends/embedded/embedded_backend.h"
#include "testing/crash/crash_workload.h"
#include "testing/sync_backend.h"

namespace {

using cfs::backend::InodeNumber;
using cfs::backend::kRootInode;
using cfs::testing::SyncBackend;

void Say(const std::string& what, const std::string& op) {
  std::string line = absl::StrCat(what, " ", op, "\n");
  // One write(2) per line: atomic on a pipe, and nothing buffered is lost to SIGKILL.
  if (write(STDOUT_FILENO, line.data(), line.size()) < 0) std::_Exit(3);
}

struct Path {
  std::string dir;
  std::string name;
  std::string full() const { return dir + "/" + name; }
};

Path Split(const std::string& full) {
  size_t slash = full.find('/');
  return {full.substr(0, slash), full.substr(slash + 1)};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: crash_child DATA_DIR SEED\n");
    return 2;
  }
  cfs::embedded::EmbeddedBackendOptions options;
  options.data_dir = argv[1];
  options.worker_threads = 2;
  auto backend = cfs::embedded::EmbeddedBackend::Open(options);
  if (!backend.ok()) {
    std::fprintf(stderr, "open: %s\n", backend.status().ToString().c_str());
    return 1;
  }
  SyncBackend fs(**backend, cfs::backend::RequestContext{cfs::backend::Identity::Root()});
  std::mt19937_64 rng(std::strtoull(argv[2], nullptr, 10));

  // What exists now (recovery has made it consistent).
  std::vector<std::string> dirs;
  std::vector<std::string> files;
  auto names = fs.ListNames(kRootInode);
  if (!names.ok()) return 1;
  for (const std::string& d : *names) {
    dirs.push_back(d);
    InodeNumber dir = fs.Lookup(kRootInode, d)->inode;
    auto entries = fs.ListNames(dir);
    if (!entries.ok()) return 1;
    for (const std::string& f : *entries) files.push_back(d + "/" + f);
  }
  auto dir_inode = [&](const std::string& d) { return fs.Lookup(kRootInode, d)->inode; };
  auto file_inode = [&](const std::string& p) {
    Path path = Split(p);
    return fs.Lookup(dir_inode(path.dir), path.name);
  };
  auto random_path = [&]() { return absl::StrCat(dirs[rng() % dirs.size()], "/f", rng() % 30); };
  auto forget = [&](const std::string& p) {
    for (size_t i = 0; i < files.size(); ++i) {
      if (files[i] == p) {
        files.erase(files.begin() + i);
        return;
      }
    }
  };
  auto remember = [&](const std::string& p) {
    forget(p);
    files.push_back(p);
  };
  Say("ready", "");

  for (uint64_t step = 0;; ++step) {
    int r = static_cast<int>(rng() % 100);
    if (dirs.empty() || (dirs.size() < 4 && r < 5)) {
      std::string d = absl::StrCat("d", dirs.size());
      std::string op = absl::StrCat("mkdir ", d);
      Say("begin", op);
      if (fs.Mkdir(kRootInode, d).ok()) {
        dirs.push_back(d);
        Say("ack", op);
      } else {
        Say("fail", op);
      }
      continue;
    }
    if (files.empty() || (files.size() < 40 && r < 30)) {
      std::string p = random_path();
      std::string op = absl::StrCat("create ", p);
      Say("begin", op);
      Path path = Split(p);
      if (fs.Create(dir_inode(path.dir), path.name).ok()) {
        remember(p);
        Say("ack", op);
      } else {
        Say("fail", op);
      }
      continue;
    }
    std::string p = files[rng() % files.size()];
    auto inode = file_inode(p);
    if (!inode.ok()) return 1;  // the child's own view must match the store
    if (r < 55) {
      uint64_t offset = rng() % 8192;
      uint64_t length = 1 + rng() % 8192;
      uint64_t seed = rng();
      bool stable = rng() % 2 == 0;
      std::string op = absl::StrCat("write ", p, " ", offset, " ", length, " ", seed);
      Say("begin", op);
      std::string data = cfs::testing::WorkloadData(seed, length);
      bool ok;
      if (stable) {
        ok = fs.Write(inode->inode, offset, data, cfs::backend::Stability::kFileSync).ok();
      } else {
        ok = fs.Write(inode->inode, offset, data, cfs::backend::Stability::kUnstable).ok() &&
             fs.Commit(inode->inode).ok();
      }
      Say(ok ? "ack" : "fail", op);
    } else if (r < 62) {
      uint64_t size = rng() % 12000;
      std::string op = absl::StrCat("trunc ", p, " ", size);
      Say("begin", op);
      cfs::backend::SetAttributes attrs;
      attrs.size = size;
      Say(fs.SetAttr(inode->inode, attrs).ok() ? "ack" : "fail", op);
    } else if (r < 75) {
      std::string q = random_path();
      std::string op = absl::StrCat("move ", p, " ", q);
      Say("begin", op);
      Path from = Split(p);
      Path to = Split(q);
      auto target = file_inode(q);
      if (fs.Rename(dir_inode(from.dir), from.name, dir_inode(to.dir), to.name).ok()) {
        bool same_file = target.ok() && target->inode == inode->inode;
        if (!same_file && p != q) {
          forget(p);
          remember(q);
        }
        Say("ack", op);
      } else {
        Say("fail", op);
      }
    } else if (r < 85 || r >= 92) {
      bool keep_open = r >= 92;  // unlinked while open: reclaimed at the next start
      std::string op = absl::StrCat("del ", p);
      Say("begin", op);
      Path path = Split(p);
      bool ok = (!keep_open || fs.Open(inode->inode).ok()) &&
                fs.Unlink(dir_inode(path.dir), path.name).ok();
      if (ok) forget(p);
      Say(ok ? "ack" : "fail", op);
    } else {
      std::string q = random_path();
      std::string op = absl::StrCat("link ", p, " ", q);
      Say("begin", op);
      Path to = Split(q);
      if (fs.Link(inode->inode, dir_inode(to.dir), to.name).ok()) {
        remember(q);
        Say("ack", op);
      } else {
        Say("fail", op);
      }
    }
  }
}
