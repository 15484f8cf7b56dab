#include "lib/gateway/gateway.h"

#include <utility>

#include "lib/common/logging.h"

namespace cfs::gateway {

Gateway::Gateway(GatewayOptions options, backend::BackendPtr backend,
                 std::vector<std::unique_ptr<Frontend>> frontends,
                 std::vector<auth::Export> exports, std::string handle_key)
    : options_(std::move(options)),
      backend_(std::move(backend)),
      frontends_(std::move(frontends)),
      exports_(std::move(exports)),
      handles_(std::move(handle_key)) {}

Gateway::~Gateway() { Shutdown().IgnoreError(); }

absl::Status Gateway::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (state_ != State::kBuilt) {
    return absl::FailedPreconditionError("the gateway was already started");
  }
  FrontendContext context{options_, *backend_, users_, exports_, handles_, change_feed_};
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
