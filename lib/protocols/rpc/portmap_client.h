// Registers RPC programs with the system's portmapper (rpcbind, PMAP v2 over TCP) so stock
// clients that ask port 111 find the gateway, and unregisters them at shutdown. Without a
// portmapper the gateway still works for clients given the ports (libnfs: nfsport/mountport).
//
// Example:
//   PortmapRegistration reg("127.0.0.1", 111);
//   absl::Status s = reg.Register({{100003, 3, 2049}, {100005, 3, 20048}});
//   ...
//   reg.UnregisterAll();

#ifndef CFS_LIB_PROTOCOLS_RPC_PORTMAP_CLIENT_H_
#define CFS_LIB_PROTOCOLS_RPC_PORTMAP_CLIENT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace cfs::rpc {

struct PortMapping {
  uint32_t program = 0;
  uint32_t version = 0;
  uint32_t port = 0;
  uint32_t protocol = 6;  // IPPROTO_TCP
};

class PortmapRegistration {
 public:
  PortmapRegistration(std::string host, int port, absl::Duration timeout = absl::Seconds(1));
  ~PortmapRegistration();  // unregisters what it registered

  // PMAPPROC_SET for each mapping (after a PMAPPROC_UNSET of stale ones). Errors:
  // kUnavailable (no portmapper listening), kInternal (it refused a mapping).
  absl::Status Register(const std::vector<PortMapping>& mappings);
  void UnregisterAll();

 private:
  absl::Status Call(uint32_t procedure, const PortMapping& mapping, bool* result);

  std::string host_;
  int port_;
  absl::Duration timeout_;
  std::vector<PortMapping> registered_;
  uint32_t next_xid_ = 1;
};

}  // namespace cfs::rpc

#endif  // CFS_LIB_PROTOCOLS_RPC_PORTMAP_CLIENT_H_
