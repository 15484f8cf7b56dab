// ControlFrontend: serves the gRPC admin service (AdminService) on the control port, in plain
// text on loopback by default, over TLS when a certificate and key are set, and with client
// certificates verified against a CA (mutual TLS) when one is set too. The builder adds it
// whenever control_port is not -1, whatever protocols are chosen. Thread-safe.
//
// Example:
//   auto control = std::make_unique<ControlFrontend>(token);
//   control->Attach(gateway.get());  // before Start
//   builder.AddFrontend(std::move(control));

#ifndef CFS_LIB_CONTROL_CONTROL_FRONTEND_H_
#define CFS_LIB_CONTROL_CONTROL_FRONTEND_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "lib/control/admin_service.h"
#include "lib/gateway/frontend.h"
#include "lib/gateway/gateway.h"

namespace cfs::control {

class ControlFrontend : public gateway::Frontend {
 public:
  // `token`: the admin token every call without a verified client certificate must carry.
  explicit ControlFrontend(std::string token);
  ~ControlFrontend() override;

  // The gateway the service manages (borrowed; it owns this frontend).
  void Attach(gateway::Gateway* gateway) { gateway_ = gateway; }

  std::string name() const override { return "control"; }
  absl::Status Start(const gateway::FrontendContext& context) override;
  std::vector<gateway::BoundAddress> addresses() const override;
  absl::Status Shutdown(absl::Time deadline) override;

 private:
  const std::string token_;
  gateway::Gateway* gateway_ = nullptr;
  std::unique_ptr<AdminService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string host_;
  int port_ = 0;
};

// The admin token: options.control_token when set, else the one kept in
// <data_dir>/admin.token (created with 32 random bytes, hex, mode 0600, at first use).
// Errors: kInternal (I/O).
absl::StatusOr<std::string> LoadOrCreateAdminToken(const std::string& data_dir);

}  // namespace cfs::control

#endif  // CFS_LIB_CONTROL_CONTROL_FRONTEND_H_
