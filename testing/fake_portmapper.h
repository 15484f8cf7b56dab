// FakePortmapper: a PMAP v2 server on 127.0.0.1 (port 0) that records SET and UNSET, for tests
// of portmapper registration without binding port 111. Thread-safe.
//
// Example:
//   FakePortmapper portmapper;
//   options.portmapper_port = portmapper.port();
//   EXPECT_TRUE(portmapper.Has(100003, 3, 6, nfs_port));

#ifndef CFS_TESTING_FAKE_PORTMAPPER_H_
#define CFS_TESTING_FAKE_PORTMAPPER_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <tuple>

#include "lib/common/net/tcp_server.h"
#include "lib/protocols/rpc/rpc_server.h"
#include "lib/protocols/rpc/xdr.h"

namespace cfs::testing {

class FakePortmapper : public rpc::RpcProgram {
 public:
  using Mapping = std::tuple<uint32_t, uint32_t, uint32_t, uint32_t>;  // prog, vers, prot, port

  FakePortmapper()
      : dispatcher_({this}, &cache_),
        server_(net::TcpServerOptions{}, dispatcher_.HandlerFactory()) {
    started_ = server_.Start("127.0.0.1", 0).ok();
  }
  ~FakePortmapper() override { server_.Shutdown(absl::Now() + absl::Seconds(5)); }

  bool started() const { return started_; }
  int port() const { return server_.port(); }
  bool Has(uint32_t program, uint32_t version, uint32_t protocol, uint32_t port) {
    std::lock_guard<std::mutex> lock(mu_);
    return mappings_.count(Mapping{program, version, protocol, port}) != 0;
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return mappings_.size();
  }

  uint32_t program() const override { return 100000; }
  uint32_t min_version() const override { return 2; }
  uint32_t max_version() const override { return 2; }
  bool IsNonIdempotent(uint32_t, uint32_t) const override { return false; }
  bool RequiresAuthSys(uint32_t) const override { return false; }
  void Dispatch(rpc::RpcCall call, rpc::RpcReply reply) override {
    rpc::XdrReader in(call.args);
    uint32_t program = in.U32();
    uint32_t version = in.U32();
    uint32_t protocol = in.U32();
    uint32_t port = in.U32();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (call.procedure == 1) mappings_.insert(Mapping{program, version, protocol, port});
      if (call.procedure == 2) {  // UNSET: every protocol of program + version
        for (auto it = mappings_.begin(); it != mappings_.end();) {
          bool same = std::get<0>(*it) == program && std::get<1>(*it) == version;
          it = same ? mappings_.erase(it) : std::next(it);
        }
      }
    }
    rpc::XdrWriter out;
    out.Bool(true);
    std::move(reply)(rpc::AcceptStat::kSuccess, out.Release(), "");
  }

 private:
  std::mutex mu_;
  std::set<Mapping> mappings_;
  rpc::DuplicateRequestCache cache_;
  rpc::RpcDispatcher dispatcher_;
  net::TcpServer server_;
  bool started_ = false;
};

}  // namespace cfs::testing

#endif  // CFS_TESTING_FAKE_PORTMAPPER_H_
