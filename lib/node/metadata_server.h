// MetadataServer: a cfs-node's A2 service (proto/a2.proto) over gRPC, answering each RPC from a
// local backend (the embedded one) with the caller's identity and deadline. It also owns the
// cluster's data layout: the stripe size and the data servers' A4 addresses (Stripes,
// GetExtentMap), and keeps each file's size as writes to data nodes are noted (NoteWrite).
// Thread-safe; gRPC's sync server runs each RPC on its own thread pool.
//
// Example:
//   MetadataServer server(*backend, {.stripe_size = 1 << 20, .data_servers = {"127.0.0.1:7101"}});
//   CFS_RETURN_IF_ERROR(server.Start("127.0.0.1", 0));

#ifndef CFS_LIB_BACKENDS_REMOTE_METADATA_SERVER_H_
#define CFS_LIB_BACKENDS_REMOTE_METADATA_SERVER_H_

#include <array>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"
#include "lib/backend/backend.h"
#include "lib/backends/remote/proto/a2.grpc.pb.h"

namespace cfs::remote {

struct ClusterLayout {
  uint64_t stripe_size = 1 << 20;
  std::vector<std::string> data_servers;  // A4 addresses, in placement order
  // The same nodes' libfabric A4 addresses, in the same order; empty when not served.
  std::vector<std::string> fabric_servers;
};

class MetadataServer {
 public:
  // Borrows `backend`, which must outlive the server.
  MetadataServer(backend::Backend& backend, ClusterLayout layout);
  ~MetadataServer();

  // Errors: kInvalidArgument (no data servers, stripe size 0), kUnavailable (bind).
  absl::Status Start(const std::string& host, int port);
  std::string address() const { return address_; }
  void Shutdown(absl::Time deadline);

 private:
  class Service;
  const bool valid_layout_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

}  // namespace cfs::remote

#endif  // CFS_LIB_BACKENDS_REMOTE_METADATA_SERVER_H_
