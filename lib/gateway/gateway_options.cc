#include "lib/gateway/gateway_options.h"

#include <arpa/inet.h>

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/backend/file_handle.h"

namespace cfs::gateway {
namespace {

absl::Status CheckPort(absl::string_view field, int port) {
  if (port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " is ", port, "; a port must be between 1 and 65535, or 0 to pick a free one"));
  }
  return absl::OkStatus();
}

bool IsNumericAddress(const std::string& address) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, address.c_str(), buf) == 1 ||
         inet_pton(AF_INET6, address.c_str(), buf) == 1;
}

}  // namespace

absl::Status ValidateExports(const std::vector<auth::Export>& exports) {
  std::set<uint32_t> export_ids;
  std::set<std::string> names;
  std::set<std::string> nfs_paths;
  std::set<std::string> shares;
  for (const auth::Export& exp : exports) {
    absl::Status s = auth::ValidateExport(exp);
    if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat("exports: ", s.message()));
    if (!export_ids.insert(exp.id).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("exports: id ", exp.id, " is used twice; every export needs its own id"));
    }
    if (!nfs_paths.insert(exp.nfs_path).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("exports: nfs_path ", exp.nfs_path, " is used twice"));
    }
    if (!exp.smb_share.empty() && !shares.insert(exp.smb_share).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("exports: smb_share ", exp.smb_share, " is used twice"));
    }
    if (!names.insert(exp.name).second) {
      return absl::InvalidArgumentError(absl::StrCat("exports: name ", exp.name, " is used twice"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateGatewayOptions(const GatewayOptions& options,
                                    const std::vector<std::string>& available_protocols) {
  if (options.data_dir.empty()) {
    return absl::InvalidArgumentError(
        "data_dir is empty; name a directory for the gateway's state, like ./cfs-data");
  }
  if (!IsNumericAddress(options.bind_address)) {
    return absl::InvalidArgumentError(
        absl::StrCat("bind_address '", options.bind_address,
                     "' is not a numeric IPv4 or IPv6 address, like 0.0.0.0 or 127.0.0.1"));
  }
  const std::pair<const char*, int> ports[] = {
      {"nfs_port", options.nfs_port},
      {"mount_port", options.mount_port},
      {"s3_port", options.s3_port},
      {"smb_port", options.smb_port},
      {"portmapper_port", options.portmapper_port},
  };
  if (options.control_port != -1) {
    absl::Status s = CheckPort("control_port", options.control_port);
    if (!s.ok()) return s;
    if (!IsNumericAddress(options.control_bind_address)) {
      return absl::InvalidArgumentError(
          absl::StrCat("control_bind_address '", options.control_bind_address,
                       "' is not a numeric IPv4 or IPv6 address, like 127.0.0.1"));
    }
    if (options.control_tls_cert_file.empty() != options.control_tls_key_file.empty()) {
      return absl::InvalidArgumentError(
          "control_tls_cert_file and control_tls_key_file must be set together");
    }
    if (!options.control_client_ca_file.empty() && options.control_tls_cert_file.empty()) {
      return absl::InvalidArgumentError(
          "control_client_ca_file needs control_tls_cert_file and control_tls_key_file (mutual "
          "TLS is TLS first)");
    }
    if (!options.control_token.empty() && options.control_token.size() < 16) {
      return absl::InvalidArgumentError(
          "control_token must be at least 16 characters, or empty to generate one");
    }
  }
  if (options.metrics_port != -1) {
    absl::Status s = CheckPort("metrics_port", options.metrics_port);
    if (!s.ok()) return s;
  }
  for (const auto& [field, port] : ports) {
    absl::Status s = CheckPort(field, port);
    if (!s.ok()) return s;
  }
  if (options.s3_tls_port != -1) {
    absl::Status s = CheckPort("s3_tls_port", options.s3_tls_port);
    if (!s.ok()) return s;
    if (options.tls_cert_file.empty() || options.tls_key_file.empty()) {
      return absl::InvalidArgumentError(
          "s3_tls_port is set but tls_cert_file or tls_key_file is empty; HTTPS needs a PEM "
          "certificate and key");
    }
  }
  for (const std::string& protocol : options.protocols) {
    if (std::find(available_protocols.begin(), available_protocols.end(), protocol) ==
        available_protocols.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "protocols names '", protocol, "', which this gateway does not have; available: ",
          available_protocols.empty() ? "none" : absl::StrJoin(available_protocols, ", ")));
    }
  }
  absl::Status exports_valid = ValidateExports(options.exports);
  if (!exports_valid.ok()) return exports_valid;
  std::set<quota::QuotaSubject> quota_subjects;
  for (const quota::QuotaSetting& q : options.quotas) {
    absl::Status s = quota::ValidateQuotaSetting(q);
    if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat("quotas: ", s.message()));
    if (!quota_subjects.insert(q.subject).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("quotas: ", q.subject.ToString(), " is given twice"));
    }
  }
  if (options.root_user.empty() != options.root_password.empty()) {
    return absl::InvalidArgumentError(
        "root_user and root_password (CFS_ROOT_USER, CFS_ROOT_PASSWORD) must be set together");
  }
  if (!options.root_user.empty() && options.root_password.size() < 8) {
    return absl::InvalidArgumentError(
        "root_password (CFS_ROOT_PASSWORD) must be at least 8 characters");
  }
  if (!options.file_handle_key.empty() &&
      options.file_handle_key.size() < backend::FileHandleCodec::kMinKeySize) {
    return absl::InvalidArgumentError(absl::StrCat("file_handle_key must be at least ",
                                                   backend::FileHandleCodec::kMinKeySize,
                                                   " bytes, or empty to generate one"));
  }
  if (options.shutdown_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("shutdown_timeout must not be negative");
  }
  if (options.backend_threads < 1 || options.backend_threads > 1024) {
    return absl::InvalidArgumentError(absl::StrCat("backend_threads is ", options.backend_threads,
                                                   "; it must be between 1 and 1024"));
  }
  if (options.max_connections_per_client < 1) {
    return absl::InvalidArgumentError(absl::StrCat("max_connections_per_client is ",
                                                   options.max_connections_per_client,
                                                   "; it must be at least 1"));
  }
  if (options.attribute_cache_entries < 0) {
    return absl::InvalidArgumentError(absl::StrCat("attribute_cache_entries is ",
                                                   options.attribute_cache_entries,
                                                   "; use 0 to turn the cache off"));
  }
  return absl::OkStatus();
}

}  // namespace cfs::gateway
