// cfs-gateway: flags and a config file -> GatewayOptions -> GatewayBuilder -> run until
// SIGTERM/SIGINT, then a graceful shutdown.
//
// With no config it serves the embedded backend from ./cfs-data. Flags given on the command
// line win over the config file; CFS_ROOT_USER/CFS_ROOT_PASSWORD create or update the root user,
// and CFS_ADMIN_TOKEN sets the control plane's admin token (else <data_dir>/admin.token).

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_split.h"
#include "lib/common/logging.h"
#include "lib/config/config_file.h"
#include "lib/gateway/gateway.h"

ABSL_FLAG(std::string, config, "", "Config file (protobuf text format, see docs/operations.md)");
ABSL_FLAG(std::string, data_dir, "./cfs-data", "Directory of the embedded backend's state");
ABSL_FLAG(std::string, remote_metadata, "",
          "A cfs-node cluster's metadata node (host:port of its A2 service); empty serves the "
          "embedded backend in --data_dir");
ABSL_FLAG(std::string, a4_transport, "tcp-uring",
          "Remote backend data transport: tcp-uring, socket, libfabric (auto-detected provider) "
          "or libfabric:<provider> (libfabric:tcp, libfabric:sockets)");
ABSL_FLAG(int, max_connections_per_client, 4096,
          "Connections one client address may hold on each listener (more are refused)");
ABSL_FLAG(int, backend_timeout_ms, 5000,
          "Remote backend: the longest one backend call may take before it fails");
ABSL_FLAG(int, breaker_open_seconds, 30,
          "Remote backend: how long a node's open circuit refuses calls before probing it");
ABSL_FLAG(std::string, bind_address, "0.0.0.0", "Address every listener binds");
ABSL_FLAG(int, nfs_port, 2049, "NFS port (0 picks a free port)");
ABSL_FLAG(int, mount_port, 20048, "MOUNT port (0 picks a free port)");
ABSL_FLAG(int, s3_port, 9000, "S3 port (0 picks a free port)");
ABSL_FLAG(int, smb_port, 445, "SMB port (0 picks a free port)");
ABSL_FLAG(std::string, s3_base_domain, "",
          "S3 virtual-hosted-style base domain: <bucket>.<domain> addresses <bucket>");
ABSL_FLAG(std::string, s3_region, "us-east-1", "The region S3 clients sign for");
ABSL_FLAG(int, s3_tls_port, -1, "S3 over HTTPS port (0 picks a free port; -1: no HTTPS)");
ABSL_FLAG(std::string, tls_cert_file, "", "PEM certificate chain for HTTPS");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key for HTTPS");
ABSL_FLAG(bool, smb_signing_required, false, "Every SMB session must sign (or encrypt)");
ABSL_FLAG(bool, smb_encryption_required, false,
          "Every SMB session must encrypt (SMB 3.x clients only)");
ABSL_FLAG(int, control_port, 9090,
          "gRPC control plane port (0 picks a free port; -1: no control plane)");
ABSL_FLAG(std::string, control_bind_address, "127.0.0.1",
          "Address the control plane listens on (loopback unless set)");
ABSL_FLAG(std::string, control_tls_cert_file, "", "PEM certificate chain for the control plane");
ABSL_FLAG(std::string, control_tls_key_file, "", "PEM private key for the control plane");
ABSL_FLAG(std::string, control_client_ca_file, "",
          "PEM CA whose client certificates the control plane admits (mutual TLS)");
ABSL_FLAG(int, metrics_port, 9100, "HTTP /metrics /healthz /readyz port (0 picks a free port)");
ABSL_FLAG(int, portmapper_port, 111,
          "Port of the system portmapper (rpcbind) to register NFS and MOUNT with; 0: none");
ABSL_FLAG(std::string, protocols, "",
          "Comma list of protocols to serve; empty serves every protocol this build has");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error");
ABSL_FLAG(std::string, log_format, "text",
          "text (<level> <time> <component>] [<request id>] message) or json (one object a line)");

namespace {

// Names of the flags given on the command line (this Abseil keeps its own record private).
std::set<std::string> given_flags;

void RecordGivenFlags(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') continue;
    arg.remove_prefix(arg[1] == '-' ? 2 : 1);
    given_flags.insert(std::string(arg.substr(0, arg.find('='))));
  }
}

bool Specified(const std::string& name) { return given_flags.count(name) != 0; }

int Fail(const absl::Status& status) {
  std::cerr << "cfs-gateway: " << status.message() << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Serves the ClaudeFS namespace over NFS, S3 and SMB.\n"
      "  cfs-gateway --data_dir=./cfs-data --bind_address=127.0.0.1 --nfs_port=12049 ...");
  RecordGivenFlags(argc, argv);
  std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  if (rest.size() > 1) {
    std::cerr << "cfs-gateway: unexpected argument '" << rest[1] << "' (see --help)\n";
    return 2;
  }

  cfs::gateway::GatewayOptions options;
  cfs::LogLevel level = cfs::LogLevel::kInfo;
  if (!absl::GetFlag(FLAGS_config).empty()) {
    absl::Status s = cfs::config::LoadConfigFile(absl::GetFlag(FLAGS_config), &options, &level);
    if (!s.ok()) return Fail(s);
    options.config_file = absl::GetFlag(FLAGS_config);
  }
  if (Specified("log_level") && !cfs::ParseLogLevel(absl::GetFlag(FLAGS_log_level), &level)) {
    return Fail(absl::InvalidArgumentError("--log_level must be debug, info, warning or error"));
  }
  cfs::SetMinLogLevel(level);
  cfs::LogFormat log_format = cfs::LogFormat::kText;
  if (!cfs::ParseLogFormat(absl::GetFlag(FLAGS_log_format), &log_format)) {
    return Fail(absl::InvalidArgumentError("--log_format must be text or json"));
  }
  cfs::SetLogFormat(log_format);
  if (Specified("data_dir") || absl::GetFlag(FLAGS_config).empty()) {
    options.data_dir = absl::GetFlag(FLAGS_data_dir);
  }
  if (Specified("remote_metadata")) {
    options.remote_metadata_address = absl::GetFlag(FLAGS_remote_metadata);
  }
  if (Specified("a4_transport")) options.a4_transport = absl::GetFlag(FLAGS_a4_transport);
  if (Specified("max_connections_per_client")) {
    options.max_connections_per_client = absl::GetFlag(FLAGS_max_connections_per_client);
  }
  if (Specified("backend_timeout_ms")) {
    options.backend_operation_timeout = absl::Milliseconds(absl::GetFlag(FLAGS_backend_timeout_ms));
  }
  if (Specified("breaker_open_seconds")) {
    options.breaker_open_duration = absl::Seconds(absl::GetFlag(FLAGS_breaker_open_seconds));
  }
  if (Specified("bind_address")) options.bind_address = absl::GetFlag(FLAGS_bind_address);
  if (Specified("nfs_port")) options.nfs_port = absl::GetFlag(FLAGS_nfs_port);
  if (Specified("mount_port")) options.mount_port = absl::GetFlag(FLAGS_mount_port);
  if (Specified("s3_port")) options.s3_port = absl::GetFlag(FLAGS_s3_port);
  if (Specified("smb_port")) options.smb_port = absl::GetFlag(FLAGS_smb_port);
  if (Specified("s3_base_domain")) options.s3_base_domain = absl::GetFlag(FLAGS_s3_base_domain);
  if (Specified("s3_region")) options.s3_region = absl::GetFlag(FLAGS_s3_region);
  if (Specified("s3_tls_port")) options.s3_tls_port = absl::GetFlag(FLAGS_s3_tls_port);
  if (Specified("tls_cert_file")) options.tls_cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  if (Specified("tls_key_file")) options.tls_key_file = absl::GetFlag(FLAGS_tls_key_file);
  if (Specified("smb_signing_required")) {
    options.smb_signing_required = absl::GetFlag(FLAGS_smb_signing_required);
  }
  if (Specified("smb_encryption_required")) {
    options.smb_encryption_required = absl::GetFlag(FLAGS_smb_encryption_required);
  }
  if (Specified("control_port")) options.control_port = absl::GetFlag(FLAGS_control_port);
  if (Specified("control_bind_address")) {
    options.control_bind_address = absl::GetFlag(FLAGS_control_bind_address);
  }
  if (Specified("control_tls_cert_file")) {
    options.control_tls_cert_file = absl::GetFlag(FLAGS_control_tls_cert_file);
  }
  if (Specified("control_tls_key_file")) {
    options.control_tls_key_file = absl::GetFlag(FLAGS_control_tls_key_file);
  }
  if (Specified("control_client_ca_file")) {
    options.control_client_ca_file = absl::GetFlag(FLAGS_control_client_ca_file);
  }
  if (const char* token = std::getenv("CFS_ADMIN_TOKEN")) options.control_token = token;
  if (Specified("metrics_port")) options.metrics_port = absl::GetFlag(FLAGS_metrics_port);
  if (Specified("portmapper_port")) {
    options.portmapper_port = absl::GetFlag(FLAGS_portmapper_port);
  }
  if (Specified("protocols")) {
    options.protocols = absl::StrSplit(absl::GetFlag(FLAGS_protocols), ',', absl::SkipEmpty());
  }
  if (const char* user = std::getenv("CFS_ROOT_USER")) options.root_user = user;
  if (const char* password = std::getenv("CFS_ROOT_PASSWORD")) options.root_password = password;

  // Block the stop signals before any thread starts, so only sigwait below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  absl::StatusOr<std::unique_ptr<cfs::gateway::Gateway>> gateway =
      cfs::gateway::GatewayBuilder().SetOptions(options).Build();
  if (!gateway.ok()) return Fail(gateway.status());
  // The control plane's Shutdown call stops the process the way SIGTERM does.
  (*gateway)->SetShutdownHandler([] { kill(getpid(), SIGTERM); });
  absl::Status started = (*gateway)->Start();
  if (!started.ok()) return Fail(started);
  if ((*gateway)->addresses().empty()) {
    CFS_LOG(WARNING, "gateway") << "no protocol frontend is built in yet; the backend is open "
                                   "but nothing listens";
  }
  CFS_LOG(INFO, "gateway") << "ready; SIGTERM or SIGINT stops it";

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  CFS_LOG(INFO, "gateway") << "signal " << signal_number << ": shutting down";
  absl::Status stopped = (*gateway)->Shutdown();
  if (!stopped.ok()) return Fail(stopped);
  return 0;
}
