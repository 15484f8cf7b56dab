#include "lib/config/config_file.h"

#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "lib/config/client_rule_proto.h"
#include "lib/config/config.pb.h"

namespace cfs::config {
namespace {

// Collects the parser's first error with its position.
class ErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (first_.empty())
      first_ = absl::StrCat("line ", line + 1, ", column ", column + 1, ": ", message);
  }
  const std::string& first() const { return first_; }

 private:
  std::string first_;
};

absl::StatusOr<auth::User> ToUser(const config::v1::User& in) {
  auth::User user;
  user.name = in.name();
  user.uid = in.uid();
  user.gid = in.gid();
  user.groups.assign(in.groups().begin(), in.groups().end());
  user.enabled = !in.has_enabled() || in.enabled();
  for (const auto& key : in.s3_keys()) {
    user.s3_keys.push_back(
        {key.access_key_id(), key.secret(), !key.has_enabled() || key.enabled()});
  }
  if (!in.nt_hash_hex().empty()) {
    std::string raw = absl::HexStringToBytes(in.nt_hash_hex());
    if (in.nt_hash_hex().size() != 32 ||
        absl::BytesToHexString(raw) != absl::AsciiStrToLower(in.nt_hash_hex())) {
      return absl::InvalidArgumentError(
          absl::StrCat("users[", in.name(), "].nt_hash_hex must be 32 hex digits"));
    }
    user.nt_hash = raw;
  } else if (!in.smb_password().empty()) {
    absl::StatusOr<std::string> hash = auth::NtHash(in.smb_password());
    if (!hash.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("users[", in.name(), "].smb_password: ", hash.status().message()));
    }
    user.nt_hash = *hash;
  }
  return user;
}

absl::StatusOr<auth::Export> ToExport(const config::v1::Export& in) {
  auth::Export exp;
  exp.id = in.id();
  exp.name = in.name();
  exp.path = in.path().empty() ? "/" : in.path();
  if (in.has_nfs_path()) exp.nfs_path = in.nfs_path();
  if (in.has_smb_share()) exp.smb_share = in.smb_share();
  if (in.has_s3_buckets()) exp.s3_buckets = in.s3_buckets();
  exp.smb_encrypt = in.smb_encrypt();
  for (const auto& rule_in : in.rules()) {
    absl::StatusOr<auth::ClientRule> rule = ClientRuleFromProto(rule_in, in.name());
    if (!rule.ok()) return rule.status();
    exp.rules.push_back(*std::move(rule));
  }
  return exp;
}

}  // namespace

absl::Status ParseConfigText(const std::string& text, gateway::GatewayOptions* options,
                             LogLevel* log_level) {
  config::v1::GatewayConfig config;
  google::protobuf::TextFormat::Parser parser;
  ErrorCollector errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, &config)) {
    return absl::InvalidArgumentError(absl::StrCat("config: ", errors.first()));
  }
  if (!config.data_dir().empty()) options->data_dir = config.data_dir();
  if (!config.remote_metadata_address().empty()) {
    options->remote_metadata_address = config.remote_metadata_address();
  }
  if (!config.a4_transport().empty()) options->a4_transport = config.a4_transport();
  if (config.has_backend_timeout_ms()) {
    options->backend_operation_timeout = absl::Milliseconds(config.backend_timeout_ms());
  }
  if (config.has_breaker_open_seconds()) {
    options->breaker_open_duration = absl::Seconds(config.breaker_open_seconds());
  }
  if (!config.bind_address().empty()) options->bind_address = config.bind_address();
  if (config.has_nfs_port()) options->nfs_port = config.nfs_port();
  if (config.has_mount_port()) options->mount_port = config.mount_port();
  if (config.has_s3_port()) options->s3_port = config.s3_port();
  if (config.has_smb_port()) options->smb_port = config.smb_port();
  if (config.has_control_port()) options->control_port = config.control_port();
  if (config.has_metrics_port()) options->metrics_port = config.metrics_port();
  if (config.has_portmapper_port()) options->portmapper_port = config.portmapper_port();
  if (!config.s3_base_domain().empty()) options->s3_base_domain = config.s3_base_domain();
  if (!config.s3_region().empty()) options->s3_region = config.s3_region();
  if (config.has_s3_tls_port()) options->s3_tls_port = config.s3_tls_port();
  if (!config.tls_cert_file().empty()) options->tls_cert_file = config.tls_cert_file();
  if (!config.tls_key_file().empty()) options->tls_key_file = config.tls_key_file();
  if (config.smb_signing_required()) options->smb_signing_required = true;
  if (config.smb_encryption_required()) options->smb_encryption_required = true;
  if (config.has_max_connections_per_client()) {
    options->max_connections_per_client = config.max_connections_per_client();
  }
  if (config.has_attribute_cache_entries()) {
    options->attribute_cache_entries = config.attribute_cache_entries();
  }
  if (config.has_backend_threads()) options->backend_threads = config.backend_threads();
  if (config.has_shutdown_timeout_seconds()) {
    options->shutdown_timeout = absl::Seconds(config.shutdown_timeout_seconds());
  }
  if (config.protocols_size() > 0) {
    options->protocols.assign(config.protocols().begin(), config.protocols().end());
  }
  for (const auto& exp : config.exports()) {
    absl::StatusOr<auth::Export> converted = ToExport(exp);
    if (!converted.ok()) return converted.status();
    options->exports.push_back(std::move(*converted));
  }
  for (const auto& user : config.users()) {
    absl::StatusOr<auth::User> converted = ToUser(user);
    if (!converted.ok()) return converted.status();
    options->users.push_back(std::move(*converted));
  }
  for (const auto& g : config.groups()) options->groups.push_back(auth::Group{g.name(), g.gid()});
  if (!config.control_bind_address().empty()) {
    options->control_bind_address = config.control_bind_address();
  }
  if (!config.control_token().empty()) options->control_token = config.control_token();
  if (!config.control_tls_cert_file().empty()) {
    options->control_tls_cert_file = config.control_tls_cert_file();
  }
  if (!config.control_tls_key_file().empty()) {
    options->control_tls_key_file = config.control_tls_key_file();
  }
  if (!config.control_client_ca_file().empty()) {
    options->control_client_ca_file = config.control_client_ca_file();
  }
  for (const auto& q : config.quotas()) {
    absl::StatusOr<quota::QuotaKind> kind = quota::ParseQuotaKind(q.kind());
    if (!kind.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("quotas[", q.subject(), "]: ", kind.status().message()));
    }
    quota::QuotaSetting setting;
    setting.subject = {*kind, q.subject()};
    setting.limits = {q.soft_bytes(), q.hard_bytes(), q.soft_inodes(), q.hard_inodes()};
    options->quotas.push_back(std::move(setting));
  }
  if (!config.log_level().empty() && !ParseLogLevel(config.log_level(), log_level)) {
    return absl::InvalidArgumentError(
        absl::StrCat("log_level '", config.log_level(), "' must be debug, info, warning or error"));
  }
  return absl::OkStatus();
}

std::string FormatStateText(const std::vector<auth::Export>& exports,
                            const std::vector<auth::User>& users,
                            const std::vector<auth::Group>& groups,
                            const std::vector<quota::QuotaSetting>& quotas) {
  config::v1::GatewayConfig state;
  for (const auth::Export& exp : exports) {
    config::v1::Export* out = state.add_exports();
    out->set_id(exp.id);
    out->set_name(exp.name);
    out->set_path(exp.path);
    out->set_nfs_path(exp.nfs_path);
    out->set_smb_share(exp.smb_share);
    out->set_s3_buckets(exp.s3_buckets);
    out->set_smb_encrypt(exp.smb_encrypt);
    for (const auth::ClientRule& rule : exp.rules) ClientRuleToProto(rule, out->add_rules());
  }
  for (const auth::User& user : users) {
    config::v1::User* out = state.add_users();
    out->set_name(user.name);
    out->set_uid(user.uid);
    out->set_gid(user.gid);
    for (uint32_t g : user.groups) out->add_groups(g);
    for (const auth::S3Key& key : user.s3_keys) {
      config::v1::S3Key* k = out->add_s3_keys();
      k->set_access_key_id(key.access_key_id);
      k->set_secret(key.secret);
      k->set_enabled(key.enabled);
    }
    if (!user.nt_hash.empty()) out->set_nt_hash_hex(absl::BytesToHexString(user.nt_hash));
    out->set_enabled(user.enabled);
  }
  for (const auth::Group& group : groups) {
    config::v1::Group* out = state.add_groups();
    out->set_name(group.name);
    out->set_gid(group.gid);
  }
  for (const quota::QuotaSetting& q : quotas) {
    config::v1::Quota* out = state.add_quotas();
    out->set_kind(std::string(quota::QuotaKindName(q.subject.kind)));
    out->set_subject(q.subject.name);
    out->set_soft_bytes(q.limits.soft_bytes);
    out->set_hard_bytes(q.limits.hard_bytes);
    out->set_soft_inodes(q.limits.soft_inodes);
    out->set_hard_inodes(q.limits.hard_inodes);
  }
  std::string text;
  google::protobuf::TextFormat::PrintToString(state, &text);
  return text;
}

absl::Status LoadConfigFile(const std::string& path, gateway::GatewayOptions* options,
                            LogLevel* log_level) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("config file ", path, " cannot be read"));
  std::stringstream text;
  text << in.rdbuf();
  absl::Status s = ParseConfigText(text.str(), options, log_level);
  if (!s.ok()) return absl::Status(s.code(), absl::StrCat(path, ": ", s.message()));
  return absl::OkStatus();
}

}  // namespace cfs::config
