// LocalCluster: a cfs-node cluster inside the test process: node 0 serves metadata (A2) and
// data, nodes 1..n-1 serve data, all on 127.0.0.1 with ports picked by the kernel, their state
// under one directory (so a cluster started again on it finds its files). ClusterBackend is a
// RemoteBackend connected to such a cluster that owns it: what the conformance suite and the
// integration tests open.
//
// Example:
//   absl::StatusOr<std::unique_ptr<backend::Backend>> b =
//       OpenClusterBackend(dir, {.nodes = 3, .stripe_size = 64 << 10});

#ifndef CFS_TESTING_LOCAL_CLUSTER_H_
#define CFS_TESTING_LOCAL_CLUSTER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/backend/backend.h"
#include "lib/backends/remote/a4_channel.h"
#include "lib/node/cfs_node.h"

namespace cfs::testing {

struct LocalClusterOptions {
  size_t nodes = 3;
  uint64_t stripe_size = 64 << 10;
  int io_threads = 4;
  // Every node also serves A4 over libfabric with this provider ("" picks one); the layout
  // then lists their libfabric addresses too.
  bool fabric = true;
  std::string fabric_provider;
};

class LocalCluster {
 public:
  static absl::StatusOr<std::unique_ptr<LocalCluster>> Start(const std::string& dir,
                                                             const LocalClusterOptions& options);
  ~LocalCluster();

  std::string metadata_address() const { return nodes_.front()->a2_address(); }
  std::vector<std::string> data_addresses() const;
  remote::CfsNode& node(size_t i) { return *nodes_[i]; }
  void Shutdown();

 private:
  std::vector<std::unique_ptr<remote::CfsNode>> nodes_;
};

// A RemoteBackend over `transport` connected to a fresh LocalCluster under `dir`, owning it.
absl::StatusOr<std::unique_ptr<backend::Backend>> OpenClusterBackend(
    const std::string& dir, const LocalClusterOptions& options,
    std::shared_ptr<remote::A4Transport> transport);

}  // namespace cfs::testing

#endif  // CFS_TESTING_LOCAL_CLUSTER_H_
