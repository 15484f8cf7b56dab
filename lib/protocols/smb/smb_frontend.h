// SmbFrontend: the "smb" protocol of the gateway: SMB 2.0.2-3.1.1 over Direct TCP on smb_port,
// one share per export with an smb_share (plus IPC$ for share listing), users from the
// gateway's user store (NTLMv2 against their NT hashes).
//
// Example:
//   builder.AddFrontend(std::make_unique<cfs::smb::SmbFrontend>());
#ifndef CFS_LIB_PROTOCOLS_SMB_SMB_FRONTEND_H_
#define CFS_LIB_PROTOCOLS_SMB_SMB_FRONTEND_H_

#include <memory>
#include <string>
#include <vector>

#include "lib/backend/change_listener.h"
#include "lib/common/net/tcp_server.h"
#include "lib/gateway/frontend.h"
#include "lib/protocols/smb/smb_server.h"

namespace cfs::smb {

class SmbFrontend : public gateway::Frontend {
 public:
  explicit SmbFrontend(SmbServerConfig config = {});
  ~SmbFrontend() override;
  std::string name() const override { return "smb"; }
  absl::Status Start(const gateway::FrontendContext& context) override;
  std::vector<gateway::BoundAddress> addresses() const override;
  // Added shares accept TREE_CONNECT at once, removed ones refuse it (connected trees stay).
  absl::Status UpdateExports(const std::vector<auth::Export>& exports) override;
  absl::Status Shutdown(absl::Time deadline) override;

 private:
  // The shares of `exports` (their roots resolved) and IPC$.
  static absl::StatusOr<std::vector<Share>> SharesOf(backend::Backend& backend,
                                                     const std::vector<auth::Export>& exports);
  SmbServerConfig config_;
  std::unique_ptr<observability::ProtocolMetrics> metrics_;  // used by server_
  std::unique_ptr<SmbServer> server_;
  std::unique_ptr<net::TcpServer> listener_;  // destroyed first: its connections use server_
  observability::MetricsRegistry::Registration connections_;  // reads listener_
  std::string host_;
  backend::ChangeSource* changes_ = nullptr;  // borrowed from the gateway
  int feed_id_ = 0;
};

}  // namespace cfs::smb

#endif  // CFS_LIB_PROTOCOLS_SMB_SMB_FRONTEND_H_
