// GatewayBuilder's implementation: the one place that sees concrete backend and protocol types
// and wires them together.

#include <sys/stat.h>

#include <cerrno>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/backend/errors.h"
#include "lib/backends/embedded/embedded_backend.h"
#include "lib/backends/filters/attribute_cache.h"
#include "lib/backends/filters/change_feed.h"
#include "lib/backends/filters/quota_filter.h"
#include "lib/backends/filters/reserved_names_filter.h"
#include "lib/backends/remote/a4_fabric_transport.h"
#include "lib/backends/remote/a4_socket_transport.h"
#include "lib/backends/remote/a4_uring_transport.h"
#include "lib/backends/remote/remote_backend.h"
#include "lib/common/logging.h"
#include "lib/control/control_frontend.h"
#include "lib/control/control_state.h"
#include "lib/gateway/gateway.h"
#include "lib/server/admin_frontend.h"
#include "lib/server/backend_metrics.h"
#include "lib/server/handle_key.h"
#include "lib/server/stock_frontends.h"

namespace cfs::gateway {

GatewayBuilder::GatewayBuilder() = default;
GatewayBuilder::~GatewayBuilder() = default;

GatewayBuilder& GatewayBuilder::SetOptions(GatewayOptions options) {
  options_ = std::move(options);
  return *this;
}

GatewayBuilder& GatewayBuilder::SetBackend(backend::BackendPtr backend) {
  backend_ = std::move(backend);
  return *this;
}

GatewayBuilder& GatewayBuilder::AddFrontend(std::unique_ptr<Frontend> frontend) {
  frontends_.push_back(std::move(frontend));
  return *this;
}

absl::StatusOr<std::unique_ptr<Gateway>> GatewayBuilder::Build() {
  std::vector<std::unique_ptr<Frontend>> candidates = server::StockFrontends();
  for (auto& f : frontends_) candidates.push_back(std::move(f));
  frontends_.clear();
  std::vector<std::string> available;
  for (const auto& f : candidates) available.push_back(f->name());

  // What the control plane changed last time replaces the config's exports, users, groups and
  // quotas.
  if (!options_.data_dir.empty()) {
    absl::StatusOr<bool> restored = control::LoadControlState(options_.data_dir, &options_);
    if (!restored.ok()) return restored.status();
    if (*restored) {
      CFS_LOG(INFO, "gateway") << "control plane state restored from "
                               << control::ControlStatePath(options_.data_dir);
    }
  }
  absl::Status valid = ValidateGatewayOptions(options_, available);
  if (!valid.ok()) return valid;

  std::vector<std::unique_ptr<Frontend>> selected;
  for (auto& f : candidates) {
    bool wanted = options_.protocols.empty() ||
                  std::find(options_.protocols.begin(), options_.protocols.end(), f->name()) !=
                      options_.protocols.end();
    if (wanted) selected.push_back(std::move(f));
  }
  // The admin port (metrics, health) runs whatever protocols are chosen; last, so it reports
  // ready only once every protocol listens.
  control::ControlFrontend* control = nullptr;
  server::AdminFrontend* admin = nullptr;
  if (options_.control_port >= 0) {
    std::string token = options_.control_token;
    if (token.empty()) {
      if (mkdir(options_.data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
        return backend::ErrnoStatus(errno, absl::StrCat("data_dir ", options_.data_dir));
      }
      absl::StatusOr<std::string> stored = control::LoadOrCreateAdminToken(options_.data_dir);
      if (!stored.ok()) return stored.status();
      token = std::move(*stored);
    }
    auto frontend = std::make_unique<control::ControlFrontend>(std::move(token));
    control = frontend.get();
    selected.push_back(std::move(frontend));
  }
  if (options_.metrics_port >= 0) {
    auto frontend = std::make_unique<server::AdminFrontend>();
    admin = frontend.get();
    selected.push_back(std::move(frontend));
  }

  if (mkdir(options_.data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return backend::ErrnoStatus(errno, absl::StrCat("data_dir ", options_.data_dir));
  }
  std::string key = options_.file_handle_key;
  if (key.empty()) {
    absl::StatusOr<std::string> stored = server::LoadOrCreateHandleKey(options_.data_dir);
    if (!stored.ok()) return stored.status();
    key = std::move(*stored);
  }

  std::vector<auth::Export> exports = options_.exports;
  if (exports.empty()) exports.push_back(auth::DefaultExport());

  backend::BackendPtr backend = std::move(backend_);
  remote::RemoteBackend* remote_backend = nullptr;  // owned through `backend`
  if (backend == nullptr && !options_.remote_metadata_address.empty()) {
    remote::RemoteBackendOptions remote_options;
    remote_options.metadata_address = options_.remote_metadata_address;
    remote_options.operation_timeout = options_.backend_operation_timeout;
    remote_options.breaker.operation_timeout = options_.backend_operation_timeout;
    remote_options.breaker.open_duration = options_.breaker_open_duration;
    if (options_.a4_transport == "tcp-uring") {
      remote_options.transport =
          std::make_shared<remote::UringA4Transport>(remote::UringA4Transport::Options{});
    } else if (options_.a4_transport == "socket") {
      remote_options.transport = std::make_shared<remote::SocketA4Transport>();
    } else if (options_.a4_transport == "libfabric") {
      remote_options.transport = std::make_shared<remote::FabricA4Transport>("");
    } else if (absl::StartsWith(options_.a4_transport, "libfabric:") &&
               options_.a4_transport.size() > 10) {
      remote_options.transport =
          std::make_shared<remote::FabricA4Transport>(options_.a4_transport.substr(10));
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "a4_transport: '", options_.a4_transport,
          "' is not a transport (tcp-uring, socket, libfabric, libfabric:<provider>)"));
    }
    absl::StatusOr<std::unique_ptr<remote::RemoteBackend>> connected =
        remote::RemoteBackend::Connect(std::move(remote_options));
    if (!connected.ok()) return connected.status();
    remote_backend = connected->get();
    backend = std::move(*connected);
  }
  if (backend == nullptr) {
    embedded::EmbeddedBackendOptions backend_options;
    backend_options.data_dir = options_.data_dir;
    backend_options.worker_threads = options_.backend_threads;
    absl::StatusOr<std::unique_ptr<embedded::EmbeddedBackend>> opened =
        embedded::EmbeddedBackend::Open(backend_options);
    if (!opened.ok()) return opened.status();
    backend = std::move(*opened);
  }

  filters::AttributeCache* cache = nullptr;
  if (options_.attribute_cache_entries > 0) {
    filters::AttributeCacheOptions cache_options;
    cache_options.capacity = static_cast<size_t>(options_.attribute_cache_entries);
    auto cached = std::make_unique<filters::AttributeCache>(std::move(backend), cache_options);
    cache = cached.get();
    backend = std::move(cached);
  }
  // Quotas see every change; outside the cache, so their look-ups are served from memory.
  filters::QuotaFilterOptions quota_options;
  quota_options.exports = exports;
  auto quota_filter = std::make_unique<filters::QuotaFilter>(std::move(backend), quota_options);
  filters::QuotaFilter* quotas = quota_filter.get();
  absl::Status quotas_set = quotas->Configure(options_.quotas);
  if (!quotas_set.ok()) {
    quota_filter->Shutdown(absl::Now() + options_.shutdown_timeout).IgnoreError();
    return absl::Status(quotas_set.code(), absl::StrCat("quotas: ", quotas_set.message()));
  }
  backend = std::move(quota_filter);
  // Outermost, so every frontend's reads and writes reach its listeners.
  auto feed = std::make_unique<filters::ChangeFeed>(std::move(backend));
  filters::ChangeFeed* change_feed = feed.get();
  backend = std::move(feed);
  // Above everything a protocol reaches: no client sees the gateway's own state.
  backend = std::make_unique<filters::ReservedNamesFilter>(std::move(backend));
  std::unique_ptr<Gateway> gateway(new Gateway(options_, std::move(backend), std::move(selected),
                                               std::move(exports), std::move(key)));
  gateway->change_feed_ = change_feed;
  gateway->quotas_ = quotas;
  gateway->exports_changed_ = [quotas](const std::vector<auth::Export>& exports) {
    quotas->SetExports(exports);
  };
  gateway->backend_collectors_.push_back(server::RegisterQuotaMetrics(gateway->metrics_, *quotas));
  if (admin != nullptr) admin->Attach(gateway.get());
  if (control != nullptr) control->Attach(gateway.get());
  if (cache != nullptr) {
    gateway->backend_collectors_.push_back(
        server::RegisterAttributeCacheMetrics(gateway->metrics_, *cache));
  }
  if (remote_backend != nullptr) {
    gateway->backend_collectors_.push_back(
        server::RegisterRemoteBackendMetrics(gateway->metrics_, *remote_backend));
    std::shared_ptr<resilience::CircuitBreakerRegistry> breakers = remote_backend->breakers();
    gateway->AddReadinessChecks([breakers] { return server::BreakerChecks(*breakers); });
    gateway->SetBackendNodeReporter(
        [remote_backend] { return server::BackendNodeStates(*remote_backend); });
  }
  for (const auth::Group& group : options_.groups) {
    absl::Status s = gateway->users().UpsertGroup(group);
    if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat("groups: ", s.message()));
  }
  for (const auth::User& user : options_.users) {
    absl::Status s = gateway->users().Upsert(user);
    if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat("users: ", s.message()));
  }
  if (!options_.root_user.empty()) {
    auth::User root;
    root.name = options_.root_user;
    root.uid = 0;
    root.gid = 0;
    root.s3_keys.push_back({options_.root_user, options_.root_password, true});
    absl::StatusOr<std::string> nt_hash = auth::NtHash(options_.root_password);
    if (!nt_hash.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("root_password: ", nt_hash.status().message()));
    }
    root.nt_hash = std::move(*nt_hash);
    absl::Status s = gateway->users().Upsert(root);
    if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat("root_user: ", s.message()));
    CFS_LOG(INFO, "gateway") << "root user '" << root.name << "' ready (uid 0)";
  }
  return gateway;
}

}  // namespace cfs::gateway
