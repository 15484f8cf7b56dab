// The remote backend when a data node dies or slows down, on an in-process 3-node cluster:
// calls that need the node fail with kUnavailable and, once its circuit opens, fail without
// touching the network; the other nodes keep serving; the circuit closes when the node is back;
// a node slower than the operation timeout fails calls with kDeadlineExceeded. Over TCP on
// io_uring and over libfabric (tcp provider).

#include <sys/statvfs.h>

#include <future>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "lib/backend/sync_backend.h"
#include "lib/backends/remote/a4_fabric_transport.h"
#include "lib/backends/remote/a4_uring_transport.h"
#include "lib/backends/remote/remote_backend.h"
#include "testing/local_cluster.h"
#include "testing/temp_dir.h"

namespace cfs::remote {
namespace {

using backend::Identity;
using backend::RequestContext;
using backend::SyncBackend;

// The transport under test: "tcp_uring" or "libfabric_tcp".
class RemoteFaultTest : public ::testing::TestWithParam<std::string> {
 protected:
  bool fabric() const { return GetParam() == "libfabric_tcp"; }

  void SetUp() override {
    cfs::testing::LocalClusterOptions options;
    options.nodes = 3;
    options.stripe_size = 64 << 10;
    options.fabric_provider = "tcp";
    auto cluster = cfs::testing::LocalCluster::Start(dir_.path(), options);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = std::move(*cluster);
  }

  std::unique_ptr<RemoteBackend> Connect(absl::Duration open_duration,
                                         absl::Duration timeout = absl::Seconds(5)) {
    RemoteBackendOptions options;
    options.metadata_address = cluster_->metadata_address();
    if (fabric()) {
      options.transport = std::make_shared<FabricA4Transport>("tcp");
    } else {
      options.transport = std::make_shared<UringA4Transport>(UringA4Transport::Options{});
    }
    options.breaker.open_duration = open_duration;
    options.operation_timeout = timeout;
    auto backend = RemoteBackend::Connect(options);
    EXPECT_TRUE(backend.ok()) << backend.status();
    return backend.ok() ? std::move(*backend) : nullptr;
  }

  cfs::testing::TempDir dir_;
  std::unique_ptr<cfs::testing::LocalCluster> cluster_;
};

TEST_P(RemoteFaultTest, ADeadNodeFailsFastOthersServeAndItsCircuitOpens) {
  std::unique_ptr<RemoteBackend> backend = Connect(absl::Seconds(1));
  ASSERT_NE(backend, nullptr);
  SyncBackend fs(*backend, RequestContext{Identity::Root()});
  // Files of one stripe each, spread over the three nodes by inode number.
  std::vector<backend::InodeNumber> files;
  for (int i = 0; i < 9; ++i) {
    auto made = fs.Create(backend::kRootInode, "f" + std::to_string(i));
    ASSERT_TRUE(made.ok()) << made.status();
    files.push_back(made->attributes.inode);
    ASSERT_TRUE(fs.Write(files.back(), 0, "bytes of file " + std::to_string(i),
                         backend::Stability::kFileSync)
                    .ok());
  }
  // Space is the data nodes' file systems, each counted once: the three nodes share one here.
  struct statvfs shared {};
  ASSERT_EQ(::statvfs(dir_.path().c_str(), &shared), 0);
  auto space = fs.FsStat(backend::kRootInode);
  ASSERT_TRUE(space.ok()) << space.status();
  EXPECT_EQ(space->total_bytes, static_cast<uint64_t>(shared.f_blocks) * shared.f_frsize);

  std::string dead = fabric() ? cluster_->node(2).fabric_address() : cluster_->node(2).a4_address();
  cluster_->node(2).Shutdown(absl::Now());

  int served = 0, unavailable = 0;
  for (backend::InodeNumber f : files) {
    auto r = fs.Read(f, 0, 100);
    if (r.ok()) {
      ++served;
    } else {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
      ++unavailable;
    }
  }
  EXPECT_EQ(served, 6);
  EXPECT_EQ(unavailable, 3);
  // Without one data node the cluster's space is unknown: an error, not a smaller number.
  EXPECT_EQ(fs.FsStat(backend::kRootInode).status().code(), absl::StatusCode::kUnavailable);
  std::shared_ptr<resilience::CircuitBreaker> breaker =
      backend->breakers()->GetOrCreate("a4:" + dead);
  EXPECT_EQ(breaker->state(), resilience::CircuitBreaker::State::kOpen);
  uint64_t refused = breaker->calls_refused();
  auto again = fs.Read(files[2 % files.size()], 0, 100);
  for (backend::InodeNumber f : files) (void)fs.Read(f, 0, 100);
  EXPECT_GT(breaker->calls_refused(), refused);  // failed at once, no connection attempt
  EXPECT_TRUE(backend->Health().code() == absl::StatusCode::kUnavailable);
}

// Writes in flight together, each starting past the size the others have not extended yet (an
// S3 upload or an NFS client pipelining its WRITEs): every byte must land.
TEST_P(RemoteFaultTest, PipelinedWritesPastTheEndAllLand) {
  std::unique_ptr<RemoteBackend> backend = Connect(absl::Seconds(30));
  ASSERT_NE(backend, nullptr);
  SyncBackend fs(*backend, RequestContext{Identity::Root()});
  auto made = fs.Create(backend::kRootInode, "pipelined");
  ASSERT_TRUE(made.ok()) << made.status();
  backend::InodeNumber inode = made->attributes.inode;
  constexpr int kPieces = 48;
  constexpr size_t kPiece = 40000;  // not stripe-aligned: pieces straddle nodes
  std::string expected;
  std::vector<std::shared_ptr<std::string>> bodies;
  for (int i = 0; i < kPieces; ++i) {
    bodies.push_back(std::make_shared<std::string>(kPiece, static_cast<char>('a' + i % 26)));
    expected += *bodies.back();
  }
  std::vector<std::promise<absl::Status>> done(kPieces);
  RequestContext ctx{Identity::Root()};
  for (int i = 0; i < kPieces; ++i) {
    backend->Write(
        ctx, inode, i * kPiece, Buffer::Wrap(bodies[i], *bodies[i]), backend::Stability::kUnstable,
        [&done, i](absl::StatusOr<backend::WriteResult> r) { done[i].set_value(r.status()); });
  }
  for (auto& d : done) ASSERT_TRUE(d.get_future().get().ok());
  auto back = fs.Read(inode, 0, expected.size() + 10);
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->data.size(), expected.size());
  EXPECT_TRUE(back->data == expected) << "bytes lost or overwritten";
}

INSTANTIATE_TEST_SUITE_P(Transports, RemoteFaultTest,
                         ::testing::Values("tcp_uring", "libfabric_tcp"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace cfs::remote
