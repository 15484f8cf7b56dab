#include "lib/node/cfs_node.h"

#include <filesystem>
#include <system_error>
#include <utility>

#include "lib/backends/embedded/embedded_backend.h"

namespace cfs::remote {

absl::StatusOr<std::unique_ptr<CfsNode>> CfsNode::Start(const CfsNodeOptions& options) {
  if (options.data_dir.empty()) return absl::InvalidArgumentError("cfs-node: data_dir is empty");
  std::error_code error;
  std::filesystem::create_directories(options.data_dir, error);
  if (error) {
    return absl::UnavailableError("cfs-node: cannot create " + options.data_dir + ": " +
                                  error.message());
  }
  std::unique_ptr<CfsNode> node(new CfsNode());
  absl::StatusOr<std::unique_ptr<DataNode>> data = DataNode::Open(options.data_dir + "/data");
  if (!data.ok()) return data.status();
  node->data_ = std::move(*data);
  A4TcpServer::Options a4;
  a4.io_threads = options.io_threads;
  a4.inject_delay = options.inject_delay;
  node->a4_ = std::make_unique<A4TcpServer>(*node->data_, a4);
  if (absl::Status s = node->a4_->Start(options.host, options.a4_port); !s.ok()) return s;
  if (options.fabric_port >= 0) {
    A4FabricServer::Options fabric;
    fabric.provider = options.fabric_provider;
    fabric.io_threads = options.io_threads;
    fabric.inject_delay = options.inject_delay;
    node->fabric_ = std::make_unique<A4FabricServer>(*node->data_, fabric);
    if (absl::Status s = node->fabric_->Start(options.host, options.fabric_port); !s.ok()) {
      return s;
    }
  }
  if (!options.serve_metadata) return node;

  embedded::EmbeddedBackendOptions meta;
  meta.data_dir = options.data_dir + "/metadata";
  meta.worker_threads = options.io_threads;
  absl::StatusOr<std::unique_ptr<embedded::EmbeddedBackend>> ns =
      embedded::EmbeddedBackend::Open(meta);
  if (!ns.ok()) return ns.status();
  node->namespace_ = std::move(*ns);
  ClusterLayout layout = options.layout;
  if (layout.data_servers.empty()) layout.data_servers.push_back("self");
  for (std::string& server : layout.data_servers) {
    if (server == "self") server = node->a4_->address();
  }
  for (std::string& server : layout.fabric_servers) {
    if (server != "self") continue;
    if (node->fabric_ == nullptr) {
      return absl::InvalidArgumentError(
          "cfs-node: 'self' in the libfabric servers, but this "
          "node does not serve libfabric");
    }
    server = node->fabric_->address();
  }
  node->metadata_ = std::make_unique<MetadataServer>(*node->namespace_, std::move(layout));
  if (absl::Status s = node->metadata_->Start(options.host, options.a2_port); !s.ok()) return s;
  return node;
}

CfsNode::~CfsNode() { Shutdown(absl::Now()); }

void CfsNode::Shutdown(absl::Time deadline) {
  if (metadata_ != nullptr) metadata_->Shutdown(deadline);
  if (a4_ != nullptr) a4_->Shutdown(deadline);
  if (fabric_ != nullptr) fabric_->Shutdown(deadline);
  if (namespace_ != nullptr) {
    (void)namespace_->Shutdown(deadline);
    namespace_.reset();
  }
  metadata_.reset();
  a4_.reset();
  fabric_.reset();
  data_.reset();
}

}  // namespace cfs::remote
