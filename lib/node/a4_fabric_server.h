// A4FabricServer: a cfs-node's A4 data service over libfabric (FI_EP_MSG): a passive endpoint
// listens, every accepted connection is a FabricConnection whose frames are served by DataNode
// on a bounded worker pool and answered in any order (the request id pairs them). A connection
// with max_in_flight requests being served is not read until one finishes. A malformed frame
// breaks its connection; the server keeps serving the others.
// Thread-safe (Start/Shutdown from one thread).
//
// Example:
//   A4FabricServer server(*data_node, A4FabricServer::Options{.provider = "tcp"});
//   CFS_RETURN_IF_ERROR(server.Start("127.0.0.1", 0));
//   std::string address = server.address();  // "127.0.0.1:<port>"

#ifndef CFS_LIB_BACKENDS_REMOTE_A4_FABRIC_SERVER_H_
#define CFS_LIB_BACKENDS_REMOTE_A4_FABRIC_SERVER_H_

#include <rdma/fabric.h>
#include <rdma/fi_endpoint.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "lib/backends/remote/fabric_connection.h"
#include "lib/common/thread_pool.h"
#include "lib/node/data_node.h"

namespace cfs::remote {

class A4FabricServer {
 public:
  struct Options {
    std::string provider;        // "tcp", "sockets"; empty: the first libfabric offers
    int io_threads = 8;          // DataNode workers (blocking disk I/O)
    size_t max_in_flight = 128;  // per connection
    // Fault injection for tests: every request waits this long before it is served.
    absl::Duration inject_delay = absl::ZeroDuration();
  };

  // Borrows `node`, which must outlive the server.
  A4FabricServer(DataNode& node, Options options);
  ~A4FabricServer();

  // Listens on host:port (0: any free port). Errors: kUnavailable (no provider, port taken).
  absl::Status Start(const std::string& host, int port);
  std::string address() const { return address_; }
  std::string provider() const;
  // Stops accepting, breaks every connection, lets requests being served finish. On return no
  // thread of the server is left and every connection's endpoint is closed.
  void Shutdown(absl::Time deadline);

 private:
  struct Tracker;
  void ListenLoop();
  void Serve(const std::shared_ptr<FabricConnection>& conn);

  DataNode& node_;
  const Options options_;
  std::unique_ptr<ThreadPool> pool_;
  std::shared_ptr<FabricDomain> domain_;
  fid_eq* eq_ = nullptr;
  fid_pep* pep_ = nullptr;
  std::string address_;
  std::atomic<bool> stopping_{false};
  std::thread listener_;
  // Every accepted connection, broken and waited for by Shutdown.
  std::shared_ptr<FabricConnectionGroup> conns_ = std::make_shared<FabricConnectionGroup>();
};

}  // namespace cfs::remote

#endif  // CFS_LIB_BACKENDS_REMOTE_A4_FABRIC_SERVER_H_
