// A4 over libfabric (software tcp provider) against a real A4FabricServer: frames far larger
// than one 64 KiB message arrive whole, many requests share a connection, a malformed frame
// breaks only its own connection, connecting where nothing listens or with a provider that
// does not exist fails with kUnavailable, and no progress thread outlives its owner.

#include <future>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "lib/backends/remote/a4_fabric_transport.h"
#include "lib/backends/remote/fabric_connection.h"
#include "lib/backends/remote/host_port.h"
#include "lib/node/a4_fabric_server.h"
#include "lib/node/data_node.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

using ::cfs::testing::StatusIs;

namespace cfs::remote {
namespace {

class A4FabricTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto node = DataNode::Open(dir_.path() + "/data");
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = std::move(*node);
    A4FabricServer::Options options;
    options.provider = "tcp";
    server_ = std::make_unique<A4FabricServer>(*node_, options);
    ASSERT_TRUE(server_->Start("127.0.0.1", 0).ok());
    EXPECT_EQ(server_->provider(), "tcp");
  }

  std::unique_ptr<A4Channel> Connect() {
    auto channel = transport_.Connect(server_->address(), absl::Now() + absl::Seconds(5));
    EXPECT_TRUE(channel.ok()) << channel.status();
    return channel.ok() ? std::move(*channel) : nullptr;
  }

  // A FabricConnection to the server without a channel around it, on a domain of its own.
  absl::StatusOr<std::shared_ptr<FabricConnection>> ConnectRaw() {
    std::string host, port;
    if (!SplitHostPort(server_->address(), &host, &port)) {
      return absl::InvalidArgumentError(server_->address());
    }
    absl::StatusOr<fi_info*> info = OpenFabricInfo("tcp", host, port, /*passive=*/false);
    if (!info.ok()) return info.status();
    auto domain = FabricDomain::Open(fi_dupinfo(*info));
    if (!domain.ok()) {
      fi_freeinfo(*info);
      return domain.status();
    }
    auto conn = FabricConnection::Connect(*domain, *info, absl::Now() + absl::Seconds(5));
    fi_freeinfo(*info);
    return conn;
  }

  static absl::StatusOr<A4Reply> CallAndWait(A4Channel& channel, const a4::Request& request,
                                             std::shared_ptr<const void> keep_alive = nullptr) {
    std::promise<absl::StatusOr<A4Reply>> reply;
    channel.Call(request, std::move(keep_alive), absl::Now() + absl::Seconds(10),
                 [&reply](absl::StatusOr<A4Reply> r) { reply.set_value(std::move(r)); });
    return reply.get_future().get();
  }

  cfs::testing::TempDir dir_;
  std::unique_ptr<DataNode> node_;
  std::unique_ptr<A4FabricServer> server_;
  FabricA4Transport transport_{"tcp"};
};

TEST_F(A4FabricTest, TheLargestFramesCrossInManyMessagesAndArriveWhole) {
  std::unique_ptr<A4Channel> channel = Connect();
  ASSERT_NE(channel, nullptr);
  EXPECT_EQ(transport_.Name(), "libfabric:tcp");
  auto data = std::make_shared<std::string>(a4::kMaxData, '\0');
  for (size_t i = 0; i < data->size(); ++i) (*data)[i] = static_cast<char>(i * 131 + i / 7);
  a4::Request write;
  write.op = a4::Op::kWrite;
  write.inode = 7;
  write.offset = 12345;
  write.data = *data;
  write.stability = backend::Stability::kFileSync;
  absl::StatusOr<A4Reply> wrote = CallAndWait(*channel, write, data);
  ASSERT_TRUE(wrote.ok()) << wrote.status();
  ASSERT_TRUE(wrote->response.status.ok()) << wrote->response.status;
  EXPECT_EQ(wrote->response.count, a4::kMaxData);
  EXPECT_EQ(wrote->response.verifier, node_->verifier());

  a4::Request read;
  read.op = a4::Op::kRead;
  read.inode = 7;
  read.offset = 12345;
  read.length = a4::kMaxData;
  absl::StatusOr<A4Reply> back = CallAndWait(*channel, read);
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_TRUE(back->response.status.ok()) << back->response.status;
  EXPECT_TRUE(back->response.data == *data);
  EXPECT_TRUE(back->response.eof);
}

TEST_F(A4FabricTest, ManyRequestsInFlightOnOneConnectionAreAnsweredByTheirIds) {
  std::unique_ptr<A4Channel> channel = Connect();
  ASSERT_NE(channel, nullptr);
  constexpr int kCalls = 300;  // more than the provider's 256-entry send queue
  std::vector<std::shared_ptr<std::string>> bodies;
  std::vector<std::promise<absl::StatusOr<A4Reply>>> replies(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    bodies.push_back(std::make_shared<std::string>(1000 + i, static_cast<char>('a' + i % 26)));
    a4::Request write;
    write.op = a4::Op::kWrite;
    write.inode = 100 + i;
    write.data = *bodies.back();
    channel->Call(write, bodies.back(), absl::Now() + absl::Seconds(20),
                  [&replies, i](absl::StatusOr<A4Reply> r) { replies[i].set_value(std::move(r)); });
  }
  for (int i = 0; i < kCalls; ++i) {
    absl::StatusOr<A4Reply> r = replies[i].get_future().get();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->response.count, 1000u + i);
  }
  for (int i = 0; i < kCalls; i += 37) {
    a4::Request read;
    read.op = a4::Op::kRead;
    read.inode = 100 + i;
    read.length = 5000;
    absl::StatusOr<A4Reply> r = CallAndWait(*channel, read);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(std::string(r->response.data), *bodies[i]);
  }
}

TEST_F(A4FabricTest, AMalformedFrameBreaksOnlyItsConnection) {
  std::unique_ptr<A4Channel> good = Connect();
  ASSERT_NE(good, nullptr);

  // A raw connection that sends 24 bytes of garbage where a header belongs.
  absl::StatusOr<std::shared_ptr<FabricConnection>> raw = ConnectRaw();
  ASSERT_TRUE(raw.ok()) << raw.status();
  std::promise<absl::Status> broken;
  auto group = std::make_shared<FabricConnectionGroup>();
  (*raw)->Start([](const a4::Header&, std::shared_ptr<std::string>) { return absl::OkStatus(); },
                [&broken](const absl::Status& why) { broken.set_value(why); }, nullptr, group);
  auto garbage = std::make_shared<const std::string>(a4::kHeaderSize, 'Z');
  ASSERT_TRUE((*raw)->Send(garbage, "", nullptr).ok());
  std::future<absl::Status> done = broken.get_future();
  ASSERT_EQ(done.wait_for(std::chrono::seconds(10)), std::future_status::ready)
      << "the server kept a connection that sent garbage";
  EXPECT_EQ(done.get().code(), absl::StatusCode::kUnavailable);

  // The well-behaved connection is still served.
  a4::Request ping;
  ping.op = a4::Op::kPing;
  absl::StatusOr<A4Reply> pong = CallAndWait(*good, ping);
  ASSERT_TRUE(pong.ok()) << pong.status();
  EXPECT_EQ(pong->response.verifier, node_->verifier());
  EXPECT_TRUE(group->WaitIdle(absl::Now() + absl::Seconds(10)));
}

// The owner of a connection waits on its FabricConnectionGroup before it goes (and before the
// process exits and libfabric tears its providers down): once the wait is over the thread is gone
// and, when it held the last reference, the endpoint is closed.
TEST_F(A4FabricTest, AProgressThreadCountsUntilItHasLetGoOfItsConnection) {
  absl::StatusOr<std::shared_ptr<FabricConnection>> raw = ConnectRaw();
  ASSERT_TRUE(raw.ok()) << raw.status();
  std::shared_ptr<FabricConnection> conn = std::move(*raw);
  std::weak_ptr<FabricConnection> weak = conn;
  auto group = std::make_shared<FabricConnectionGroup>();
  std::promise<bool> waited_on_itself;
  conn->Start([](const a4::Header&, std::shared_ptr<std::string>) { return absl::OkStatus(); },
              [&](const absl::Status&) {
                // On the progress thread itself the wait is for the others: none.
                waited_on_itself.set_value(group->WaitIdle(absl::Now() + absl::Seconds(1)));
              },
              nullptr, group);
  EXPECT_EQ(group->running(), 1u);
  EXPECT_FALSE(group->WaitIdle(absl::Now() + absl::Milliseconds(50)));

  conn->Break(absl::UnavailableError("test"));
  conn.reset();
  ASSERT_TRUE(group->WaitIdle(absl::Now() + absl::Seconds(10)));
  EXPECT_EQ(group->running(), 0u);
  EXPECT_TRUE(weak.expired()) << "the thread left while still holding its connection";
  EXPECT_TRUE(waited_on_itself.get_future().get());
}

TEST_F(A4FabricTest, DestroyingTheTransportBreaksItsChannels) {
  auto transport = std::make_unique<FabricA4Transport>("tcp");
  auto channel = transport->Connect(server_->address(), absl::Now() + absl::Seconds(5));
  ASSERT_TRUE(channel.ok()) << channel.status();
  a4::Request ping;
  ping.op = a4::Op::kPing;
  ASSERT_TRUE(CallAndWait(**channel, ping).ok());

  transport.reset();
  EXPECT_TRUE((*channel)->Broken());
  EXPECT_EQ(CallAndWait(**channel, ping).status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(A4FabricTest, ClosingAChannelFailsItsCallsAndLaterOnes) {
  std::unique_ptr<A4Channel> channel = Connect();
  ASSERT_NE(channel, nullptr);
  channel->Close();
  EXPECT_TRUE(channel->Broken());
  a4::Request ping;
  ping.op = a4::Op::kPing;
  absl::StatusOr<A4Reply> r = CallAndWait(*channel, ping);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(A4FabricTest, NoListenerOrNoSuchProviderIsUnavailable) {
  std::string address = server_->address();
  server_->Shutdown(absl::Now());
  auto refused = transport_.Connect(address, absl::Now() + absl::Seconds(5));
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(refused.status().code() == absl::StatusCode::kUnavailable ||
              refused.status().code() == absl::StatusCode::kDeadlineExceeded)
      << refused.status();

  FabricA4Transport nonsense("no-such-provider");
  auto none = nonsense.Connect(address, absl::Now() + absl::Seconds(5));
  EXPECT_EQ(none.status().code(), absl::StatusCode::kUnavailable) << none.status();
  EXPECT_NE(none.status().message().find("no-such-provider"), std::string::npos);

  EXPECT_EQ(transport_.Connect("no-port", absl::Now()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cfs::remote
