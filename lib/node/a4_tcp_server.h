// A4TcpServer: a cfs-node's A4 data service over TCP, on the io_uring TcpServer. Each frame is
// decoded on the loop thread, served by DataNode on a bounded worker pool (disk I/O blocks),
// and answered through the connection in any order (the request id pairs them). A malformed
// frame closes its connection; the server keeps serving the others.
// Thread-safe (Start/Shutdown from one thread).
//
// Example:
//   A4TcpServer server(*data_node, A4TcpServer::Options{});
//   CFS_RETURN_IF_ERROR(server.Start("127.0.0.1", 0));
//   std::string address = server.address();  // "127.0.0.1:<port>"

#ifndef CFS_LIB_BACKENDS_REMOTE_A4_TCP_SERVER_H_
#define CFS_LIB_BACKENDS_REMOTE_A4_TCP_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "lib/common/net/tcp_server.h"
#include "lib/common/thread_pool.h"
#include "lib/node/data_node.h"

namespace cfs::remote {

class A4TcpServer {
 public:
  struct Options {
    int io_threads = 8;          // DataNode workers (blocking disk I/O)
    size_t max_in_flight = 128;  // per connection; reading pauses beyond it
    // Fault injection for tests: every request waits this long before it is served.
    absl::Duration inject_delay = absl::ZeroDuration();
  };

  // Borrows `node`, which must outlive the server.
  A4TcpServer(DataNode& node, Options options);
  ~A4TcpServer();

  absl::Status Start(const std::string& host, int port);
  std::string address() const;
  // Stops accepting, lets requests in flight finish until `deadline`, closes everything.
  void Shutdown(absl::Time deadline);

 private:
  class Handler;
  DataNode& node_;
  Options options_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<net::TcpServer> server_;
};

}  // namespace cfs::remote

#endif  // CFS_LIB_BACKENDS_REMOTE_A4_TCP_SERVER_H_
