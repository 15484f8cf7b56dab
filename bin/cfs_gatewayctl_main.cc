// cfs-gatewayctl: the command line of the gateway's control plane (cfs.gateway.admin.v1 over
// gRPC). One subcommand per RPC; tables for people, --json (the response messages in proto3
// JSON) for scripts. Exit codes: 0 done, 1 other failure, 2 usage, 3 not authorised, 4 not
// found, 5 already exists, 6 refused as invalid, 7 gateway unreachable.

#include <grpcpp/grpcpp.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"
#include "lib/control/proto/admin.grpc.pb.h"

ABSL_FLAG(std::string, address, "127.0.0.1:9090", "The gateway's control plane (host:port)");
ABSL_FLAG(std::string, token, "",
          "Admin token (default: $CFS_ADMIN_TOKEN, else the file --token_file names)");
ABSL_FLAG(std::string, token_file, "",
          "File holding the admin token (default <data_dir>/admin.token)");
ABSL_FLAG(std::string, data_dir, "./cfs-data", "The gateway's data_dir, where admin.token is");
ABSL_FLAG(std::string, tls_ca, "", "PEM CA that signed the gateway's control certificate (TLS)");
ABSL_FLAG(std::string, tls_cert, "", "PEM client certificate (mutual TLS)");
ABSL_FLAG(std::string, tls_key, "", "PEM client key (mutual TLS)");
ABSL_FLAG(bool, json, false, "Print responses as JSON");
ABSL_FLAG(int, timeout_seconds, 60, "How long one call may take");
// Export fields (exports add / update).
ABSL_FLAG(std::string, nfs_path, "", "exports: the path NFS clients mount (default /<name>)");
ABSL_FLAG(std::string, smb_share, "", "exports: the SMB share name (default: not shared)");
ABSL_FLAG(bool, smb_encrypt, false, "exports: SMB clients must encrypt");
ABSL_FLAG(bool, s3_buckets, false, "exports: top-level directories are S3 buckets");
ABSL_FLAG(std::string, clients, "", "exports: comma list of networks of one rule (default all)");
ABSL_FLAG(bool, read_only, false, "exports: the rule is read-only");
ABSL_FLAG(bool, no_root_squash, false, "exports: root stays root");
ABSL_FLAG(bool, all_squash, false, "exports: everyone is the anonymous user");
ABSL_FLAG(int, id, 0, "exports: the export id (default: the next free one)");
// User fields (users create / update).
ABSL_FLAG(int, uid, -1, "users: uid");
ABSL_FLAG(int, gid, -1, "users: primary gid");
ABSL_FLAG(std::string, groups, "-", "users: comma list of supplementary gids");
ABSL_FLAG(std::string, smb_password, "-", "users: SMB password (\"\" removes SMB login)");
// Keys (keys rotate).
ABSL_FLAG(bool, delete_old, false, "keys rotate: delete the old key instead of disabling it");
// Quota limits (quotas set): numbers with an optional K, M, G or T (powers of 1024).
ABSL_FLAG(std::string, soft_bytes, "0", "quotas: soft limit on bytes (0: none)");
ABSL_FLAG(std::string, hard_bytes, "0", "quotas: hard limit on bytes (0: none)");
ABSL_FLAG(std::string, soft_inodes, "0", "quotas: soft limit on files (0: none)");
ABSL_FLAG(std::string, hard_inodes, "0", "quotas: hard limit on files (0: none)");

namespace {

namespace pb = ::cfs::gateway::admin::v1;

constexpr char kUsage[] = R"(Manages a running cfs-gateway through its control plane.

  cfs-gatewayctl [--address=127.0.0.1:9090] [--json] COMMAND ...

Commands:
  status                                   version, uptime, listeners, readiness
  exports list
  exports add NAME PATH [--nfs_path=/p] [--smb_share=s] [--s3_buckets] [--smb_encrypt]
                        [--clients=10.0.0.0/8,::1] [--read_only] [--no_root_squash]
                        [--all_squash] [--id=N]
  exports update NAME PATH [same flags]    replaces the export of that name
  exports remove NAME
  users list
  users create NAME --uid=N --gid=N [--groups=10,20] [--smb_password=P]
  users update NAME [enable|disable] [--groups=10,20] [--smb_password=P]
  users delete NAME
  groups list | groups create NAME GID | groups delete NAME
  keys create USER                         prints the new key and its secret (once)
  keys rotate USER KEY_ID [--delete_old]   a new key; the old one disabled (or deleted)
  keys enable USER KEY_ID | keys disable USER KEY_ID | keys delete USER KEY_ID
  quotas list | quotas get KIND NAME | quotas remove KIND NAME | quotas rebuild
  quotas set KIND NAME [--soft_bytes=10G] [--hard_bytes=12G] [--soft_inodes=N] [--hard_inodes=N]
                                           KIND: user, group (NAME: a uid or gid), export, bucket
  backend                                  circuit breakers and connection pools per node
  drain                                    stop reporting ready, keep serving
  shutdown                                 graceful shutdown
  reload                                   read the config file again

Authorisation: --token, else $CFS_ADMIN_TOKEN, else the file --token_file (default
<data_dir>/admin.token); or a client certificate with --tls_cert/--tls_key (mutual TLS).
Exit codes: 0 done, 1 other failure, 2 usage, 3 not authorised, 4 not found, 5 already
exists, 6 refused as invalid, 7 gateway unreachable.)";

int Usage(const std::string& why) {
  std::cerr << "cfs-gatewayctl: " << why << "\n(see cfs-gatewayctl --help)\n";
  return 2;
}

int ExitCodeOf(const grpc::Status& s) {
  switch (s.error_code()) {
    case grpc::StatusCode::OK:
      return 0;
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      return 3;
    case grpc::StatusCode::NOT_FOUND:
      return 4;
    case grpc::StatusCode::ALREADY_EXISTS:
      return 5;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
      return 6;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return 7;
    default:
      return 1;
  }
}

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path);
  if (!in) return false;
  std::stringstream text;
  text << in.rdbuf();
  *out = text.str();
  return true;
}

// "10G" -> 10 * 2^30. False for anything else than a number with an optional K/M/G/T.
bool ParseSize(std::string text, uint64_t* out) {
  uint64_t scale = 1;
  if (!text.empty()) {
    switch (absl::ascii_toupper(text.back())) {
      case 'K':
        scale = uint64_t{1} << 10;
        break;
      case 'M':
        scale = uint64_t{1} << 20;
        break;
      case 'G':
        scale = uint64_t{1} << 30;
        break;
      case 'T':
        scale = uint64_t{1} << 40;
        break;
      default:
        break;
    }
    if (scale != 1) text.pop_back();
  }
  uint64_t n = 0;
  if (!absl::SimpleAtoi(text, &n)) return false;
  *out = n * scale;
  return true;
}

// Prints rows as aligned columns under a header.
void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  }
  auto print = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  };
  print(header);
  for (const auto& row : rows) print(row);
}

std::string Limit(uint64_t v) { return v == 0 ? "-" : absl::StrCat(v); }

class Ctl {
 public:
  Ctl(std::unique_ptr<pb::GatewayAdmin::Stub> stub, std::string token)
      : stub_(std::move(stub)), token_(std::move(token)) {}

  int Run(const std::vector<std::string>& args);

 private:
  // Calls one RPC and prints its response with `human` (or as JSON).
  template <typename Request, typename Response, typename Method, typename Human>
  int Call(Method method, const Request& request, Human human) {
    grpc::ClientContext context;
    if (!token_.empty()) context.AddMetadata("authorization", "Bearer " + token_);
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(absl::GetFlag(FLAGS_timeout_seconds)));
    Response response;
    grpc::Status s = (stub_.get()->*method)(&context, request, &response);
    if (!s.ok()) {
      std::cerr << "cfs-gatewayctl: " << s.error_message() << "\n";
      return ExitCodeOf(s);
    }
    if (absl::GetFlag(FLAGS_json)) {
      std::string json;
      google::protobuf::util::JsonPrintOptions options;
      options.add_whitespace = true;
      options.always_print_primitive_fields = true;
      options.preserve_proto_field_names = true;
      (void)google::protobuf::util::MessageToJsonString(response, &json, options);
      std::cout << json;
    } else {
      human(response);
    }
    return 0;
  }

  static void PrintExports(const pb::ListExportsResponse& r) {
    std::vector<std::vector<std::string>> rows;
    for (const pb::Export& e : r.exports()) {
      std::vector<std::string> rules;
      for (const pb::ClientRule& rule : e.rules()) {
        std::string who = rule.clients().empty() ? "*" : absl::StrJoin(rule.clients(), ",");
        rules.push_back(absl::StrCat(who, rule.read_only() ? "(ro" : "(rw",
                                     rule.all_squash()    ? ",all_squash)"
                                     : rule.root_squash() ? ",root_squash)"
                                                          : ",no_root_squash)"));
      }
      rows.push_back({absl::StrCat(e.id()), e.name(), e.path(), e.nfs_path(),
                      e.smb_share().empty() ? "-" : e.smb_share(), e.s3_buckets() ? "yes" : "no",
                      rules.empty() ? "*(rw,root_squash)" : absl::StrJoin(rules, " ")});
    }
    PrintTable({"ID", "NAME", "PATH", "NFS", "SMB", "S3", "CLIENTS"}, rows);
  }
  static void PrintUser(const pb::User& u) { PrintUsers({u}); }
  static void PrintUsers(const std::vector<pb::User>& users) {
    std::vector<std::vector<std::string>> rows;
    for (const pb::User& u : users) {
      std::vector<std::string> keys;
      for (const pb::AccessKey& k : u.access_keys()) {
        keys.push_back(k.access_key_id() + (k.enabled() ? "" : "(disabled)"));
      }
      rows.push_back({u.name(), absl::StrCat(u.uid()), absl::StrCat(u.gid()),
                      u.groups().empty() ? "-" : absl::StrJoin(u.groups(), ","),
                      u.enabled() ? "yes" : "no", u.has_smb_password() ? "yes" : "no",
                      keys.empty() ? "-" : absl::StrJoin(keys, ",")});
    }
    PrintTable({"NAME", "UID", "GID", "GROUPS", "ENABLED", "SMB", "S3 KEYS"}, rows);
  }
  static void PrintQuotas(const google::protobuf::RepeatedPtrField<pb::QuotaReport>& quotas) {
    std::vector<std::vector<std::string>> rows;
    for (const pb::QuotaReport& q : quotas) {
      std::string state = q.hard_reached() ? "HARD LIMIT" : q.soft_exceeded() ? "over soft" : "ok";
      rows.push_back({q.subject().kind(), q.subject().name(), absl::StrCat(q.used_bytes()),
                      Limit(q.limits().soft_bytes()), Limit(q.limits().hard_bytes()),
                      absl::StrCat(q.used_inodes()), Limit(q.limits().soft_inodes()),
                      Limit(q.limits().hard_inodes()), state});
    }
    PrintTable({"KIND", "SUBJECT", "BYTES", "SOFT", "HARD", "FILES", "SOFT", "HARD", "STATE"},
               rows);
  }
  static void PrintSecret(const pb::AccessKeySecret& s) {
    std::cout << "user:          " << s.user() << "\n"
              << "access key id: " << s.access_key_id() << "\n"
              << "secret:        " << s.secret() << "\n";
    if (!s.replaced_access_key_id().empty()) {
      std::cout << "replaced:      " << s.replaced_access_key_id() << "\n";
    }
    std::cout << "(the secret is shown only now)\n";
  }
  static void Done(const pb::Empty&) { std::cout << "done\n"; }

  int Exports(const std::vector<std::string>& a);
  int Users(const std::vector<std::string>& a);
  int Groups(const std::vector<std::string>& a);
  int Keys(const std::vector<std::string>& a);
  int Quotas(const std::vector<std::string>& a);

  std::unique_ptr<pb::GatewayAdmin::Stub> stub_;
  std::string token_;
};

int Ctl::Run(const std::vector<std::string>& a) {
  const std::string& command = a[0];
  if (command == "status" && a.size() == 1) {
    return Call<pb::GetStatusRequest, pb::GetStatusResponse>(
        &pb::GatewayAdmin::Stub::GetStatus, {}, [](const pb::GetStatusResponse& r) {
          std::cout << "version:  " << r.version() << "\n"
                    << "uptime:   " << r.uptime_seconds() << " s\n"
                    << "backend:  " << r.backend() << "\n"
                    << "ready:    " << (r.ready() ? "yes" : "no")
                    << (r.draining() ? " (draining)" : "") << "\n\n";
          std::vector<std::vector<std::string>> rows;
          for (const pb::Listener& l : r.listeners()) {
            rows.push_back({l.name(), absl::StrCat(l.host(), ":", l.port())});
          }
          PrintTable({"LISTENER", "ADDRESS"}, rows);
          std::cout << "\n";
          rows.clear();
          for (const pb::Check& c : r.checks()) {
            rows.push_back({c.name(), c.ok() ? "ok" : "FAILING", c.message()});
          }
          PrintTable({"CHECK", "STATE", "DETAIL"}, rows);
        });
  }
  if (command == "exports") return Exports(a);
  if (command == "users") return Users(a);
  if (command == "groups") return Groups(a);
  if (command == "keys") return Keys(a);
  if (command == "quotas") return Quotas(a);
  if (command == "backend" && a.size() == 1) {
    return Call<pb::ListBackendNodesRequest, pb::ListBackendNodesResponse>(
        &pb::GatewayAdmin::Stub::ListBackendNodes, {}, [](const pb::ListBackendNodesResponse& r) {
          std::cout << "backend: " << r.backend() << "\n";
          if (r.nodes().empty()) {
            std::cout << "(no remote nodes: the embedded backend has no breakers or pools)\n";
            return;
          }
          std::vector<std::vector<std::string>> rows;
          for (const pb::BackendNode& n : r.nodes()) {
            rows.push_back({n.name(), n.breaker_state(), absl::StrCat(n.times_opened()),
                            absl::StrCat(n.calls_refused()),
                            n.has_pool() ? absl::StrCat(n.pool_connections()) : "-",
                            n.has_pool() ? absl::StrCat(n.pool_in_use()) : "-",
                            n.has_pool() ? absl::StrCat(n.pool_waiters()) : "-"});
          }
          PrintTable({"NODE", "CIRCUIT", "OPENED", "REFUSED", "CONNECTIONS", "IN USE", "WAITING"},
                     rows);
        });
  }
  if (command == "drain" && a.size() == 1) {
    return Call<pb::DrainRequest, pb::Empty>(&pb::GatewayAdmin::Stub::Drain, {}, &Done);
  }
  if (command == "shutdown" && a.size() == 1) {
    return Call<pb::ShutdownRequest, pb::Empty>(&pb::GatewayAdmin::Stub::Shutdown, {}, &Done);
  }
  if (command == "reload" && a.size() == 1) {
    return Call<pb::ReloadConfigRequest, pb::ReloadConfigResponse>(
        &pb::GatewayAdmin::Stub::ReloadConfig, {}, [](const pb::ReloadConfigResponse& r) {
          std::cout << "reloaded " << r.config_file() << "\n";
          for (const std::string& change : r.changes()) std::cout << "  " << change << "\n";
        });
  }
  return Usage(absl::StrCat("unknown command '", absl::StrJoin(a, " "), "'"));
}

int Ctl::Exports(const std::vector<std::string>& a) {
  if (a.size() == 2 && a[1] == "list") {
    return Call<pb::ListExportsRequest, pb::ListExportsResponse>(
        &pb::GatewayAdmin::Stub::ListExports, {}, &PrintExports);
  }
  if (a.size() == 3 && a[1] == "remove") {
    pb::RemoveExportRequest req;
    req.set_name(a[2]);
    return Call<pb::RemoveExportRequest, pb::Empty>(&pb::GatewayAdmin::Stub::RemoveExport, req,
                                                    &Done);
  }
  if (a.size() == 4 && (a[1] == "add" || a[1] == "update")) {
    pb::Export e;
    e.set_id(absl::GetFlag(FLAGS_id));
    e.set_name(a[2]);
    e.set_path(a[3]);
    e.set_nfs_path(absl::GetFlag(FLAGS_nfs_path));
    e.set_smb_share(absl::GetFlag(FLAGS_smb_share));
    e.set_smb_encrypt(absl::GetFlag(FLAGS_smb_encrypt));
    e.set_s3_buckets(absl::GetFlag(FLAGS_s3_buckets));
    pb::ClientRule* rule = e.add_rules();
    for (absl::string_view c :
         absl::StrSplit(absl::GetFlag(FLAGS_clients), ',', absl::SkipEmpty())) {
      rule->add_clients(std::string(c));
    }
    rule->set_read_only(absl::GetFlag(FLAGS_read_only));
    rule->set_root_squash(!absl::GetFlag(FLAGS_no_root_squash));
    rule->set_all_squash(absl::GetFlag(FLAGS_all_squash));
    auto print = [](const pb::Export& out) {
      pb::ListExportsResponse one;
      *one.add_exports() = out;
      PrintExports(one);
    };
    if (a[1] == "add") {
      pb::AddExportRequest req;
      *req.mutable_export_() = e;
      return Call<pb::AddExportRequest, pb::Export>(&pb::GatewayAdmin::Stub::AddExport, req, print);
    }
    pb::UpdateExportRequest req;
    *req.mutable_export_() = e;
    return Call<pb::UpdateExportRequest, pb::Export>(&pb::GatewayAdmin::Stub::UpdateExport, req,
                                                     print);
  }
  return Usage("exports list | add NAME PATH | update NAME PATH | remove NAME");
}

int Ctl::Users(const std::vector<std::string>& a) {
  if (a.size() == 2 && a[1] == "list") {
    return Call<pb::ListUsersRequest, pb::ListUsersResponse>(
        &pb::GatewayAdmin::Stub::ListUsers, {}, [](const pb::ListUsersResponse& r) {
          PrintUsers({r.users().begin(), r.users().end()});
        });
  }
  if (a.size() == 3 && a[1] == "delete") {
    pb::DeleteUserRequest req;
    req.set_name(a[2]);
    return Call<pb::DeleteUserRequest, pb::Empty>(&pb::GatewayAdmin::Stub::DeleteUser, req, &Done);
  }
  std::vector<uint32_t> groups;
  bool set_groups = absl::GetFlag(FLAGS_groups) != "-";
  if (set_groups) {
    for (absl::string_view g :
         absl::StrSplit(absl::GetFlag(FLAGS_groups), ',', absl::SkipEmpty())) {
      uint32_t gid = 0;
      if (!absl::SimpleAtoi(g, &gid)) return Usage(absl::StrCat("--groups: '", g, "' is no gid"));
      groups.push_back(gid);
    }
  }
  std::string password = absl::GetFlag(FLAGS_smb_password);
  if (a.size() == 3 && a[1] == "create") {
    if (absl::GetFlag(FLAGS_uid) < 0 || absl::GetFlag(FLAGS_gid) < 0) {
      return Usage("users create NAME needs --uid and --gid");
    }
    pb::CreateUserRequest req;
    req.set_name(a[2]);
    req.set_uid(absl::GetFlag(FLAGS_uid));
    req.set_gid(absl::GetFlag(FLAGS_gid));
    for (uint32_t g : groups) req.add_groups(g);
    if (password != "-") req.set_smb_password(password);
    return Call<pb::CreateUserRequest, pb::User>(&pb::GatewayAdmin::Stub::CreateUser, req,
                                                 &PrintUser);
  }
  if (a.size() >= 3 && a[1] == "update") {
    pb::UpdateUserRequest req;
    req.set_name(a[2]);
    for (size_t i = 3; i < a.size(); ++i) {
      if (a[i] == "enable") {
        req.set_enabled(true);
      } else if (a[i] == "disable") {
        req.set_enabled(false);
      } else {
        return Usage(absl::StrCat("users update: '", a[i], "' (enable or disable)"));
      }
    }
    if (password != "-") req.set_smb_password(password);
    req.set_set_groups(set_groups);
    for (uint32_t g : groups) req.add_groups(g);
    return Call<pb::UpdateUserRequest, pb::User>(&pb::GatewayAdmin::Stub::UpdateUser, req,
                                                 &PrintUser);
  }
  return Usage("users list | create NAME --uid --gid | update NAME [enable|disable] | delete NAME");
}

int Ctl::Groups(const std::vector<std::string>& a) {
  if (a.size() == 2 && a[1] == "list") {
    return Call<pb::ListGroupsRequest, pb::ListGroupsResponse>(
        &pb::GatewayAdmin::Stub::ListGroups, {}, [](const pb::ListGroupsResponse& r) {
          std::vector<std::vector<std::string>> rows;
          for (const pb::Group& g : r.groups()) {
            rows.push_back({g.name(), absl::StrCat(g.gid()),
                            g.members().empty() ? "-" : absl::StrJoin(g.members(), ",")});
          }
          PrintTable({"NAME", "GID", "MEMBERS"}, rows);
        });
  }
  uint32_t gid = 0;
  if (a.size() == 4 && a[1] == "create" && absl::SimpleAtoi(a[3], &gid)) {
    pb::CreateGroupRequest req;
    req.set_name(a[2]);
    req.set_gid(gid);
    return Call<pb::CreateGroupRequest, pb::Group>(
        &pb::GatewayAdmin::Stub::CreateGroup, req,
        [](const pb::Group& g) { std::cout << "group " << g.name() << " (" << g.gid() << ")\n"; });
  }
  if (a.size() == 3 && a[1] == "delete") {
    pb::DeleteGroupRequest req;
    req.set_name(a[2]);
    return Call<pb::DeleteGroupRequest, pb::Empty>(&pb::GatewayAdmin::Stub::DeleteGroup, req,
                                                   &Done);
  }
  return Usage("groups list | create NAME GID | delete NAME");
}

int Ctl::Keys(const std::vector<std::string>& a) {
  if (a.size() == 3 && a[1] == "create") {
    pb::CreateAccessKeyRequest req;
    req.set_user(a[2]);
    return Call<pb::CreateAccessKeyRequest, pb::AccessKeySecret>(
        &pb::GatewayAdmin::Stub::CreateAccessKey, req, &PrintSecret);
  }
  if (a.size() == 4 && a[1] == "rotate") {
    pb::RotateAccessKeyRequest req;
    req.set_user(a[2]);
    req.set_access_key_id(a[3]);
    req.set_delete_old(absl::GetFlag(FLAGS_delete_old));
    return Call<pb::RotateAccessKeyRequest, pb::AccessKeySecret>(
        &pb::GatewayAdmin::Stub::RotateAccessKey, req, &PrintSecret);
  }
  if (a.size() == 4 && (a[1] == "enable" || a[1] == "disable")) {
    pb::SetAccessKeyEnabledRequest req;
    req.set_user(a[2]);
    req.set_access_key_id(a[3]);
    req.set_enabled(a[1] == "enable");
    return Call<pb::SetAccessKeyEnabledRequest, pb::AccessKey>(
        &pb::GatewayAdmin::Stub::SetAccessKeyEnabled, req, [](const pb::AccessKey& k) {
          std::cout << k.access_key_id() << (k.enabled() ? " enabled" : " disabled") << "\n";
        });
  }
  if (a.size() == 4 && a[1] == "delete") {
    pb::DeleteAccessKeyRequest req;
    req.set_user(a[2]);
    req.set_access_key_id(a[3]);
    return Call<pb::DeleteAccessKeyRequest, pb::Empty>(&pb::GatewayAdmin::Stub::DeleteAccessKey,
                                                       req, &Done);
  }
  return Usage(
      "keys create USER | rotate USER KEY | enable USER KEY | disable USER KEY | "
      "delete USER KEY");
}

int Ctl::Quotas(const std::vector<std::string>& a) {
  if (a.size() == 2 && a[1] == "list") {
    return Call<pb::ListQuotasRequest, pb::ListQuotasResponse>(
        &pb::GatewayAdmin::Stub::ListQuotas, {},
        [](const pb::ListQuotasResponse& r) { PrintQuotas(r.quotas()); });
  }
  if (a.size() == 2 && a[1] == "rebuild") {
    return Call<pb::RebuildQuotaUsageRequest, pb::ListQuotasResponse>(
        &pb::GatewayAdmin::Stub::RebuildQuotaUsage, {},
        [](const pb::ListQuotasResponse& r) { PrintQuotas(r.quotas()); });
  }
  if (a.size() == 4) {
    pb::QuotaSubject subject;
    subject.set_kind(a[2]);
    subject.set_name(a[3]);
    auto print_one = [](const pb::QuotaReport& r) {
      google::protobuf::RepeatedPtrField<pb::QuotaReport> one;
      *one.Add() = r;
      PrintQuotas(one);
    };
    if (a[1] == "get") {
      pb::GetQuotaRequest req;
      *req.mutable_subject() = subject;
      return Call<pb::GetQuotaRequest, pb::QuotaReport>(&pb::GatewayAdmin::Stub::GetQuota, req,
                                                        print_one);
    }
    if (a[1] == "remove") {
      pb::RemoveQuotaRequest req;
      *req.mutable_subject() = subject;
      return Call<pb::RemoveQuotaRequest, pb::Empty>(&pb::GatewayAdmin::Stub::RemoveQuota, req,
                                                     &Done);
    }
    if (a[1] == "set") {
      pb::SetQuotaRequest req;
      *req.mutable_subject() = subject;
      uint64_t soft_bytes = 0, hard_bytes = 0, soft_inodes = 0, hard_inodes = 0;
      if (!ParseSize(absl::GetFlag(FLAGS_soft_bytes), &soft_bytes) ||
          !ParseSize(absl::GetFlag(FLAGS_hard_bytes), &hard_bytes) ||
          !ParseSize(absl::GetFlag(FLAGS_soft_inodes), &soft_inodes) ||
          !ParseSize(absl::GetFlag(FLAGS_hard_inodes), &hard_inodes)) {
        return Usage("quota limits are numbers with an optional K, M, G or T");
      }
      req.mutable_limits()->set_soft_bytes(soft_bytes);
      req.mutable_limits()->set_hard_bytes(hard_bytes);
      req.mutable_limits()->set_soft_inodes(soft_inodes);
      req.mutable_limits()->set_hard_inodes(hard_inodes);
      return Call<pb::SetQuotaRequest, pb::QuotaReport>(&pb::GatewayAdmin::Stub::SetQuota, req,
                                                        print_one);
    }
  }
  return Usage(
      "quotas list | get KIND NAME | set KIND NAME [--hard_bytes=..] | remove KIND NAME "
      "| rebuild");
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  std::vector<std::string> args(positional.begin() + 1, positional.end());
  if (args.empty()) return Usage("no command");
  if (args[0] == "help") {
    std::cout << kUsage << "\n";
    return 0;
  }

  std::string token = absl::GetFlag(FLAGS_token);
  if (token.empty()) {
    if (const char* env = std::getenv("CFS_ADMIN_TOKEN")) token = env;
  }
  bool client_cert = !absl::GetFlag(FLAGS_tls_cert).empty();
  if (token.empty() && !client_cert) {
    std::string path = absl::GetFlag(FLAGS_token_file);
    if (path.empty()) path = absl::GetFlag(FLAGS_data_dir) + "/admin.token";
    std::string text;
    if (ReadFile(path, &text)) token = std::string(absl::StripAsciiWhitespace(text));
  }

  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!absl::GetFlag(FLAGS_tls_ca).empty() || client_cert) {
    grpc::SslCredentialsOptions tls;
    if (!absl::GetFlag(FLAGS_tls_ca).empty() &&
        !ReadFile(absl::GetFlag(FLAGS_tls_ca), &tls.pem_root_certs)) {
      return Usage("--tls_ca cannot be read");
    }
    if (client_cert && (!ReadFile(absl::GetFlag(FLAGS_tls_cert), &tls.pem_cert_chain) ||
                        !ReadFile(absl::GetFlag(FLAGS_tls_key), &tls.pem_private_key))) {
      return Usage("--tls_cert and --tls_key must both be readable");
    }
    credentials = grpc::SslCredentials(tls);
  }
  auto channel = grpc::CreateChannel(absl::GetFlag(FLAGS_address), credentials);
  Ctl ctl(pb::GatewayAdmin::NewStub(channel), token);
  return ctl.Run(args);
}
