#include "lib/protocols/s3/s3_frontend.h"

#include "absl/strings/str_cat.h"
#include "lib/common/logging.h"
#include "lib/protocols/http/tls.h"

namespace cfs::s3 {

namespace {

// S3 serves the buckets of the first export that has s3_buckets set.
const auth::Export* FirstS3Export(const std::vector<auth::Export>& exports) {
  for (const auth::Export& exp : exports) {
    if (exp.s3_buckets) return &exp;
  }
  return nullptr;
}

}  // namespace

S3Frontend::S3Frontend(http::HttpServerOptions server_options)
    : server_options_(std::move(server_options)) {
  server_options_.tcp.name = "s3";
}

S3Frontend::~S3Frontend() { Shutdown(absl::Now()).IgnoreError(); }

absl::Status S3Frontend::Start(const gateway::FrontendContext& context) {
  const auth::Export* s3_export = FirstS3Export(context.exports);
  if (s3_export == nullptr) {
    return absl::InvalidArgumentError("s3: no export has s3_buckets set; nothing to serve");
  }
  absl::StatusOr<std::unique_ptr<ObjectStore>> store =
      ObjectStore::Open(context.backend, s3_export->path);
  if (!store.ok()) {
    return absl::Status(
        store.status().code(),
        absl::StrCat("s3: opening the S3 root ", s3_export->path, ": ", store.status().message()));
  }
  store_ = *std::move(store);
  s3_path_ = s3_export->path;
  S3Options options;
  options.s3_export = *s3_export;
  options.base_domain = context.options.s3_base_domain;
  options.region = context.options.s3_region;
  if (context.metrics != nullptr) {
    metrics_ = std::make_unique<observability::ProtocolMetrics>(*context.metrics, "s3");
    options.metrics = metrics_.get();
  }
  options.quotas = context.quotas;
  handler_ = std::make_unique<S3Handler>(options, context.users, *store_);
  server_options_.tcp.max_connections_per_client =
      static_cast<size_t>(context.options.max_connections_per_client);
  server_ = std::make_unique<http::HttpServer>(server_options_, handler_.get());
  host_ = context.options.bind_address;
  absl::Status started = server_->Start(host_, context.options.s3_port);
  if (!started.ok()) {
    return started;  // its message names the listener
  }
  if (context.options.s3_tls_port >= 0) {
    absl::StatusOr<std::shared_ptr<http::TlsContext>> tls =
        http::TlsContext::FromFiles(context.options.tls_cert_file, context.options.tls_key_file);
    if (!tls.ok()) {
      return tls.status();
    }
    http::HttpServerOptions tls_options = server_options_;
    tls_options.tls = *tls;
    tls_options.tcp.name = "s3-https";
    tls_server_ = std::make_unique<http::HttpServer>(tls_options, handler_.get());
    absl::Status tls_started = tls_server_->Start(host_, context.options.s3_tls_port);
    if (!tls_started.ok()) {
      return absl::Status(tls_started.code(), absl::StrCat("s3 https: ", tls_started.message()));
    }
  }
  if (context.metrics != nullptr) {
    connections_ = context.metrics->AddCollector([this](observability::SampleSink& sink) {
      size_t open = server_->connection_count();
      if (tls_server_ != nullptr) open += tls_server_->connection_count();
      observability::ReportConnections(sink, "s3", open);
    });
  }
  CFS_LOG(INFO, "s3") << "serving S3 on " << host_ << ":" << server_->port() << " (buckets in "
                      << s3_export->path << ")";
  return absl::OkStatus();
}

absl::Status S3Frontend::UpdateExports(const std::vector<auth::Export>& exports) {
  if (handler_ == nullptr) return absl::OkStatus();  // not started: Start takes them
  const auth::Export* s3_export = FirstS3Export(exports);
  if (s3_export == nullptr || s3_export->path != s3_path_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "s3: the S3 buckets are served from ", s3_path_,
        " until a restart; keep an export with s3_buckets on that path first in the list"));
  }
  handler_->SetExport(*s3_export);
  CFS_LOG(INFO, "s3") << "export rules updated (" << s3_export->name << ")";
  return absl::OkStatus();
}

std::vector<gateway::BoundAddress> S3Frontend::addresses() const {
  if (server_ == nullptr) return {};
  std::vector<gateway::BoundAddress> out = {{"s3", host_, server_->port()}};
  if (tls_server_ != nullptr) out.push_back({"s3-https", host_, tls_server_->port()});
  return out;
}

absl::Status S3Frontend::Shutdown(absl::Time deadline) {
  connections_.Reset();
  if (tls_server_ != nullptr) tls_server_->Shutdown(deadline);
  if (server_ != nullptr) server_->Shutdown(deadline);
  return absl::OkStatus();
}

}  // namespace cfs::s3
