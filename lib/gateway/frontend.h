// Frontend: one protocol server (NFS, S3, SMB, or an embedder's own) run by the Gateway.
//
// The Gateway starts frontends in the order they were added, hands each the shared services
// through FrontendContext (borrowed: they outlive the frontend), and shuts them down in reverse
// order before the backend. Implementations are thread-safe.
//
// Example:
//   builder.AddFrontend(std::make_unique<MyProtocolFrontend>());

#ifndef CFS_LIB_GATEWAY_FRONTEND_H_
#define CFS_LIB_GATEWAY_FRONTEND_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "lib/auth/export_policy.h"
#include "lib/auth/user_store.h"
#include "lib/backend/backend.h"
#include "lib/backend/change_listener.h"
#include "lib/backend/file_handle.h"
#include "lib/gateway/gateway_options.h"
#include "lib/observability/metrics.h"
#include "lib/quota/quota.h"

namespace cfs::gateway {

// A listening socket a frontend bound, with the port actually chosen (port 0 picks one).
struct BoundAddress {
  std::string name;  // "nfs", "mount", "s3", "smb", ...
  std::string host;
  int port = 0;
};

struct FrontendContext {
  const GatewayOptions& options;
  backend::Backend& backend;
  auth::UserStore& users;
  const std::vector<auth::Export>& exports;
  const backend::FileHandleCodec& handles;
  // Tells listeners about every read and write, whichever frontend makes it (SMB oplock
  // breaks). Null when the gateway runs without one.
  backend::ChangeSource* changes = nullptr;
  // Where the frontend reports its requests and connections (ProtocolMetrics, collectors).
  // Null when the gateway runs without metrics.
  observability::MetricsRegistry* metrics = nullptr;
  // The gateway's quotas, for a protocol's early checks (the backend filter enforces them on
  // every change anyway). Null when the gateway runs without the quota filter.
  quota::QuotaService* quotas = nullptr;
};

class Frontend {
 public:
  virtual ~Frontend() = default;

  // The protocol name used in --protocols ("nfs", "s3", "smb").
  virtual std::string name() const = 0;

  // Binds and starts serving. Errors: kUnavailable (address in use), kInvalidArgument.
  virtual absl::Status Start(const FrontendContext& context) = 0;

  // Every address bound by Start().
  virtual std::vector<BoundAddress> addresses() const = 0;

  // The gateway's exports changed while this frontend runs (already validated as a list).
  // Apply them to requests from now on, or refuse them with the reason (nothing changes then).
  // The default keeps serving what the frontend started with.
  virtual absl::Status UpdateExports(const std::vector<auth::Export>& exports) {
    return absl::OkStatus();
  }

  // Stops accepting, drains requests in flight until `deadline`, then closes. Idempotent.
  virtual absl::Status Shutdown(absl::Time deadline) = 0;
};

}  // namespace cfs::gateway

#endif  // CFS_LIB_GATEWAY_FRONTEND_H_
