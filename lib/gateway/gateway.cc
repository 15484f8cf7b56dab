#include "lib/gateway/gateway.h"

#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/common/logging.h"

namespace cfs::gateway {

Gateway::Gateway(GatewayOptions options, backend::BackendPtr backend,
                 std::vector<std::unique_ptr<Frontend>> frontends,
                 std::vector<auth::Export> exports, std::string handle_key)
    : options_(std::move(options)),
      backend_(std::move(backend)),
      frontends_(std::move(frontends)),
      live_exports_(std::move(exports)),
      handles_(std::move(handle_key)) {}

std::vector<auth::Export> Gateway::exports() const {
  std::lock_guard<std::mutex> lock(exports_mu_);
  return live_exports_;
}

absl::Status Gateway::SetExports(std::vector<auth::Export> exports) {
  if (exports.empty()) {
    return absl::InvalidArgumentError("exports: at least one export is needed");
  }
  absl::Status valid = ValidateExports(exports);
  if (!valid.ok()) return valid;
  std::lock_guard<std::mutex> exports_lock(exports_mu_);
  std::vector<Frontend*> running;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_ == State::kStopped) return absl::FailedPreconditionError("the gateway stopped");
    for (size_t i = 0; i < started_; ++i) running.push_back(frontends_[i].get());
  }
  for (size_t i = 0; i < running.size(); ++i) {
    absl::Status s = running[i]->UpdateExports(exports);
    if (!s.ok()) {
      for (size_t j = 0; j < i; ++j) running[j]->UpdateExports(live_exports_).IgnoreError();
      return s;
    }
  }
  if (exports_changed_) exports_changed_(exports);
  live_exports_ = std::move(exports);
  return absl::OkStatus();
}

std::vector<Gateway::NodeState> Gateway::BackendNodes() const {
  return node_reporter_ ? node_reporter_() : std::vector<NodeState>{};
}

void Gateway::SetBackendNodeReporter(std::function<std::vector<NodeState>()> reporter) {
  node_reporter_ = std::move(reporter);
}

void Gateway::SetShutdownHandler(std::function<void()> handler) {
  std::lock_guard<std::mutex> lock(shutdown_mu_);
  shutdown_handler_ = std::move(handler);
}

void Gateway::RequestShutdown() {
  std::function<void()> handler;
  {
    std::lock_guard<std::mutex> lock(shutdown_mu_);
    handler = shutdown_handler_;
  }
  CFS_LOG(INFO, "gateway") << "shutdown requested";
  if (!handler) handler = [this] { Shutdown().IgnoreError(); };
  // Its own thread: the request may come from a frontend that the shutdown stops.
  std::thread(std::move(handler)).detach();
}

Gateway::~Gateway() { Shutdown().IgnoreError(); }

absl::Status Gateway::Start() {
  // The same lock order as SetExports: an export change waits for the frontends to start.
  std::lock_guard<std::mutex> exports_lock(exports_mu_);
  std::lock_guard<std::mutex> lock(mu_);
  if (state_ != State::kBuilt) {
    return absl::FailedPreconditionError("the gateway was already started");
  }
  started_exports_ = live_exports_;  // as SetExports may have changed them before Start
  FrontendContext context{options_, *backend_, users_, started_exports_, handles_, change_feed_};
  context.metrics = &metrics_;
  context.quotas = quotas_;
  for (; started_ < frontends_.size(); ++started_) {
    Frontend& frontend = *frontends_[started_];
    absl::Status s = frontend.Start(context);
    if (!s.ok()) {
      CFS_LOG(ERROR, "gateway") << frontend.name() << " failed to start: " << s;
      StopLocked().IgnoreError();  // stops what did start, then the backend
      return s;
    }
    for (const BoundAddress& a : frontend.addresses()) {
      CFS_LOG(INFO, "gateway") << a.name << " listening on " << a.host << ":" << a.port;
    }
  }
  state_ = State::kRunning;
  CFS_LOG(INFO, "gateway") << "serving " << backend_->Describe() << " with " << frontends_.size()
                           << " frontend(s)";
  return absl::OkStatus();
}

absl::Status Gateway::Shutdown() {
  std::lock_guard<std::mutex> lock(mu_);
  return StopLocked();
}

absl::Status Gateway::StopLocked() {
  if (state_ == State::kStopped) return absl::OkStatus();
  state_ = State::kStopped;
  absl::Time deadline = absl::Now() + options_.shutdown_timeout;
  absl::Status first;
  for (size_t i = started_; i > 0; --i) {
    absl::Status s = frontends_[i - 1]->Shutdown(deadline);
    if (!s.ok() && first.ok()) first = s;
  }
  absl::Status s = backend_->Shutdown(deadline);
  if (!s.ok() && first.ok()) first = s;
  CFS_LOG(INFO, "gateway") << "stopped";
  return first;
}

std::vector<Gateway::Check> Gateway::ReadinessChecks() const {
  std::vector<Check> checks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    checks.push_back({"listeners", state_ == State::kRunning
                                       ? absl::OkStatus()
                                       : absl::UnavailableError(
                                             state_ == State::kBuilt ? "not started" : "stopped")});
  }
  checks.push_back(
      {"draining", draining_.load() ? absl::UnavailableError("draining") : absl::OkStatus()});
  checks.push_back({"backend", backend_->Health()});
  for (const auto& more : readiness_checks_) {
    for (Check& c : more()) checks.push_back(std::move(c));
  }
  return checks;
}

absl::Status Gateway::Ready() const {
  for (const Check& c : ReadinessChecks()) {
    if (!c.status.ok()) {
      return absl::Status(c.status.code(), absl::StrCat(c.name, ": ", c.status.message()));
    }
  }
  return absl::OkStatus();
}

void Gateway::Drain() {
  if (!draining_.exchange(true)) {
    CFS_LOG(INFO, "gateway") << "draining: no longer ready";
  }
}

void Gateway::AddReadinessChecks(std::function<std::vector<Check>()> checks) {
  readiness_checks_.push_back(std::move(checks));
}

std::vector<BoundAddress> Gateway::addresses() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<BoundAddress> out;
  for (size_t i = 0; i < started_; ++i) {
    for (const BoundAddress& a : frontends_[i]->addresses()) out.push_back(a);
  }
  return out;
}

std::optional<BoundAddress> Gateway::address(absl::string_view name) const {
  for (const BoundAddress& a : addresses()) {
    if (a.name == name) return a;
  }
  return std::nullopt;
}

}  // namespace cfs::gateway
