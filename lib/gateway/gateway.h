// Gateway and GatewayBuilder: the public entry point of libclaudefs_gateway.
//
// GatewayBuilder gathers the options, an optional backend (default: the embedded backend in
// options.data_dir) and optional extra frontends, validates everything and builds a Gateway.
// Gateway::Start() binds every listener; Shutdown() drains and stops them, then the backend,
// bounded by options.shutdown_timeout. Gateway is thread-safe.
//
// Example (an in-process gateway in a test):
//   GatewayOptions options;
//   options.data_dir = temp_dir;
//   options.bind_address = "127.0.0.1";
//   absl::StatusOr<std::unique_ptr<Gateway>> gw = GatewayBuilder().SetOptions(options).Build();
//   CFS_CHECK_OK((*gw)->Start());
//   ... (*gw)->address("nfs")->port ...
//   (*gw)->Shutdown();

#ifndef CFS_LIB_GATEWAY_GATEWAY_H_
#define CFS_LIB_GATEWAY_GATEWAY_H_

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>  // std::mutex: visible to ThreadSanitizer (Debian's Abseil is not instrumented)
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "lib/auth/user_store.h"
#include "lib/backend/backend.h"
#include "lib/backend/change_listener.h"
#include "lib/backend/file_handle.h"
#include "lib/gateway/frontend.h"
#include "lib/gateway/gateway_options.h"
#include "lib/observability/metrics.h"
#include "lib/quota/quota.h"

namespace cfs::gateway {

class Gateway {
 public:
  ~Gateway();  // Shuts down if still running.
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Starts every frontend in order; on a failure stops those already started and returns it.
  // Errors: kFailedPrecondition (started twice or after shutdown), a frontend's bind error.
  absl::Status Start();

  // Stops the frontends (reverse order), then the backend. Bounded by shutdown_timeout.
  // Idempotent; returns the first error met.
  absl::Status Shutdown();

  // Every bound address, and the one of a named listener.
  std::vector<BoundAddress> addresses() const;
  std::optional<BoundAddress> address(absl::string_view name) const;

  const GatewayOptions& options() const { return options_; }
  backend::Backend& backend() { return *backend_; }
  // Users, groups and S3 keys; changes take effect with the next request or session.
  auth::UserStore& users() { return users_; }

  // The exports served now (a copy).
  std::vector<auth::Export> exports() const;
  // Replaces the exports while running (or before Start): checks the list as the options are
  // checked, then hands it to the quota filter and to every started frontend (NFS and SMB apply
  // it at once; S3 keeps its bucket root until restart). If a frontend refuses it (a path that
  // does not resolve), the frontends already changed get the old list back. Thread-safe.
  // Errors: kInvalidArgument naming the export, a frontend's error (kFailedPrecondition).
  absl::Status SetExports(std::vector<auth::Export> exports);

  // One backend node's circuit breaker and connection pool (remote backend only).
  struct NodeState {
    std::string name;           // "a4:127.0.0.1:17101", "a2:127.0.0.1:17000"
    std::string breaker_state;  // "closed", "half-open", "open"
    uint64_t times_opened = 0;
    uint64_t calls_refused = 0;
    bool has_pool = false;  // data nodes have a connection pool, the metadata node none
    uint64_t pool_connections = 0;
    uint64_t pool_connecting = 0;
    uint64_t pool_in_use = 0;
    uint64_t pool_waiters = 0;
  };
  std::vector<NodeState> BackendNodes() const;
  // Set by the builder for a backend with nodes. Call before Start().
  void SetBackendNodeReporter(std::function<std::vector<NodeState>()> reporter);

  // Asks whoever runs the gateway to stop it (the control plane's Shutdown call): runs the
  // handler given to SetShutdownHandler on a thread of its own; without one, shuts down itself.
  void RequestShutdown();
  void SetShutdownHandler(std::function<void()> handler);

  absl::Time started_at() const { return started_at_; }
  const backend::FileHandleCodec& file_handles() const { return handles_; }
  // Quotas: set, list and rebuild them (null only for a gateway built without the filter).
  quota::QuotaService* quotas() { return quotas_; }

  // Every metric of the gateway and its frontends (rendered at the admin port's /metrics).
  observability::MetricsRegistry& metrics() { return metrics_; }

  // One readiness check and its result.
  struct Check {
    std::string name;  // "listeners", "draining", "backend", "node a4:10.0.0.2:7100"
    absl::Status status;
  };
  // What /readyz reports: the listeners are bound (the gateway runs), it is not draining, the
  // backend answers, and each backend node's circuit is not open.
  std::vector<Check> ReadinessChecks() const;
  // OK when every check passes, else the first failure.
  absl::Status Ready() const;
  // Stops reporting ready (load balancers move traffic away) while still serving. Idempotent.
  void Drain();
  bool draining() const { return draining_.load(); }
  // Adds checks computed at each readiness probe (the builder adds the backend nodes'). Call
  // before Start().
  void AddReadinessChecks(std::function<std::vector<Check>()> checks);

 private:
  friend class GatewayBuilder;
  enum class State { kBuilt, kRunning, kStopped };

  Gateway(GatewayOptions options, backend::BackendPtr backend,
          std::vector<std::unique_ptr<Frontend>> frontends, std::vector<auth::Export> exports,
          std::string handle_key);

  absl::Status StopLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const GatewayOptions options_;
  // Declared before everything that registers with it (frontends, backend collectors).
  observability::MetricsRegistry metrics_;
  backend::BackendPtr backend_;
  // Collectors reading the backend: destroyed before it.
  std::vector<observability::MetricsRegistry::Registration> backend_collectors_;
  std::vector<std::function<std::vector<Check>()>> readiness_checks_;
  std::atomic<bool> draining_{false};
  std::vector<std::unique_ptr<Frontend>> frontends_;
  mutable std::mutex exports_mu_;  // held across a SetExports and a Start (before mu_)
  std::vector<auth::Export> live_exports_ ABSL_GUARDED_BY(exports_mu_);
  // The list frontends were started with (FrontendContext borrows it for their lifetime).
  std::vector<auth::Export> started_exports_ ABSL_GUARDED_BY(exports_mu_);
  std::function<std::vector<NodeState>()> node_reporter_;
  std::mutex shutdown_mu_;
  std::function<void()> shutdown_handler_ ABSL_GUARDED_BY(shutdown_mu_);
  const absl::Time started_at_ = absl::Now();
  auth::UserStore users_;
  const backend::FileHandleCodec handles_;
  // The filters' faces the gateway uses, all owned through backend_ (the Builder sets them).
  backend::ChangeSource* change_feed_ = nullptr;
  quota::QuotaService* quotas_ = nullptr;
  // Tells the quota filter which exports exist (their trees count against export quotas).
  std::function<void(const std::vector<auth::Export>&)> exports_changed_;
  mutable std::mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_) = State::kBuilt;
  size_t started_ ABSL_GUARDED_BY(mu_) = 0;
};

class GatewayBuilder {
 public:
  GatewayBuilder();
  ~GatewayBuilder();

  GatewayBuilder& SetOptions(GatewayOptions options);
  // Serve this backend instead of the embedded one.
  GatewayBuilder& SetBackend(backend::BackendPtr backend);
  // Adds a frontend besides the built-in ones; it runs unless options.protocols leaves it out.
  GatewayBuilder& AddFrontend(std::unique_ptr<Frontend> frontend);

  // Validates the options and opens the backend. Errors: kInvalidArgument naming the option,
  // the backend's open errors (kFailedPrecondition when another gateway holds data_dir).
  absl::StatusOr<std::unique_ptr<Gateway>> Build();

 private:
  GatewayOptions options_;
  backend::BackendPtr backend_;
  std::vector<std::unique_ptr<Frontend>> frontends_;
};

}  // namespace cfs::gateway

#endif  // CFS_LIB_GATEWAY_GATEWAY_H_
