#include "testing/local_cluster.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/backends/filters/forwarding_backend.h"
#include "lib/backends/remote/remote_backend.h"

namespace cfs::testing {

absl::StatusOr<std::unique_ptr<LocalCluster>> LocalCluster::Start(
    const std::string& dir, const LocalClusterOptions& options) {
  if (options.nodes == 0) return absl::InvalidArgumentError("a cluster needs a node");
  std::unique_ptr<LocalCluster> cluster(new LocalCluster());
  std::vector<std::unique_ptr<remote::CfsNode>> data_only;
  remote::ClusterLayout layout;
  layout.stripe_size = options.stripe_size;
  layout.data_servers.push_back("self");
  if (options.fabric) layout.fabric_servers.push_back("self");
  for (size_t i = 1; i < options.nodes; ++i) {
    remote::CfsNodeOptions node;
    node.data_dir = absl::StrCat(dir, "/node", i);
    node.io_threads = options.io_threads;
    if (options.fabric) {
      node.fabric_port = 0;
      node.fabric_provider = options.fabric_provider;
    }
    absl::StatusOr<std::unique_ptr<remote::CfsNode>> started = remote::CfsNode::Start(node);
    if (!started.ok()) return started.status();
    layout.data_servers.push_back((*started)->a4_address());
    if (options.fabric) layout.fabric_servers.push_back((*started)->fabric_address());
    data_only.push_back(std::move(*started));
  }
  remote::CfsNodeOptions meta;
  meta.data_dir = absl::StrCat(dir, "/node0");
  meta.io_threads = options.io_threads;
  meta.serve_metadata = true;
  if (options.fabric) {
    meta.fabric_port = 0;
    meta.fabric_provider = options.fabric_provider;
  }
  meta.layout = layout;
  absl::StatusOr<std::unique_ptr<remote::CfsNode>> first = remote::CfsNode::Start(meta);
  if (!first.ok()) return first.status();
  cluster->nodes_.push_back(std::move(*first));
  for (auto& node : data_only) cluster->nodes_.push_back(std::move(node));
  return cluster;
}

LocalCluster::~LocalCluster() { Shutdown(); }

std::vector<std::string> LocalCluster::data_addresses() const {
  std::vector<std::string> out;
  for (const auto& node : nodes_) out.push_back(node->a4_address());
  return out;
}

void LocalCluster::Shutdown() {
  for (auto& node : nodes_) node->Shutdown(absl::Now() + absl::Seconds(5));
}

namespace {

// The remote backend plus the cluster it talks to; Shutdown stops both, backend first.
class ClusterBackend : public filters::ForwardingBackend {
 public:
  ClusterBackend(backend::BackendPtr remote, std::unique_ptr<LocalCluster> cluster)
      : ForwardingBackend(std::move(remote)), cluster_(std::move(cluster)) {}
  ~ClusterBackend() override { (void)Shutdown(absl::Now()); }

  absl::Status Shutdown(absl::Time deadline) override {
    absl::Status s = ForwardingBackend::Shutdown(deadline);
    cluster_->Shutdown();
    return s;
  }

 private:
  std::unique_ptr<LocalCluster> cluster_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<backend::Backend>> OpenClusterBackend(
    const std::string& dir, const LocalClusterOptions& options,
    std::shared_ptr<remote::A4Transport> transport) {
  absl::StatusOr<std::unique_ptr<LocalCluster>> cluster = LocalCluster::Start(dir, options);
  if (!cluster.ok()) return cluster.status();
  remote::RemoteBackendOptions remote;
  remote.metadata_address = (*cluster)->metadata_address();
  remote.transport = std::move(transport);
  absl::StatusOr<std::unique_ptr<remote::RemoteBackend>> backend =
      remote::RemoteBackend::Connect(remote);
  if (!backend.ok()) return backend.status();
  return std::unique_ptr<backend::Backend>(
      new ClusterBackend(std::move(*backend), std::move(*cluster)));
}

}  // namespace cfs::testing
