// Loopback socket helpers for tests that talk to a server they started on 127.0.0.1.
//
// Example:
//   int fd = cfs::testing::ConnectLoopback(server.port());  // -1 if refused
//   sockaddr_in to = cfs::testing::LoopbackAddress(udp.port());

#ifndef CFS_TESTING_LOOPBACK_H_
#define CFS_TESTING_LOOPBACK_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace cfs::testing {

inline sockaddr_in LoopbackAddress(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  return addr;
}

// A TCP connection to 127.0.0.1:`port`, or -1.
inline int ConnectLoopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = LoopbackAddress(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace cfs::testing

#endif  // CFS_TESTING_LOOPBACK_H_
