// Runs the SPI conformance suite against the remote backend: a 3-node cfs-node cluster in this
// process (one metadata node, three data nodes, 64 KiB stripes so small tests cross nodes),
// reached over each A4 transport: TCP on io_uring, blocking sockets, and libfabric with each
// software provider (tcp, sockets).

#include <memory>
#include <string>

#include "lib/backends/remote/a4_fabric_transport.h"
#include "lib/backends/remote/a4_socket_transport.h"
#include "lib/backends/remote/a4_uring_transport.h"
#include "testing/conformance/backend_conformance.h"
#include "testing/local_cluster.h"

namespace cfs::remote {
namespace {

using cfs::testing::BackendConformanceTest;
using cfs::testing::BackendFactory;

// Transports are made on first use, not during static initialisation (they start threads).
using TransportMaker = std::shared_ptr<A4Transport> (*)();

std::shared_ptr<A4Transport> Socket() {
  static auto* transport = new std::shared_ptr<A4Transport>(std::make_shared<SocketA4Transport>());
  return *transport;
}

std::shared_ptr<A4Transport> Uring() {
  static auto* transport = new std::shared_ptr<A4Transport>(
      std::make_shared<UringA4Transport>(UringA4Transport::Options{}));
  return *transport;
}

std::shared_ptr<A4Transport> FabricTcp() {
  static auto* transport =
      new std::shared_ptr<A4Transport>(std::make_shared<FabricA4Transport>("tcp"));
  return *transport;
}

std::shared_ptr<A4Transport> FabricSockets() {
  static auto* transport =
      new std::shared_ptr<A4Transport>(std::make_shared<FabricA4Transport>("sockets"));
  return *transport;
}

// `fabric_provider`: the provider the nodes serve libfabric with, the transport's own (the two
// software providers do not speak to each other).
BackendFactory ClusterFactory(std::string name, TransportMaker transport,
                              std::string fabric_provider = "") {
  return {
      std::move(name),
      [transport, fabric_provider](const std::string& dir) -> std::unique_ptr<backend::Backend> {
        cfs::testing::LocalClusterOptions options;
        options.nodes = 3;
        options.stripe_size = 64 << 10;
        options.fabric_provider = fabric_provider;
        auto backend = cfs::testing::OpenClusterBackend(dir, options, transport());
        if (!backend.ok()) {
          ADD_FAILURE() << backend.status();
          return nullptr;
        }
        return std::move(*backend);
      }};
}

INSTANTIATE_TEST_SUITE_P(
    Remote, BackendConformanceTest,
    ::testing::Values(ClusterFactory("socket", &Socket), ClusterFactory("tcp_uring", &Uring),
                      ClusterFactory("libfabric_tcp", &FabricTcp, "tcp"),
                      ClusterFactory("libfabric_sockets", &FabricSockets, "sockets")),
    [](const ::testing::TestParamInfo<BackendFactory>& info) { return info.param.name; });

}  // namespace
}  // namespace cfs::remote
