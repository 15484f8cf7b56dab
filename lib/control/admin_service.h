// AdminService: the gRPC admin service cfs.gateway.admin.v1.GatewayAdmin (proto/admin.proto)
// over one running Gateway.
//
// Every call is authorised first: the admin token in "authorization: Bearer <token>" metadata,
// or a client certificate that the control port's TLS verified (when a client CA is set).
// Refusals are UNAUTHENTICATED. Changes are serialised, applied to the live gateway (exports
// through Gateway::SetExports, users and keys in its UserStore, quotas in its QuotaService),
// followed by a write of the live state to the state file (control_state.h) whatever their
// outcome, and logged in the "audit" component with who made them, from where, and the
// outcome; refused changes are audited too. Borrows the
// gateway, which must outlive it. Thread-safe (gRPC calls arrive on its threads).
//
// Example:
//   AdminService service(*gateway, AdminAuth{.token = token, .client_certificates = true});
//   grpc::ServerBuilder builder;
//   builder.RegisterService(&service);

#ifndef CFS_LIB_CONTROL_ADMIN_SERVICE_H_
#define CFS_LIB_CONTROL_ADMIN_SERVICE_H_

#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "lib/control/proto/admin.grpc.pb.h"
#include "lib/gateway/gateway.h"

namespace cfs::control {

namespace pb = ::cfs::gateway::admin::v1;

struct AdminAuth {
  std::string token;                 // required in every call without a verified certificate
  bool client_certificates = false;  // a TLS-verified client certificate authorises on its own
};

// The gateway's version, as GetStatus reports it.
inline constexpr char kGatewayVersion[] = "0.8.0";

class AdminService final : public pb::GatewayAdmin::Service {
 public:
  AdminService(gateway::Gateway& gateway, AdminAuth auth);

  grpc::Status GetStatus(grpc::ServerContext* c, const pb::GetStatusRequest* req,
                         pb::GetStatusResponse* resp) override;
  grpc::Status ListExports(grpc::ServerContext* c, const pb::ListExportsRequest* req,
                           pb::ListExportsResponse* resp) override;
  grpc::Status AddExport(grpc::ServerContext* c, const pb::AddExportRequest* req,
                         pb::Export* resp) override;
  grpc::Status UpdateExport(grpc::ServerContext* c, const pb::UpdateExportRequest* req,
                            pb::Export* resp) override;
  grpc::Status RemoveExport(grpc::ServerContext* c, const pb::RemoveExportRequest* req,
                            pb::Empty* resp) override;
  grpc::Status ListUsers(grpc::ServerContext* c, const pb::ListUsersRequest* req,
                         pb::ListUsersResponse* resp) override;
  grpc::Status CreateUser(grpc::ServerContext* c, const pb::CreateUserRequest* req,
                          pb::User* resp) override;
  grpc::Status UpdateUser(grpc::ServerContext* c, const pb::UpdateUserRequest* req,
                          pb::User* resp) override;
  grpc::Status DeleteUser(grpc::ServerContext* c, const pb::DeleteUserRequest* req,
                          pb::Empty* resp) override;
  grpc::Status ListGroups(grpc::ServerContext* c, const pb::ListGroupsRequest* req,
                          pb::ListGroupsResponse* resp) override;
  grpc::Status CreateGroup(grpc::ServerContext* c, const pb::CreateGroupRequest* req,
                           pb::Group* resp) override;
  grpc::Status DeleteGroup(grpc::ServerContext* c, const pb::DeleteGroupRequest* req,
                           pb::Empty* resp) override;
  grpc::Status CreateAccessKey(grpc::ServerContext* c, const pb::CreateAccessKeyRequest* req,
                               pb::AccessKeySecret* resp) override;
  grpc::Status RotateAccessKey(grpc::ServerContext* c, const pb::RotateAccessKeyRequest* req,
                               pb::AccessKeySecret* resp) override;
  grpc::Status SetAccessKeyEnabled(grpc::ServerContext* c,
                                   const pb::SetAccessKeyEnabledRequest* req,
                                   pb::AccessKey* resp) override;
  grpc::Status DeleteAccessKey(grpc::ServerContext* c, const pb::DeleteAccessKeyRequest* req,
                               pb::Empty* resp) override;
  grpc::Status SetQuota(grpc::ServerContext* c, const pb::SetQuotaRequest* req,
                        pb::QuotaReport* resp) override;
  grpc::Status GetQuota(grpc::ServerContext* c, const pb::GetQuotaRequest* req,
                        pb::QuotaReport* resp) override;
  grpc::Status ListQuotas(grpc::ServerContext* c, const pb::ListQuotasRequest* req,
                          pb::ListQuotasResponse* resp) override;
  grpc::Status RemoveQuota(grpc::ServerContext* c, const pb::RemoveQuotaRequest* req,
                           pb::Empty* resp) override;
  grpc::Status RebuildQuotaUsage(grpc::ServerContext* c, const pb::RebuildQuotaUsageRequest* req,
                                 pb::ListQuotasResponse* resp) override;
  grpc::Status ListBackendNodes(grpc::ServerContext* c, const pb::ListBackendNodesRequest* req,
                                pb::ListBackendNodesResponse* resp) override;
  grpc::Status Drain(grpc::ServerContext* c, const pb::DrainRequest* req, pb::Empty* resp) override;
  grpc::Status Shutdown(grpc::ServerContext* c, const pb::ShutdownRequest* req,
                        pb::Empty* resp) override;
  grpc::Status ReloadConfig(grpc::ServerContext* c, const pb::ReloadConfigRequest* req,
                            pb::ReloadConfigResponse* resp) override;

 private:
  enum class Kind { kRead, kChange };
  // Authorises the call, runs `body` (serialised with other changes, which are then saved and
  // audited) and converts its status. `what` describes the call for the audit log.
  template <typename Body>
  grpc::Status Run(grpc::ServerContext* c, const char* method, Kind kind, const std::string& what,
                   Body body);
  absl::Status Authorize(grpc::ServerContext* c, std::string* who) const;
  absl::Status ReloadLocked(pb::ReloadConfigResponse* resp);

  gateway::Gateway& gateway_;
  const AdminAuth auth_;
  std::mutex changes_mu_;  // one change (and its state write) at a time
};

}  // namespace cfs::control

#endif  // CFS_LIB_CONTROL_ADMIN_SERVICE_H_
