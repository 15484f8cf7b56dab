// SplitHostPort: splits an A4 address "host:port" (the host may be "[v6]") into its parts, for
// every transport that connects to one. Pure function.
//
// Example:
//   std::string host, port;
//   if (!SplitHostPort("127.0.0.1:7100", &host, &port)) return absl::InvalidArgumentError(...);

#ifndef CFS_LIB_BACKENDS_REMOTE_HOST_PORT_H_
#define CFS_LIB_BACKENDS_REMOTE_HOST_PORT_H_

#include <string>

#include "absl/strings/numbers.h"

namespace cfs::remote {

// False unless `address` is "host:port" with a port in 1..65535.
inline bool SplitHostPort(const std::string& address, std::string* host, std::string* port) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) return false;
  *host = address.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  *port = address.substr(colon + 1);
  int p = 0;
  return absl::SimpleAtoi(*port, &p) && p > 0 && p < 65536;
}

}  // namespace cfs::remote

#endif  // CFS_LIB_BACKENDS_REMOTE_HOST_PORT_H_
