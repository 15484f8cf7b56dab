// Embedded-backend behaviour beyond the SPI conformance suite.

#include "lib/backends/embedded/embedded_backend.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"
#include "testing/sync_backend.h"
#include "testing/temp_dir.h"

namespace cfs::embedded {
namespace {

using backend::FsError;
using backend::kRootInode;
using cfs::testing::FsErrorIs;

TEST(EmbeddedBackendTest, FullDiskIsAnErrorNotACrash) {
  cfs::testing::TempDir dir;
  EmbeddedBackendOptions options;
  options.data_dir = dir.path();
  auto backend = EmbeddedBackend::Open(options);
  ASSERT_OK(backend);
  cfs::testing::SyncBackend fs(**backend, backend::RequestContext{backend::Identity::Root()});
  auto file = fs.Create(kRootInode, "big");
  ASSERT_OK(file);
  backend::InodeNumber inode = file->attributes.inode;
  // Point the file's extent file at /dev/full: every write fails with ENOSPC.
  std::string bucket = absl::StrFormat("%s/data/%02x", dir.path(), inode & 0xff);
  mkdir(bucket.c_str(), 0700);
  ASSERT_EQ(symlink("/dev/full", absl::StrFormat("%s/%016x", bucket, inode).c_str()), 0);
  EXPECT_THAT(fs.Write(inode, 0, "payload"), FsErrorIs(FsError::kNoSpace));
  EXPECT_EQ(fs.GetAttr(inode)->size, 0u) << "a failed write must not change the size";
  EXPECT_OK(fs.GetAttr(kRootInode));
}

TEST(EmbeddedBackendTest, WritesBeyondTheMaximumFileSizeAreTooBig) {
  cfs::testing::TempDir dir;
  EmbeddedBackendOptions options;
  options.data_dir = dir.path();
  options.max_file_size = 1 << 20;
  auto backend = EmbeddedBackend::Open(options);
  ASSERT_OK(backend);
  cfs::testing::SyncBackend fs(**backend, backend::RequestContext{backend::Identity::Root()});
  auto file = fs.Create(kRootInode, "f");
  ASSERT_OK(file);
  EXPECT_THAT(fs.Write(file->attributes.inode, (1 << 20) - 1, "xy"), FsErrorIs(FsError::kTooBig));
  backend::SetAttributes grow;
  grow.size = 2 << 20;
  EXPECT_THAT(fs.SetAttr(file->attributes.inode, grow), FsErrorIs(FsError::kTooBig));
}

TEST(EmbeddedBackendTest, ShutdownWhileCallsRunCompletesEveryCallback) {
  cfs::testing::TempDir dir;
  EmbeddedBackendOptions options;
  options.data_dir = dir.path();
  options.worker_threads = 2;
  auto backend = EmbeddedBackend::Open(options);
  ASSERT_OK(backend);
  backend::RequestContext ctx{backend::Identity::Root()};
  std::atomic<int> ok{0};
  std::atomic<int> unavailable{0};
  std::atomic<int> other{0};
  std::atomic<int> issued{0};
  std::thread caller([&] {
    // Keep calling until the shutdown is seen (bounded).
    while (unavailable.load() == 0 && issued.load() < 5'000'000) {
      issued.fetch_add(1);
      (*backend)->GetAttr(ctx, kRootInode, [&](absl::StatusOr<backend::Attributes> r) {
        if (r.ok()) {
          ok.fetch_add(1);
        } else if (r.status().code() == absl::StatusCode::kUnavailable) {
          unavailable.fetch_add(1);
        } else {
          other.fetch_add(1);
        }
      });
    }
  });
  absl::SleepFor(absl::Milliseconds(2));
  ASSERT_OK((*backend)->Shutdown(absl::Now() + absl::Seconds(30)));
  caller.join();
  EXPECT_EQ(ok.load() + unavailable.load(), issued.load());
  EXPECT_EQ(other.load(), 0);
  EXPECT_GT(unavailable.load(), 0) << "the shutdown came after every call: nothing was tested";
}

}  // namespace
}  // namespace cfs::embedded
