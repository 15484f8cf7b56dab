// S3Frontend: the "s3" protocol of the gateway: the S3 REST API over HTTP/1.1 on s3_port,
// serving the buckets of the first export that has s3_buckets set; HTTPS on s3_tls_port with
// the same handler when a certificate is configured.
//
// Example:
//   builder.AddFrontend(std::make_unique<cfs::s3::S3Frontend>());
#ifndef CFS_LIB_PROTOCOLS_S3_S3_FRONTEND_H_
#define CFS_LIB_PROTOCOLS_S3_S3_FRONTEND_H_

#include <memory>
#include <string>
#include <vector>

#include "lib/gateway/frontend.h"
#include "lib/protocols/http/http_server.h"
#include "lib/protocols/s3/object_store.h"
#include "lib/protocols/s3/s3_handler.h"

namespace cfs::s3 {

class S3Frontend : public gateway::Frontend {
 public:
  explicit S3Frontend(http::HttpServerOptions server_options = {});
  ~S3Frontend() override;
  std::string name() const override { return "s3"; }
  absl::Status Start(const gateway::FrontendContext& context) override;
  // New client rules, read-only flags and squashing apply to the next request; the S3 root
  // (the export's path) changes only at restart.
  absl::Status UpdateExports(const std::vector<auth::Export>& exports) override;
  std::vector<gateway::BoundAddress> addresses() const override;
  absl::Status Shutdown(absl::Time deadline) override;

 private:
  http::HttpServerOptions server_options_;
  std::unique_ptr<ObjectStore> store_;
  std::unique_ptr<observability::ProtocolMetrics> metrics_;  // used by the handler
  std::unique_ptr<S3Handler> handler_;
  std::unique_ptr<http::HttpServer> server_;      // destroyed first: they run the handler
  std::unique_ptr<http::HttpServer> tls_server_;  // HTTPS, when s3_tls_port is set
  observability::MetricsRegistry::Registration connections_;  // reads the servers
  std::string host_;
  std::string s3_path_;  // the export path the buckets are served from
};

}  // namespace cfs::s3

#endif  // CFS_LIB_PROTOCOLS_S3_S3_FRONTEND_H_
