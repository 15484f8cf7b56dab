// Runs the SPI conformance suite against the remote backend: a 3-node cfs-node cluster in this
// process (one metadata node, three data nodes, 64 KiB stripes so small tests cross nodes),
// reached over each A4 transport.

#include <memory>
#include <string>

#include "lib/backends/remote/a4_socket_transport.h"
#include "testing/conformance/backend_conformance.h"
#include "testing/local_cluster.h"

namespace cfs::remote {
namespace {

using cfs::testing::BackendConformanceTest;
using cfs::testing::BackendFactory;

BackendFactory ClusterFactory(std::string name, std::shared_ptr<A4Transport> transport) {
  return {std::move(name),
          [transport](const std::string& dir) -> std::unique_ptr<backend::Backend> {
            cfs::testing::LocalClusterOptions options;
            options.nodes = 3;
            options.stripe_size = 64 << 10;
            auto backend = cfs::testing::OpenClusterBackend(dir, options, transport);
            if (!backend.ok()) {
              ADD_FAILURE() << backend.status();
              return nullptr;
            }
            return std::move(*backend);
          }};
}

INSTANTIATE_TEST_SUITE_P(
    Remote, BackendConformanceTest,
    ::testing::Values(ClusterFactory("socket", std::make_shared<SocketA4Transport>())),
    [](const ::testing::TestParamInfo<BackendFactory>& info) { return info.param.name; });

}  // namespace
}  // namespace cfs::remote
