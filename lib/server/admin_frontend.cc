#include "lib/server/admin_frontend.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/common/logging.h"

namespace cfs::server {

AdminFrontend::~AdminFrontend() { Shutdown(absl::Now()).IgnoreError(); }

absl::Status AdminFrontend::Start(const gateway::FrontendContext& context) {
  if (gateway_ == nullptr) return absl::FailedPreconditionError("admin: no gateway attached");
  http::HttpServerOptions options;
  options.tcp.name = "admin";
  options.tcp.loops = 1;
  server_ = std::make_unique<http::HttpServer>(options, static_cast<http::HttpHandler*>(this));
  host_ = context.options.bind_address;
  absl::Status s = server_->Start(host_, context.options.metrics_port);
  if (!s.ok()) return absl::Status(s.code(), absl::StrCat("admin (metrics_port): ", s.message()));
  return absl::OkStatus();
}

std::vector<gateway::BoundAddress> AdminFrontend::addresses() const {
  if (server_ == nullptr) return {};
  return {{"admin", host_, server_->port()}};
}

absl::Status AdminFrontend::Shutdown(absl::Time deadline) {
  if (server_ != nullptr) server_->Shutdown(deadline);
  return absl::OkStatus();
}

void AdminFrontend::Handle(http::HttpExchange exchange) {
  const http::HttpRequest& request = exchange.request();
  absl::string_view path = request.RawPath();
  http::HttpResponseHead head;
  std::string body;
  if (path != "/metrics" && path != "/healthz" && path != "/readyz") {
    head.status = 404;
    body = "not found: the admin port serves /metrics, /healthz and /readyz\n";
  } else if (request.method != "GET" && request.method != "HEAD") {
    head.status = 405;
    head.Set("Allow", "GET, HEAD");
    body = "method not allowed\n";
  } else if (path == "/metrics") {
    head.Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    body = gateway_->metrics().RenderText();
  } else if (path == "/healthz") {
    body = "ok\n";
  } else {
    bool ready = true;
    std::string checks;
    for (const gateway::Gateway::Check& c : gateway_->ReadinessChecks()) {
      ready = ready && c.status.ok();
      absl::StrAppend(&checks, c.name, ": ", c.status.ok() ? "ok" : std::string(c.status.message()),
                      "\n");
    }
    head.status = ready ? 200 : 503;
    body = absl::StrCat(ready ? "ready\n" : "not ready\n", checks);
  }
  if (head.status == 200 && path != "/metrics") head.Set("Content-Type", "text/plain");
  head.content_length = body.size();
  absl::Status s = exchange.Respond(std::move(head), std::move(body));
  if (!s.ok()) {
    CFS_LOG(DEBUG, "admin") << "answer not sent: " << s;
  }
}

}  // namespace cfs::server
