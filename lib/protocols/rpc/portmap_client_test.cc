#include "lib/protocols/rpc/portmap_client.h"

#include <mutex>
#include <set>
#include <tuple>

#include "gtest/gtest.h"
#include "lib/common/net/tcp_server.h"
#include "lib/protocols/rpc/rpc_server.h"
#include "lib/protocols/rpc/xdr.h"

namespace cfs::rpc {
namespace {

// A portmapper (program 100000 v2) that records SET and UNSET.
class FakePortmapper : public RpcProgram {
 public:
  uint32_t program() const override { return 100000; }
  uint32_t min_version() const override { return 2; }
  uint32_t max_version() const override { return 2; }
  bool IsNonIdempotent(uint32_t, uint32_t) const override { return false; }
  bool RequiresAuthSys(uint32_t) const override { return false; }
  void Dispatch(RpcCall call, RpcReply reply) override {
    XdrReader in(call.args);
    uint32_t prog = in.U32();
    uint32_t vers = in.U32();
    uint32_t prot = in.U32();
    uint32_t port = in.U32();
    auto mapping = std::make_tuple(prog, vers, prot, port);
    {
      std::lock_guard<std::mutex> lock(mu);
      if (call.procedure == 1) set.insert(mapping);
      if (call.procedure == 2) {
        for (auto it = set.begin(); it != set.end();) {
          bool same =
              std::get<0>(*it) == std::get<0>(mapping) && std::get<1>(*it) == std::get<1>(mapping);
          it = same ? set.erase(it) : std::next(it);
        }
      }
    }
    XdrWriter out;
    out.Bool(true);
    std::move(reply)(AcceptStat::kSuccess, out.Release(), "");
  }
  std::mutex mu;
  std::set<std::tuple<uint32_t, uint32_t, uint32_t, uint32_t>> set;
};

TEST(PortmapRegistrationTest, RegistersAndUnregisters) {
  FakePortmapper portmapper;
  DuplicateRequestCache cache;
  RpcDispatcher dispatcher({&portmapper}, &cache);
  net::TcpServer server(net::TcpServerOptions{}, dispatcher.HandlerFactory());
  ASSERT_TRUE(server.Start("127.0.0.1", 0).ok());
  {
    PortmapRegistration reg("127.0.0.1", server.port());
    ASSERT_TRUE(reg.Register({{100003, 3, 12049}, {100005, 3, 12048}}).ok());
    std::lock_guard<std::mutex> lock(portmapper.mu);
    EXPECT_EQ(portmapper.set.count(std::make_tuple(100003u, 3u, 6u, 12049u)), 1u);
    EXPECT_EQ(portmapper.set.count(std::make_tuple(100005u, 3u, 6u, 12048u)), 1u);
  }
  std::lock_guard<std::mutex> lock(portmapper.mu);
  EXPECT_TRUE(portmapper.set.empty()) << "mappings were left behind";
}

TEST(PortmapRegistrationTest, NoPortmapperIsUnavailable) {
  // Port 1 on loopback: nothing listens there.
  PortmapRegistration reg("127.0.0.1", 1);
  EXPECT_EQ(reg.Register({{100003, 3, 2049}}).code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace cfs::rpc
