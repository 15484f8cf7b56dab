#include "lib/control/admin_service.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "lib/common/logging.h"
#include "lib/config/client_rule_proto.h"
#include "lib/config/config_file.h"
#include "lib/control/control_state.h"

namespace cfs::control {
namespace {

grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  // absl's canonical codes are gRPC's, number for number.
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

// ---- conversions ----

void ToProto(const auth::Export& in, pb::Export* out) {
  out->set_id(in.id);
  out->set_name(in.name);
  out->set_path(in.path);
  out->set_nfs_path(in.nfs_path);
  out->set_smb_share(in.smb_share);
  out->set_smb_encrypt(in.smb_encrypt);
  out->set_s3_buckets(in.s3_buckets);
  for (const auth::ClientRule& rule : in.rules) config::ClientRuleToProto(rule, out->add_rules());
}

absl::StatusOr<auth::Export> FromProto(const pb::Export& in) {
  auth::Export exp;
  exp.id = in.id();
  exp.name = in.name();
  exp.path = in.path().empty() ? "/" : in.path();
  exp.nfs_path = in.nfs_path().empty() ? "/" + in.name() : in.nfs_path();
  exp.smb_share = in.smb_share();
  exp.smb_encrypt = in.smb_encrypt();
  exp.s3_buckets = in.s3_buckets();
  for (const pb::ClientRule& r : in.rules()) {
    absl::StatusOr<auth::ClientRule> rule = config::ClientRuleFromProto(r, in.name());
    if (!rule.ok()) return rule.status();
    exp.rules.push_back(*std::move(rule));
  }
  return exp;
}

void ToProto(const auth::User& in, pb::User* out) {
  out->set_name(in.name);
  out->set_uid(in.uid);
  out->set_gid(in.gid);
  for (uint32_t g : in.groups) out->add_groups(g);
  out->set_enabled(in.enabled);
  out->set_has_smb_password(!in.nt_hash.empty());
  for (const auth::S3Key& key : in.s3_keys) {
    pb::AccessKey* k = out->add_access_keys();
    k->set_access_key_id(key.access_key_id);
    k->set_enabled(key.enabled);
  }
}

absl::StatusOr<quota::QuotaSubject> FromProto(const pb::QuotaSubject& in) {
  absl::StatusOr<quota::QuotaKind> kind = quota::ParseQuotaKind(in.kind());
  if (!kind.ok()) return kind.status();
  return quota::QuotaSubject{*kind, in.name()};
}

void ToProto(const quota::QuotaReport& in, pb::QuotaReport* out) {
  out->mutable_subject()->set_kind(std::string(quota::QuotaKindName(in.setting.subject.kind)));
  out->mutable_subject()->set_name(in.setting.subject.name);
  const quota::QuotaLimits& l = in.setting.limits;
  out->mutable_limits()->set_soft_bytes(l.soft_bytes);
  out->mutable_limits()->set_hard_bytes(l.hard_bytes);
  out->mutable_limits()->set_soft_inodes(l.soft_inodes);
  out->mutable_limits()->set_hard_inodes(l.hard_inodes);
  out->set_used_bytes(in.usage.bytes);
  out->set_used_inodes(in.usage.inodes);
  out->set_soft_exceeded(in.soft_exceeded);
  out->set_hard_reached(in.hard_reached);
}

// Random characters from `alphabet` (OpenSSL's CSPRNG).
absl::StatusOr<std::string> RandomString(absl::string_view alphabet, size_t length) {
  std::string bytes(length, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(length)) != 1) {
    return absl::InternalError("no random bytes from the crypto library");
  }
  std::string out;
  for (unsigned char b : bytes) out.push_back(alphabet[b % alphabet.size()]);
  return out;
}

// A new S3 key pair shaped like AWS's: a 20-character id and a 40-character secret.
absl::StatusOr<auth::S3Key> NewAccessKey() {
  absl::StatusOr<std::string> id = RandomString("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16);
  if (!id.ok()) return id.status();
  absl::StatusOr<std::string> secret =
      RandomString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 40);
  if (!secret.ok()) return secret.status();
  return auth::S3Key{"CFSK" + *id, *secret, true};
}

// The key `id` of `user`. Errors: kNotFound naming both.
absl::StatusOr<std::vector<auth::S3Key>::iterator> FindKey(auth::User& user, absl::string_view id) {
  auto it = std::find_if(user.s3_keys.begin(), user.s3_keys.end(),
                         [&](const auth::S3Key& k) { return k.access_key_id == id; });
  if (it == user.s3_keys.end()) {
    return absl::NotFoundError(absl::StrCat("user ", user.name, " has no key ", id));
  }
  return it;
}

absl::Status NeedName(absl::string_view field, absl::string_view value) {
  if (value.empty()) return absl::InvalidArgumentError(absl::StrCat(field, " is empty"));
  return absl::OkStatus();
}

}  // namespace

AdminService::AdminService(gateway::Gateway& gateway, AdminAuth auth)
    : gateway_(gateway), auth_(std::move(auth)) {}

absl::Status AdminService::Authorize(grpc::ServerContext* c, std::string* who) const {
  if (auth_.client_certificates && c->auth_context() != nullptr &&
      c->auth_context()->IsPeerAuthenticated()) {
    std::vector<grpc::string_ref> names = c->auth_context()->GetPeerIdentity();
    *who = names.empty()
               ? "certificate"
               : absl::StrCat("certificate ", std::string(names[0].data(), names[0].size()));
    return absl::OkStatus();
  }
  auto it = c->client_metadata().find("authorization");
  if (it == c->client_metadata().end()) {
    return absl::UnauthenticatedError(
        "no credentials: send the admin token as 'authorization: Bearer <token>'");
  }
  absl::string_view value(it->second.data(), it->second.size());
  if (!absl::ConsumePrefix(&value, "Bearer ") || auth_.token.empty() ||
      value.size() != auth_.token.size() ||
      CRYPTO_memcmp(value.data(), auth_.token.data(), value.size()) != 0) {
    return absl::UnauthenticatedError("the admin token is not valid");
  }
  *who = "token";
  return absl::OkStatus();
}

template <typename Body>
grpc::Status AdminService::Run(grpc::ServerContext* c, const char* method, Kind kind,
                               const std::string& what, Body body) {
  std::string who;
  absl::Status allowed = Authorize(c, &who);
  if (!allowed.ok()) {
    CFS_LOG(WARNING, "audit") << method << " " << what << " from " << c->peer()
                              << " refused: " << allowed.message();
    return ToGrpc(allowed);
  }
  if (kind == Kind::kRead) return ToGrpc(body());
  std::lock_guard<std::mutex> lock(changes_mu_);
  absl::Status done = body();
  // Saved whatever the outcome: a change that failed halfway (a reload) may have applied part.
  absl::Status saved = SaveControlState(gateway_);
  if (!saved.ok() && done.ok()) {
    done = absl::InternalError(
        absl::StrCat("the change is live but could not be saved: ", saved.message()));
  }
  CFS_LOG(INFO, "audit") << method << " " << what << " by " << who << " from " << c->peer() << ": "
                         << (done.ok() ? "ok" : std::string(done.message()));
  return ToGrpc(done);
}

// ---- status ----

grpc::Status AdminService::GetStatus(grpc::ServerContext* c, const pb::GetStatusRequest*,
                                     pb::GetStatusResponse* resp) {
  return Run(c, "GetStatus", Kind::kRead, "", [&] {
    resp->set_version(kGatewayVersion);
    resp->set_uptime_seconds(absl::ToInt64Seconds(absl::Now() - gateway_.started_at()));
    resp->set_backend(gateway_.backend().Describe());
    for (const gateway::BoundAddress& a : gateway_.addresses()) {
      pb::Listener* l = resp->add_listeners();
      l->set_name(a.name);
      l->set_host(a.host);
      l->set_port(a.port);
    }
    bool ready = true;
    for (const gateway::Gateway::Check& check : gateway_.ReadinessChecks()) {
      pb::Check* out = resp->add_checks();
      out->set_name(check.name);
      out->set_ok(check.status.ok());
      out->set_message(std::string(check.status.message()));
      ready = ready && check.status.ok();
    }
    resp->set_ready(ready);
    resp->set_draining(gateway_.draining());
    return absl::OkStatus();
  });
}

// ---- exports ----

grpc::Status AdminService::ListExports(grpc::ServerContext* c, const pb::ListExportsRequest*,
                                       pb::ListExportsResponse* resp) {
  return Run(c, "ListExports", Kind::kRead, "", [&] {
    for (const auth::Export& exp : gateway_.exports()) ToProto(exp, resp->add_exports());
    return absl::OkStatus();
  });
}

grpc::Status AdminService::AddExport(grpc::ServerContext* c, const pb::AddExportRequest* req,
                                     pb::Export* resp) {
  return Run(c, "AddExport", Kind::kChange, req->export_().name(), [&]() -> absl::Status {
    absl::Status named = NeedName("export.name", req->export_().name());
    if (!named.ok()) return named;
    absl::StatusOr<auth::Export> exp = FromProto(req->export_());
    if (!exp.ok()) return exp.status();
    std::vector<auth::Export> exports = gateway_.exports();
    uint32_t highest = 0;
    for (const auth::Export& e : exports) {
      if (e.name == exp->name) {
        return absl::AlreadyExistsError(absl::StrCat("export ", exp->name, " exists"));
      }
      highest = std::max(highest, e.id);
    }
    if (exp->id == 0) exp->id = highest + 1;  // a fresh id: handles of others stay valid
    exports.push_back(*exp);
    absl::Status set = gateway_.SetExports(std::move(exports));
    if (!set.ok()) return set;
    ToProto(*exp, resp);
    return absl::OkStatus();
  });
}

grpc::Status AdminService::UpdateExport(grpc::ServerContext* c, const pb::UpdateExportRequest* req,
                                        pb::Export* resp) {
  return Run(c, "UpdateExport", Kind::kChange, req->export_().name(), [&]() -> absl::Status {
    absl::StatusOr<auth::Export> exp = FromProto(req->export_());
    if (!exp.ok()) return exp.status();
    std::vector<auth::Export> exports = gateway_.exports();
    auto it = std::find_if(exports.begin(), exports.end(),
                           [&](const auth::Export& e) { return e.name == exp->name; });
    if (it == exports.end()) return absl::NotFoundError(absl::StrCat("no export ", exp->name));
    if (exp->id == 0) exp->id = it->id;
    if (exp->id != it->id) {
      return absl::InvalidArgumentError(absl::StrCat("export ", exp->name, ": id ", it->id,
                                                     " cannot change (file handles carry it)"));
    }
    *it = *exp;
    absl::Status set = gateway_.SetExports(std::move(exports));
    if (!set.ok()) return set;
    ToProto(*exp, resp);
    return absl::OkStatus();
  });
}

grpc::Status AdminService::RemoveExport(grpc::ServerContext* c, const pb::RemoveExportRequest* req,
                                        pb::Empty*) {
  return Run(c, "RemoveExport", Kind::kChange, req->name(), [&]() -> absl::Status {
    std::vector<auth::Export> exports = gateway_.exports();
    auto it = std::find_if(exports.begin(), exports.end(),
                           [&](const auth::Export& e) { return e.name == req->name(); });
    if (it == exports.end()) return absl::NotFoundError(absl::StrCat("no export ", req->name()));
    exports.erase(it);
    if (exports.empty()) {
      return absl::FailedPreconditionError("the last export cannot be removed");
    }
    return gateway_.SetExports(std::move(exports));
  });
}

// ---- users and groups ----

grpc::Status AdminService::ListUsers(grpc::ServerContext* c, const pb::ListUsersRequest*,
                                     pb::ListUsersResponse* resp) {
  return Run(c, "ListUsers", Kind::kRead, "", [&] {
    for (const auth::User& user : gateway_.users().List()) ToProto(user, resp->add_users());
    return absl::OkStatus();
  });
}

grpc::Status AdminService::CreateUser(grpc::ServerContext* c, const pb::CreateUserRequest* req,
                                      pb::User* resp) {
  return Run(c, "CreateUser", Kind::kChange, req->name(), [&]() -> absl::Status {
    absl::Status named = NeedName("name", req->name());
    if (!named.ok()) return named;
    if (gateway_.users().FindByName(req->name()).has_value()) {
      return absl::AlreadyExistsError(absl::StrCat("user ", req->name(), " exists"));
    }
    auth::User user;
    user.name = req->name();
    user.uid = req->uid();
    user.gid = req->gid();
    user.groups.assign(req->groups().begin(), req->groups().end());
    if (!req->smb_password().empty()) {
      absl::StatusOr<std::string> hash = auth::NtHash(req->smb_password());
      if (!hash.ok()) return absl::InvalidArgumentError(hash.status().message());
      user.nt_hash = *hash;
    }
    absl::Status s = gateway_.users().Upsert(user);
    if (!s.ok()) return s;
    ToProto(user, resp);
    return absl::OkStatus();
  });
}

grpc::Status AdminService::UpdateUser(grpc::ServerContext* c, const pb::UpdateUserRequest* req,
                                      pb::User* resp) {
  return Run(c, "UpdateUser", Kind::kChange, req->name(), [&]() -> absl::Status {
    std::string nt_hash;
    if (req->has_smb_password() && !req->smb_password().empty()) {
      absl::StatusOr<std::string> hash = auth::NtHash(req->smb_password());
      if (!hash.ok()) return absl::InvalidArgumentError(hash.status().message());
      nt_hash = *hash;
    }
    absl::Status s = gateway_.users().Update(req->name(), [&](auth::User& user) {
      if (req->has_enabled()) user.enabled = req->enabled();
      if (req->has_smb_password()) user.nt_hash = nt_hash;
      if (req->set_groups()) user.groups.assign(req->groups().begin(), req->groups().end());
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    ToProto(*gateway_.users().FindByName(req->name()), resp);
    return absl::OkStatus();
  });
}

grpc::Status AdminService::DeleteUser(grpc::ServerContext* c, const pb::DeleteUserRequest* req,
                                      pb::Empty*) {
  return Run(c, "DeleteUser", Kind::kChange, req->name(),
             [&] { return gateway_.users().Remove(req->name()); });
}

grpc::Status AdminService::ListGroups(grpc::ServerContext* c, const pb::ListGroupsRequest*,
                                      pb::ListGroupsResponse* resp) {
  return Run(c, "ListGroups", Kind::kRead, "", [&] {
    std::vector<auth::User> users = gateway_.users().List();
    for (const auth::Group& group : gateway_.users().ListGroups()) {
      pb::Group* out = resp->add_groups();
      out->set_name(group.name);
      out->set_gid(group.gid);
      for (const auth::User& user : users) {
        if (user.gid == group.gid ||
            std::find(user.groups.begin(), user.groups.end(), group.gid) != user.groups.end()) {
          out->add_members(user.name);
        }
      }
    }
    return absl::OkStatus();
  });
}

grpc::Status AdminService::CreateGroup(grpc::ServerContext* c, const pb::CreateGroupRequest* req,
                                       pb::Group* resp) {
  return Run(c, "CreateGroup", Kind::kChange, req->name(), [&]() -> absl::Status {
    absl::Status named = NeedName("name", req->name());
    if (!named.ok()) return named;
    if (gateway_.users().FindGroup(req->name()).has_value()) {
      return absl::AlreadyExistsError(absl::StrCat("group ", req->name(), " exists"));
    }
    absl::Status s = gateway_.users().UpsertGroup(auth::Group{req->name(), req->gid()});
    if (!s.ok()) return s;
    resp->set_name(req->name());
    resp->set_gid(req->gid());
    return absl::OkStatus();
  });
}

grpc::Status AdminService::DeleteGroup(grpc::ServerContext* c, const pb::DeleteGroupRequest* req,
                                       pb::Empty*) {
  return Run(c, "DeleteGroup", Kind::kChange, req->name(),
             [&] { return gateway_.users().RemoveGroup(req->name()); });
}

// ---- access keys ----

grpc::Status AdminService::CreateAccessKey(grpc::ServerContext* c,
                                           const pb::CreateAccessKeyRequest* req,
                                           pb::AccessKeySecret* resp) {
  return Run(c, "CreateAccessKey", Kind::kChange, req->user(), [&]() -> absl::Status {
    absl::StatusOr<auth::S3Key> key = NewAccessKey();
    if (!key.ok()) return key.status();
    absl::Status s = gateway_.users().Update(req->user(), [&](auth::User& user) {
      user.s3_keys.push_back(*key);
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    resp->set_user(req->user());
    resp->set_access_key_id(key->access_key_id);
    resp->set_secret(key->secret);
    return absl::OkStatus();
  });
}

grpc::Status AdminService::RotateAccessKey(grpc::ServerContext* c,
                                           const pb::RotateAccessKeyRequest* req,
                                           pb::AccessKeySecret* resp) {
  std::string what = absl::StrCat(req->user(), " ", req->access_key_id());
  return Run(c, "RotateAccessKey", Kind::kChange, what, [&]() -> absl::Status {
    absl::StatusOr<auth::S3Key> key = NewAccessKey();
    if (!key.ok()) return key.status();
    absl::Status s = gateway_.users().Update(req->user(), [&](auth::User& user) {
      auto old = FindKey(user, req->access_key_id());
      if (!old.ok()) return old.status();
      if (req->delete_old()) {
        user.s3_keys.erase(*old);
      } else {
        (*old)->enabled = false;
      }
      user.s3_keys.push_back(*key);
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    resp->set_user(req->user());
    resp->set_access_key_id(key->access_key_id);
    resp->set_secret(key->secret);
    resp->set_replaced_access_key_id(req->access_key_id());
    return absl::OkStatus();
  });
}

grpc::Status AdminService::SetAccessKeyEnabled(grpc::ServerContext* c,
                                               const pb::SetAccessKeyEnabledRequest* req,
                                               pb::AccessKey* resp) {
  std::string what = absl::StrCat(req->user(), " ", req->access_key_id(), " ",
                                  req->enabled() ? "enable" : "disable");
  return Run(c, "SetAccessKeyEnabled", Kind::kChange, what, [&]() -> absl::Status {
    absl::Status s = gateway_.users().Update(req->user(), [&](auth::User& user) {
      auto key = FindKey(user, req->access_key_id());
      if (!key.ok()) return key.status();
      (*key)->enabled = req->enabled();
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    resp->set_access_key_id(req->access_key_id());
    resp->set_enabled(req->enabled());
    return absl::OkStatus();
  });
}

grpc::Status AdminService::DeleteAccessKey(grpc::ServerContext* c,
                                           const pb::DeleteAccessKeyRequest* req, pb::Empty*) {
  std::string what = absl::StrCat(req->user(), " ", req->access_key_id());
  return Run(c, "DeleteAccessKey", Kind::kChange, what, [&] {
    return gateway_.users().Update(req->user(), [&](auth::User& user) {
      auto key = FindKey(user, req->access_key_id());
      if (!key.ok()) return key.status();
      user.s3_keys.erase(*key);
      return absl::OkStatus();
    });
  });
}

// ---- quotas ----

grpc::Status AdminService::SetQuota(grpc::ServerContext* c, const pb::SetQuotaRequest* req,
                                    pb::QuotaReport* resp) {
  return Run(c, "SetQuota", Kind::kChange,
             absl::StrCat(req->subject().kind(), ":", req->subject().name()),
             [&]() -> absl::Status {
               absl::StatusOr<quota::QuotaSubject> subject = FromProto(req->subject());
               if (!subject.ok()) return subject.status();
               quota::QuotaSetting setting;
               setting.subject = *subject;
               setting.limits = {req->limits().soft_bytes(), req->limits().hard_bytes(),
                                 req->limits().soft_inodes(), req->limits().hard_inodes()};
               absl::Status s = gateway_.quotas()->SetQuota(setting);
               if (!s.ok()) return s;
               absl::StatusOr<quota::QuotaReport> report = gateway_.quotas()->GetQuota(*subject);
               if (report.ok()) {
                 ToProto(*report, resp);
               } else {  // all limits 0: removed
                 *resp->mutable_subject() = req->subject();
               }
               return absl::OkStatus();
             });
}

grpc::Status AdminService::GetQuota(grpc::ServerContext* c, const pb::GetQuotaRequest* req,
                                    pb::QuotaReport* resp) {
  return Run(c, "GetQuota", Kind::kRead, "", [&]() -> absl::Status {
    absl::StatusOr<quota::QuotaSubject> subject = FromProto(req->subject());
    if (!subject.ok()) return subject.status();
    absl::StatusOr<quota::QuotaReport> report = gateway_.quotas()->GetQuota(*subject);
    if (!report.ok()) return report.status();
    ToProto(*report, resp);
    return absl::OkStatus();
  });
}

grpc::Status AdminService::ListQuotas(grpc::ServerContext* c, const pb::ListQuotasRequest*,
                                      pb::ListQuotasResponse* resp) {
  return Run(c, "ListQuotas", Kind::kRead, "", [&] {
    for (const quota::QuotaReport& r : gateway_.quotas()->ListQuotas()) {
      ToProto(r, resp->add_quotas());
    }
    return absl::OkStatus();
  });
}

grpc::Status AdminService::RemoveQuota(grpc::ServerContext* c, const pb::RemoveQuotaRequest* req,
                                       pb::Empty*) {
  return Run(c, "RemoveQuota", Kind::kChange,
             absl::StrCat(req->subject().kind(), ":", req->subject().name()),
             [&]() -> absl::Status {
               absl::StatusOr<quota::QuotaSubject> subject = FromProto(req->subject());
               if (!subject.ok()) return subject.status();
               return gateway_.quotas()->RemoveQuota(*subject);
             });
}

grpc::Status AdminService::RebuildQuotaUsage(grpc::ServerContext* c,
                                             const pb::RebuildQuotaUsageRequest*,
                                             pb::ListQuotasResponse* resp) {
  return Run(c, "RebuildQuotaUsage", Kind::kChange, "", [&]() -> absl::Status {
    absl::Status s = gateway_.quotas()->RebuildUsage();
    if (!s.ok()) return s;
    for (const quota::QuotaReport& r : gateway_.quotas()->ListQuotas()) {
      ToProto(r, resp->add_quotas());
    }
    return absl::OkStatus();
  });
}

// ---- backend and lifecycle ----

grpc::Status AdminService::ListBackendNodes(grpc::ServerContext* c,
                                            const pb::ListBackendNodesRequest*,
                                            pb::ListBackendNodesResponse* resp) {
  return Run(c, "ListBackendNodes", Kind::kRead, "", [&] {
    resp->set_backend(gateway_.backend().Describe());
    for (const gateway::Gateway::NodeState& n : gateway_.BackendNodes()) {
      pb::BackendNode* out = resp->add_nodes();
      out->set_name(n.name);
      out->set_breaker_state(n.breaker_state);
      out->set_times_opened(n.times_opened);
      out->set_calls_refused(n.calls_refused);
      out->set_has_pool(n.has_pool);
      out->set_pool_connections(n.pool_connections);
      out->set_pool_connecting(n.pool_connecting);
      out->set_pool_in_use(n.pool_in_use);
      out->set_pool_waiters(n.pool_waiters);
    }
    return absl::OkStatus();
  });
}

grpc::Status AdminService::Drain(grpc::ServerContext* c, const pb::DrainRequest*, pb::Empty*) {
  return Run(c, "Drain", Kind::kChange, "", [&] {
    gateway_.Drain();
    return absl::OkStatus();
  });
}

grpc::Status AdminService::Shutdown(grpc::ServerContext* c, const pb::ShutdownRequest*,
                                    pb::Empty*) {
  return Run(c, "Shutdown", Kind::kChange, "", [&] {
    gateway_.Drain();
    gateway_.RequestShutdown();  // on a thread of its own, after this call answers
    return absl::OkStatus();
  });
}

grpc::Status AdminService::ReloadConfig(grpc::ServerContext* c, const pb::ReloadConfigRequest*,
                                        pb::ReloadConfigResponse* resp) {
  return Run(c, "ReloadConfig", Kind::kChange, gateway_.options().config_file,
             [&] { return ReloadLocked(resp); });
}

absl::Status AdminService::ReloadLocked(pb::ReloadConfigResponse* resp) {
  const std::string& path = gateway_.options().config_file;
  if (path.empty()) {
    return absl::FailedPreconditionError("the gateway was started without a config file");
  }
  resp->set_config_file(path);
  gateway::GatewayOptions fresh;
  LogLevel level = MinLogLevel();
  absl::Status loaded = config::LoadConfigFile(path, &fresh, &level);
  if (!loaded.ok()) return loaded;
  // Exports: the file's replace those of the same name; the others stay.
  std::vector<auth::Export> exports = gateway_.exports();
  bool exports_changed = false;
  for (const auth::Export& exp : fresh.exports) {
    auto it = std::find_if(exports.begin(), exports.end(),
                           [&](const auth::Export& e) { return e.name == exp.name; });
    if (it == exports.end()) {
      exports.push_back(exp);
      resp->add_changes(absl::StrCat("export ", exp.name, " added"));
    } else {
      *it = exp;
      resp->add_changes(absl::StrCat("export ", exp.name, " updated"));
    }
    exports_changed = true;
  }
  if (exports_changed) {
    absl::Status set = gateway_.SetExports(std::move(exports));
    if (!set.ok()) return set;
  }
  for (const auth::Group& group : fresh.groups) {
    absl::Status s = gateway_.users().UpsertGroup(group);
    if (!s.ok()) return s;
    resp->add_changes(absl::StrCat("group ", group.name, " set"));
  }
  for (const auth::User& user : fresh.users) {
    bool existed = gateway_.users().FindByName(user.name).has_value();
    absl::Status s = gateway_.users().Upsert(user);
    if (!s.ok()) return s;
    resp->add_changes(absl::StrCat("user ", user.name, existed ? " updated" : " added"));
  }
  for (const quota::QuotaSetting& q : fresh.quotas) {
    absl::Status s = gateway_.quotas()->SetQuota(q);
    if (!s.ok()) return s;
    resp->add_changes(absl::StrCat("quota ", q.subject.ToString(), " set"));
  }
  SetMinLogLevel(level);
  return absl::OkStatus();
}

}  // namespace cfs::control
