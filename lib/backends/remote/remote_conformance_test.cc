// Runs the SPI conformance suite against the remote backend: a 3-node cfs-node cluster in this
// process (one metadata node, three data nodes, 64 KiB stripes so small tests cross nodes),
// reached over each A4 transport.

#include <memory>
#include <string>

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

BackendFactory ClusterFactory(std::string name, TransportMaker transport) {
  return {std::move(name),
          [transport](const std::string& dir) -> std::unique_ptr<backend::Backend> {
            cfs::testing::LocalClusterOptions options;
            options.nodes = 3;
            options.stripe_size = 64 << 10;
            auto backend = cfs::testing::OpenClusterBackend(dir, options, transport());
            if (!backend.ok()) {
              ADD_FAILURE() << backend.status();
              return nullptr;
            }
            return std::move(*backend);
          }};
}

INSTANTIATE_TEST_SUITE_P(Remote, BackendConformanceTest,
                         ::testing::Values(ClusterFactory("socket", &Socket),
                                           ClusterFactory("tcp_uring", &Uring)),
                         [](const ::testing::TestParamInfo<BackendFactory>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace cfs::remote
