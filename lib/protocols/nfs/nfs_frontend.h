// NfsFrontend: the "nfs" protocol of the gateway: NFSv3 and MOUNT v3 over TCP and UDP, on the
// NFS port and the MOUNT port (both serve both programs, so clients given either port work).
// Registers both with the system portmapper when one answers on options.portmapper_port.
//
// Example:
//   builder.AddFrontend(std::make_unique<cfs::nfs::NfsFrontend>());

#ifndef CFS_LIB_PROTOCOLS_NFS_NFS_FRONTEND_H_
#define CFS_LIB_PROTOCOLS_NFS_NFS_FRONTEND_H_

#include <memory>
#include <string>
#include <vector>

#include "lib/common/net/tcp_server.h"
#include "lib/common/net/udp_server.h"
#include "lib/gateway/frontend.h"
#include "lib/protocols/nfs/mount_program.h"
#include "lib/protocols/nfs/nfs3_program.h"
#include "lib/protocols/nfs/nfs_context.h"
#include "lib/protocols/rpc/duplicate_request_cache.h"
#include "lib/protocols/rpc/portmap_client.h"
#include "lib/protocols/rpc/rpc_server.h"

namespace cfs::nfs {

class NfsFrontend : public gateway::Frontend {
 public:
  explicit NfsFrontend(net::TcpServerOptions server_options = {});
  ~NfsFrontend() override;

  std::string name() const override { return "nfs"; }
  absl::Status Start(const gateway::FrontendContext& context) override;
  std::vector<gateway::BoundAddress> addresses() const override;
  // New exports are mountable, and removed ones refuse their file handles, at once.
  absl::Status UpdateExports(const std::vector<auth::Export>& exports) override;
  absl::Status Shutdown(absl::Time deadline) override;

 private:
  net::TcpServerOptions server_options_;
  std::unique_ptr<NfsContext> context_;
  std::unique_ptr<MountProgram> mount_;
  std::unique_ptr<Nfs3Program> nfs_;
  rpc::DuplicateRequestCache cache_;
  std::unique_ptr<rpc::RpcDispatcher> dispatcher_;
  std::unique_ptr<net::TcpServer> nfs_server_;
  std::unique_ptr<net::TcpServer> mount_server_;
  // UDP on the same port numbers. Replies hold a raw pointer to their server: the Gateway
  // shuts the backend down (finishing every call) before frontends are destroyed.
  std::unique_ptr<net::UdpServer> nfs_udp_;
  std::unique_ptr<net::UdpServer> mount_udp_;
  std::unique_ptr<rpc::PortmapRegistration> portmap_;
  std::unique_ptr<observability::ProtocolMetrics> nfs_metrics_;
  std::unique_ptr<observability::ProtocolMetrics> mount_metrics_;
  observability::MetricsRegistry::Registration connections_;
};

}  // namespace cfs::nfs

#endif  // CFS_LIB_PROTOCOLS_NFS_NFS_FRONTEND_H_
