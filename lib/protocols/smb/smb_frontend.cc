#include "lib/protocols/smb/smb_frontend.h"

#include "absl/strings/str_cat.h"
#include "lib/backend/sync_backend.h"
#include "lib/common/logging.h"
#include "lib/protocols/smb/smb_connection.h"

namespace cfs::smb {

SmbFrontend::SmbFrontend(SmbServerConfig config) : config_(std::move(config)) {}

SmbFrontend::~SmbFrontend() { Shutdown(absl::Now()).IgnoreError(); }

absl::StatusOr<std::vector<Share>> SmbFrontend::SharesOf(backend::Backend& backend,
                                                         const std::vector<auth::Export>& exports) {
  std::vector<Share> shares;
  backend::SyncBackend fs(backend, backend::RequestContext{backend::Identity::Root()});
  for (const auth::Export& exp : exports) {
    if (exp.smb_share.empty()) continue;
    absl::StatusOr<backend::Attributes> root = fs.ResolveDirectory(exp.path);
    if (!root.ok()) {
      return absl::FailedPreconditionError(absl::StrCat("smb: export ", exp.name, ": path ",
                                                        exp.path, ": ", root.status().message()));
    }
    shares.push_back(Share{exp.smb_share, std::make_shared<const auth::Export>(exp), root->inode});
  }
  if (shares.empty()) {
    return absl::InvalidArgumentError("smb: no export has an smb_share; nothing to serve");
  }
  shares.push_back(Share{"IPC$", nullptr, 0});
  return shares;
}

absl::Status SmbFrontend::UpdateExports(const std::vector<auth::Export>& exports) {
  if (server_ == nullptr) return absl::OkStatus();  // not started: Start takes them
  absl::StatusOr<std::vector<Share>> shares = SharesOf(server_->backend(), exports);
  if (!shares.ok()) return shares.status();
  size_t count = shares->size() - 1;
  server_->SetShares(*std::move(shares));
  CFS_LOG(INFO, "smb") << "shares updated (" << count << ")";
  return absl::OkStatus();
}

absl::Status SmbFrontend::Start(const gateway::FrontendContext& context) {
  absl::StatusOr<std::vector<Share>> found = SharesOf(context.backend, context.exports);
  if (!found.ok()) return found.status();
  std::vector<Share> shares = *std::move(found);
  SmbServerConfig config = config_;
  config.signing_required |= context.options.smb_signing_required;
  config.encryption_required |= context.options.smb_encryption_required;
  host_ = context.options.bind_address;
  config.local_address =
      host_ == "0.0.0.0" || host_.find(':') != std::string::npos ? "127.0.0.1" : host_;
  if (context.metrics != nullptr) {
    metrics_ = std::make_unique<observability::ProtocolMetrics>(*context.metrics, "smb");
    config.metrics = metrics_.get();
  }
  server_ = std::make_unique<SmbServer>(config, context.backend, context.users, std::move(shares));
  net::TcpServerOptions tcp;
  tcp.name = "smb";
  tcp.max_in_flight = 256;  // requests per connection before reading pauses
  tcp.max_input_bytes = config.max_io + (1 << 20);
  tcp.max_output_bytes = 4 * size_t{config.max_io};
  tcp.max_connections_per_client = static_cast<size_t>(context.options.max_connections_per_client);
  SmbServer* server = server_.get();
  listener_ = std::make_unique<net::TcpServer>(tcp, [server](const net::ConnectionInfo& info) {
    return std::make_unique<SmbConnectionHandler>(*server, info);
  });
  if (context.changes != nullptr) {
    // Reads and writes through any protocol break the oplocks of the other SMB handles.
    changes_ = context.changes;
    feed_id_ = changes_->Subscribe([server](const backend::DataAccess& access) {
      server->SendBreaks(server->state().BreakForAccess(access.inode, access.origin, access.write));
    });
  }
  absl::Status started = listener_->Start(host_, context.options.smb_port);
  if (!started.ok()) return absl::Status(started.code(), absl::StrCat("smb: ", started.message()));
  if (context.metrics != nullptr) {
    connections_ = context.metrics->AddCollector([this](observability::SampleSink& sink) {
      observability::ReportConnections(sink, "smb", listener_->connection_count());
    });
  }
  CFS_LOG(INFO, "smb") << "serving SMB on " << host_ << ":" << listener_->port() << " ("
                       << server_->shares()->size() - 1 << " share(s))";
  return absl::OkStatus();
}

std::vector<gateway::BoundAddress> SmbFrontend::addresses() const {
  if (listener_ == nullptr) return {};
  return {{"smb", host_, listener_->port()}};
}

absl::Status SmbFrontend::Shutdown(absl::Time deadline) {
  connections_.Reset();
  if (changes_ != nullptr) {
    changes_->Unsubscribe(feed_id_);
    changes_ = nullptr;
  }
  if (listener_ != nullptr) listener_->Shutdown(deadline);
  if (server_ != nullptr) server_->Shutdown();
  return absl::OkStatus();
}

}  // namespace cfs::smb
