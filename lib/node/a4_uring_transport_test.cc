// UringA4Transport's lifetime: the transport may be destroyed by a completion running on its
// own threads (a callback that drops the last reference to whatever owns the transport, as a
// connection pool outliving its backend does). A thread cannot join itself: this aborted
// remote_fault_test with "Resource deadlock avoided".

#include "lib/backends/remote/a4_uring_transport.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lib/node/a4_tcp_server.h"
#include "lib/node/data_node.h"
#include "testing/temp_dir.h"

namespace cfs::remote {
namespace {

// What a completion owns: the last references to the transport and to its channel.
struct Owner {
  std::shared_ptr<UringA4Transport> transport;
  std::unique_ptr<A4Channel> channel;
};

// Calls PING on `owner`'s channel with `deadline`; the completion drops the transport (on
// whichever thread the transport completes it) and reports the status it got.
absl::Status PingDroppingTheTransport(std::shared_ptr<Owner> owner, absl::Time deadline) {
  std::promise<absl::Status> finished;
  a4::Request ping;
  ping.op = a4::Op::kPing;
  A4Channel* channel = owner->channel.get();
  channel->Call(ping, nullptr, deadline,
                [owner = std::move(owner), &finished](absl::StatusOr<A4Reply> reply) mutable {
                  owner->channel.reset();
                  owner->transport.reset();  // the last reference: ~UringA4Transport runs here
                  finished.set_value(reply.status());
                });
  return finished.get_future().get();
}

TEST(UringA4TransportTest, ACompletionOnTheLoopThreadMayDestroyTheTransport) {
  cfs::testing::TempDir dir;
  auto node = DataNode::Open(dir.path() + "/data");
  ASSERT_TRUE(node.ok()) << node.status();
  A4TcpServer server(**node, A4TcpServer::Options{});
  ASSERT_TRUE(server.Start("127.0.0.1", 0).ok());
  for (int round = 0; round < 20; ++round) {
    auto owner = std::make_shared<Owner>();
    owner->transport = std::make_shared<UringA4Transport>(UringA4Transport::Options{});
    auto channel = owner->transport->Connect(server.address(), absl::Now() + absl::Seconds(5));
    ASSERT_TRUE(channel.ok()) << channel.status();
    owner->channel = std::move(*channel);
    EXPECT_TRUE(PingDroppingTheTransport(std::move(owner), absl::Now() + absl::Seconds(10)).ok());
  }
  server.Shutdown(absl::Now() + absl::Seconds(5));
}

TEST(UringA4TransportTest, ADeadlineExpiryOnTheReaperThreadMayDestroyTheTransport) {
  // A listener that never answers (the kernel completes the handshake; nobody accepts).
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(listener, 64), 0);
  socklen_t len = sizeof(addr);
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  std::string address = absl::StrCat("127.0.0.1:", ntohs(addr.sin_port));
  for (int round = 0; round < 5; ++round) {
    auto owner = std::make_shared<Owner>();
    owner->transport = std::make_shared<UringA4Transport>(UringA4Transport::Options{});
    auto channel = owner->transport->Connect(address, absl::Now() + absl::Seconds(5));
    ASSERT_TRUE(channel.ok()) << channel.status();
    owner->channel = std::move(*channel);
    absl::Status status =
        PingDroppingTheTransport(std::move(owner), absl::Now() + absl::Milliseconds(100));
    EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  }
  close(listener);
}

}  // namespace
}  // namespace cfs::remote
