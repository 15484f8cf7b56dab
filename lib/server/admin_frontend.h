// AdminFrontend: the gateway's HTTP admin port (GatewayOptions::metrics_port), for Prometheus
// and for Kubernetes probes:
//   GET /metrics  every metric, Prometheus text exposition format 0.0.4
//   GET /healthz  200 while the process serves HTTP at all (liveness)
//   GET /readyz   200 when every readiness check passes, else 503; the body lists each check
//                 (listeners bound, not draining, backend reachable, each backend node)
// Other paths answer 404, other methods 405. The builder adds it after the protocols (so it
// is not subject to GatewayOptions::protocols) unless metrics_port is -1.
// Thread-safe.
//
// Example:
//   auto admin = std::make_unique<AdminFrontend>();
//   AdminFrontend* raw = admin.get();
//   ... gateway built with it ...
//   raw->Attach(gateway.get());   // before Start()

#ifndef CFS_LIB_SERVER_ADMIN_FRONTEND_H_
#define CFS_LIB_SERVER_ADMIN_FRONTEND_H_

#include <memory>
#include <string>
#include <vector>

#include "lib/gateway/frontend.h"
#include "lib/gateway/gateway.h"
#include "lib/protocols/http/http_server.h"

namespace cfs::server {

class AdminFrontend : public gateway::Frontend, public http::HttpHandler {
 public:
  AdminFrontend() = default;
  ~AdminFrontend() override;

  // The gateway whose metrics and readiness this serves; borrowed, outlives the frontend.
  void Attach(gateway::Gateway* gateway) { gateway_ = gateway; }

  std::string name() const override { return "admin"; }
  absl::Status Start(const gateway::FrontendContext& context) override;
  std::vector<gateway::BoundAddress> addresses() const override;
  absl::Status Shutdown(absl::Time deadline) override;

  // http::HttpHandler: answers one admin request.
  void Handle(http::HttpExchange exchange) override;

 private:
  gateway::Gateway* gateway_ = nullptr;
  std::unique_ptr<http::HttpServer> server_;
  std::string host_;
};

}  // namespace cfs::server

#endif  // CFS_LIB_SERVER_ADMIN_FRONTEND_H_
