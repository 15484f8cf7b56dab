#include "lib/protocols/nfs/nfs_frontend.h"

#include <utility>

#include "lib/common/logging.h"

namespace cfs::nfs {

NfsFrontend::NfsFrontend(net::TcpServerOptions server_options)
    : server_options_(std::move(server_options)) {}

NfsFrontend::~NfsFrontend() { Shutdown(absl::Now()).IgnoreError(); }

absl::Status NfsFrontend::Start(const gateway::FrontendContext& context) {
  context_ = std::make_unique<NfsContext>(context.backend, context.handles, context.exports);
  absl::Status s = context_->Init();
  if (!s.ok()) return s;
  mount_ = std::make_unique<MountProgram>(*context_);
  nfs_ = std::make_unique<Nfs3Program>(*context_);
  dispatcher_ = std::make_unique<rpc::RpcDispatcher>(
      std::vector<rpc::RpcProgram*>{mount_.get(), nfs_.get()}, &cache_);
  if (context.metrics != nullptr) {
    nfs_metrics_ = std::make_unique<observability::ProtocolMetrics>(*context.metrics, "nfs");
    mount_metrics_ = std::make_unique<observability::ProtocolMetrics>(*context.metrics, "mount");
    dispatcher_->SetMetrics(kNfsProgram, nfs_metrics_.get());
    dispatcher_->SetMetrics(kMountProgram, mount_metrics_.get());
  }
  net::TcpServerOptions nfs_options = server_options_;
  nfs_options.name = "nfs";
  nfs_options.max_connections_per_client =
      static_cast<size_t>(context.options.max_connections_per_client);
  nfs_server_ = std::make_unique<net::TcpServer>(nfs_options, dispatcher_->HandlerFactory());
  s = nfs_server_->Start(context.options.bind_address, context.options.nfs_port);
  if (!s.ok()) return s;
  net::TcpServerOptions mount_options = server_options_;
  mount_options.name = "mount";
  mount_options.max_connections_per_client = nfs_options.max_connections_per_client;
  mount_options.loops = 1;
  mount_server_ = std::make_unique<net::TcpServer>(mount_options, dispatcher_->HandlerFactory());
  s = mount_server_->Start(context.options.bind_address, context.options.mount_port);
  if (!s.ok()) {
    nfs_server_->Shutdown(absl::Now());
    return s;
  }
  // UDP beside TCP, on the same port numbers.
  rpc::RpcDispatcher* dispatcher = dispatcher_.get();
  auto udp_handler = [dispatcher](absl::string_view data, const std::string& peer,
                                  net::UdpReply reply) {
    dispatcher->HandleRecord(
        std::string(data), peer,
        [reply = std::move(reply)](std::string head, std::string tail) { reply(head + tail); },
        /*datagram=*/true);
  };
  nfs_udp_ = std::make_unique<net::UdpServer>(udp_handler);
  s = nfs_udp_->Start(context.options.bind_address, nfs_server_->port());
  if (s.ok()) {
    mount_udp_ = std::make_unique<net::UdpServer>(udp_handler);
    s = mount_udp_->Start(context.options.bind_address, mount_server_->port());
  }
  if (!s.ok()) {
    Shutdown(absl::Now()).IgnoreError();
    return s;
  }
  if (context.metrics != nullptr) {
    connections_ = context.metrics->AddCollector([this](observability::SampleSink& sink) {
      observability::ReportConnections(sink, "nfs", nfs_server_->connection_count());
      observability::ReportConnections(sink, "mount", mount_server_->connection_count());
    });
  }
  if (context.options.portmapper_port > 0) {
    portmap_ =
        std::make_unique<rpc::PortmapRegistration>("127.0.0.1", context.options.portmapper_port);
    auto nfs_port = static_cast<uint32_t>(nfs_server_->port());
    auto mount_port = static_cast<uint32_t>(mount_server_->port());
    absl::Status registered = portmap_->Register({{kNfsProgram, 3, nfs_port, 6},
                                                  {kMountProgram, 3, mount_port, 6},
                                                  {kNfsProgram, 3, nfs_port, 17},
                                                  {kMountProgram, 3, mount_port, 17}});
    if (registered.ok()) {
      CFS_LOG(INFO, "nfs") << "registered NFS and MOUNT with the portmapper on port "
                           << context.options.portmapper_port;
    } else {
      CFS_LOG(INFO, "nfs") << "not registered with a portmapper (" << registered.message()
                           << "); clients need nfsport=" << nfs_port
                           << " and mountport=" << mount_port;
    }
  }
  return absl::OkStatus();
}

absl::Status NfsFrontend::UpdateExports(const std::vector<auth::Export>& exports) {
  if (context_ == nullptr) return absl::OkStatus();  // not started: Start takes them
  absl::Status s = context_->Update(exports);
  if (!s.ok()) return absl::Status(s.code(), absl::StrCat("nfs: ", s.message()));
  CFS_LOG(INFO, "nfs") << "exports updated (" << exports.size() << ")";
  return absl::OkStatus();
}

std::vector<gateway::BoundAddress> NfsFrontend::addresses() const {
  std::vector<gateway::BoundAddress> out;
  if (nfs_server_ != nullptr) out.push_back({"nfs", nfs_server_->host(), nfs_server_->port()});
  if (mount_server_ != nullptr) {
    out.push_back({"mount", mount_server_->host(), mount_server_->port()});
  }
  return out;
}

absl::Status NfsFrontend::Shutdown(absl::Time deadline) {
  connections_.Reset();
  if (portmap_ != nullptr) portmap_->UnregisterAll();
  if (mount_udp_ != nullptr) mount_udp_->Shutdown();
  if (nfs_udp_ != nullptr) nfs_udp_->Shutdown();
  if (mount_server_ != nullptr) mount_server_->Shutdown(deadline);
  if (nfs_server_ != nullptr) nfs_server_->Shutdown(deadline);
  return absl::OkStatus();
}

}  // namespace cfs::nfs
