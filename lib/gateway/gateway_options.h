// GatewayOptions: the one configuration struct of a gateway, filled by flags, a config file or
// an embedder's code, and validated by GatewayBuilder::Build() with messages that name the field,
// what is wrong and what would be valid.
//
// Example:
//   GatewayOptions options;
//   options.data_dir = "/var/lib/cfs";
//   options.bind_address = "127.0.0.1";
//   options.nfs_port = 0;  // any free port

#ifndef CFS_LIB_GATEWAY_GATEWAY_OPTIONS_H_
#define CFS_LIB_GATEWAY_GATEWAY_OPTIONS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "lib/auth/export_policy.h"
#include "lib/auth/user_store.h"
#include "lib/quota/quota.h"

namespace cfs::gateway {

struct GatewayOptions {
  // Embedded backend state (metadata, file data, the file-handle key).
  std::string data_dir = "./cfs-data";
  // A cfs-node cluster's metadata node ("host:port" of its A2 service): when set, the gateway
  // serves that cluster through the remote backend instead of the embedded one (data_dir then
  // holds only the file-handle key).
  std::string remote_metadata_address;
  // How the remote backend reaches data nodes over A4: "tcp-uring" (TCP on io_uring),
  // "socket" (blocking sockets, the baseline), "libfabric" (the first provider libfabric
  // offers) or "libfabric:<provider>" ("libfabric:tcp", "libfabric:sockets"); the data nodes
  // must serve libfabric with the same provider.
  std::string a4_transport = "tcp-uring";
  // Remote backend resilience: the longest any one backend call may take (the circuit
  // breaker's operation timeout) and how long an open circuit refuses calls before it probes.
  absl::Duration backend_operation_timeout = absl::Seconds(5);
  absl::Duration breaker_open_duration = absl::Seconds(30);
  // Address every listener binds. Tests use 127.0.0.1.
  std::string bind_address = "0.0.0.0";
  // Listener ports; 0 picks a free port (see Gateway::addresses()).
  int nfs_port = 2049;
  int mount_port = 20048;
  int s3_port = 9000;
  int smb_port = 445;
  int control_port = 9090;  // -1: no control plane
  // The control plane (gRPC admin service, control_port): where it listens (loopback unless
  // set), the admin token every call must carry (empty: generated once into
  // <data_dir>/admin.token), and TLS (cert and key; with a client CA, mutual TLS).
  std::string control_bind_address = "127.0.0.1";
  std::string control_token;
  std::string control_tls_cert_file;
  std::string control_tls_key_file;
  std::string control_client_ca_file;
  // The config file these options came from (the control plane's ReloadConfig reads it
  // again); empty: none.
  std::string config_file;
  // The system portmapper (rpcbind) NFS and MOUNT register with; 0: do not register. Without a
  // portmapper, clients must be given the NFS and MOUNT ports.
  int portmapper_port = 111;
  // The HTTP admin port: /metrics (Prometheus), /healthz, /readyz. -1: none.
  int metrics_port = 9100;
  // S3 virtual-hosted-style addressing: <bucket>.<s3_base_domain> (empty: path style only).
  std::string s3_base_domain;
  // HTTPS for S3 on this port (0 picks one; -1: no HTTPS listener), with this PEM
  // certificate chain and key.
  int s3_tls_port = -1;
  std::string tls_cert_file;
  std::string tls_key_file;
  // SMB: every session must sign (or encrypt); every session must encrypt (SMB 3.x only).
  bool smb_signing_required = false;
  bool smb_encryption_required = false;
  // The region S3 clients sign for and GetBucketLocation reports.
  std::string s3_region = "us-east-1";
  // Frontends to run, by name; empty runs every frontend the gateway was built with.
  std::vector<std::string> protocols;
  // Exports; empty means DefaultExport(): the whole namespace.
  std::vector<auth::Export> exports;
  // Quotas set at start (the control plane changes them later); see lib/quota/quota.h.
  std::vector<quota::QuotaSetting> quotas;
  // Named groups (members are the users holding the gid).
  std::vector<auth::Group> groups;
  // Users known at start, besides the root user below.
  std::vector<auth::User> users;
  // First-run credentials (CFS_ROOT_USER / CFS_ROOT_PASSWORD): create or update a uid 0 user
  // whose S3 access key is root_user with secret root_password, and SMB login the same.
  std::string root_user;
  std::string root_password;
  // Key that authenticates file handles; empty: generated once and kept in data_dir.
  std::string file_handle_key;
  // How long Shutdown() waits for requests in flight.
  absl::Duration shutdown_timeout = absl::Seconds(30);
  // Threads of the embedded backend's disk pool.
  int backend_threads = 8;
  // Entries of the server-side attribute cache in front of the backend; 0 turns it off.
  int attribute_cache_entries = 65536;
  // Connections one client address may hold on each listener (NFS, MOUNT, S3, SMB); more are
  // refused as they arrive, so one client cannot take every connection slot.
  int max_connections_per_client = 4096;
};

// Checks a list of exports: each one's fields, and ids, NFS paths and SMB share names unique.
// Errors: kInvalidArgument naming the export and field.
absl::Status ValidateExports(const std::vector<auth::Export>& exports);

// Checks `options`; `available_protocols` are the names of the frontends built in.
// Errors: kInvalidArgument naming the field.
absl::Status ValidateGatewayOptions(const GatewayOptions& options,
                                    const std::vector<std::string>& available_protocols);

}  // namespace cfs::gateway

#endif  // CFS_LIB_GATEWAY_GATEWAY_OPTIONS_H_
