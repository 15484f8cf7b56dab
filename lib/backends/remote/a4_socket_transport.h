// SocketA4Transport: A4 over plain blocking TCP sockets: one reader thread per connection and
// sends serialised by a mutex (writev of head and data, no copy). The simplest transport and
// the baseline the io_uring and libfabric transports are measured against.
// Thread-safe.
//
// Example:
//   SocketA4Transport transport;
//   auto channel = transport.Connect("127.0.0.1:7100", absl::Now() + absl::Seconds(5));

#ifndef CFS_LIB_BACKENDS_REMOTE_A4_SOCKET_TRANSPORT_H_
#define CFS_LIB_BACKENDS_REMOTE_A4_SOCKET_TRANSPORT_H_

#include <memory>
#include <string>

#include "lib/backends/remote/a4_channel.h"

namespace cfs::remote {

class SocketA4Transport : public A4Transport {
 public:
  std::string Name() const override { return "socket"; }
  absl::StatusOr<std::unique_ptr<A4Channel>> Connect(const std::string& address,
                                                     absl::Time deadline) override;
};

// Opens a TCP connection to "host:port" (numeric host) before `deadline`, with TCP_NODELAY.
// Returns the connected blocking socket. Shared by the TCP transports.
absl::StatusOr<int> ConnectTcp(const std::string& address, absl::Time deadline);

}  // namespace cfs::remote

#endif  // CFS_LIB_BACKENDS_REMOTE_A4_SOCKET_TRANSPORT_H_
