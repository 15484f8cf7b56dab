// CfsNode: one node of a ClaudeFS cluster as cfs-node runs it: always an A4 data service (a
// DataNode behind the A4 TCP server), and on the metadata node also the A2 service over an
// embedded backend that holds the namespace. Several nodes on one machine (or in one process,
// for tests) form a cluster: the metadata node's layout lists every data node's A4 address.
// Thread-compatible: Start, then Shutdown, from one thread.
//
// Example:
//   CfsNodeOptions options;
//   options.data_dir = "/var/lib/cfs-node";
//   options.serve_metadata = true;
//   options.layout.data_servers = {"self", "10.0.0.2:7100", "10.0.0.3:7100"};
//   absl::StatusOr<std::unique_ptr<CfsNode>> node = CfsNode::Start(options);

#ifndef CFS_LIB_BACKENDS_REMOTE_CFS_NODE_H_
#define CFS_LIB_BACKENDS_REMOTE_CFS_NODE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "lib/backend/backend.h"
#include "lib/node/a4_fabric_server.h"
#include "lib/node/a4_tcp_server.h"
#include "lib/node/data_node.h"
#include "lib/node/metadata_server.h"

namespace cfs::remote {

struct CfsNodeOptions {
  std::string data_dir;  // <data_dir>/data: stripes; <data_dir>/metadata: namespace
  std::string host = "127.0.0.1";
  int a4_port = 0;  // 0 picks a free port
  // A4 over libfabric as well: the port (0 picks a free one), or -1 for TCP only.
  int fabric_port = -1;
  std::string fabric_provider;  // "tcp", "sockets"; empty: the first libfabric offers
  bool serve_metadata = false;
  int a2_port = 0;
  // The metadata node's cluster layout; "self" stands for this node's own A4 address (in
  // fabric_servers: its own libfabric address).
  ClusterLayout layout;
  int io_threads = 8;
  // Fault injection for tests: every A4 request waits this long before it is served.
  absl::Duration inject_delay = absl::ZeroDuration();
};

class CfsNode {
 public:
  // Errors: kInvalidArgument (options), kUnavailable (a port), the store's open errors.
  static absl::StatusOr<std::unique_ptr<CfsNode>> Start(const CfsNodeOptions& options);
  ~CfsNode();

  std::string a4_address() const { return a4_->address(); }
  // Empty unless this node serves A4 over libfabric.
  std::string fabric_address() const { return fabric_ == nullptr ? "" : fabric_->address(); }
  // Empty unless this node serves metadata.
  std::string a2_address() const { return metadata_ == nullptr ? "" : metadata_->address(); }

  // Stops serving, lets requests in flight finish until `deadline`, closes the stores.
  void Shutdown(absl::Time deadline);

 private:
  CfsNode() = default;
  std::unique_ptr<DataNode> data_;
  std::unique_ptr<A4TcpServer> a4_;
  std::unique_ptr<A4FabricServer> fabric_;
  std::unique_ptr<backend::Backend> namespace_;
  std::unique_ptr<MetadataServer> metadata_;
};

}  // namespace cfs::remote

#endif  // CFS_LIB_BACKENDS_REMOTE_CFS_NODE_H_
