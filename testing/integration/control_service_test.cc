// The control plane through the real gRPC stack: a gRPC client stub against the admin service of
// an in-process gateway on 127.0.0.1 (kernel-picked ports). Every RPC is called; calls without
// valid credentials are refused and change nothing; an export added live is mounted at once by
// libnfs; changes survive a restart; mutual TLS admits certificates the CA signed.

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <nfsc/libnfs.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <cstdio>
#include <fstream>
#include <future>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/backend/sync_backend.h"
#include "lib/control/proto/admin.grpc.pb.h"
#include "lib/gateway/gateway.h"
#include "testing/local_cluster.h"
#include "testing/temp_dir.h"

namespace cfs::testing {
namespace {

namespace pb = ::cfs::gateway::admin::v1;
using ::testing::HasSubstr;

constexpr char kToken[] = "test-admin-token-0123456789";

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string TestData(const std::string& name) { return Slurp("lib/control/testdata/" + name); }

// Mounts `export_path` with libnfs; returns the mount's status (0: mounted).
int MountWithLibnfs(int nfs_port, int mount_port, const std::string& export_path,
                    std::string* error = nullptr) {
  nfs_context* nfs = nfs_init_context();
  std::string url = absl::StrCat("nfs://127.0.0.1", export_path, "?nfsport=", nfs_port,
                                 "&mountport=", mount_port, "&version=3&uid=0&gid=0");
  nfs_url* parsed = nfs_parse_url_dir(nfs, url.c_str());
  int rc = -1;
  if (parsed != nullptr) {
    rc = nfs_mount(nfs, parsed->server, parsed->path);
    nfs_destroy_url(parsed);
  }
  if (error != nullptr) {
    const char* text = nfs_get_error(nfs);  // null when nothing failed
    *error = text == nullptr ? "" : text;
  }
  nfs_destroy_context(nfs);
  return rc;
}

// Runs the aws CLI (Debian's awscli, an independent S3 client) as `key`/`secret` against the
// gateway's S3 port: `aws s3 ls`. Returns its exit status; its output goes to `output`.
int AwsS3List(int s3_port, const std::string& key, const std::string& secret,
              const std::string& home, std::string* output) {
  std::string command = absl::StrCat(
      "env AWS_ACCESS_KEY_ID='", key, "' AWS_SECRET_ACCESS_KEY='", secret,
      "' AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null "
      "AWS_SHARED_CREDENTIALS_FILE=/dev/null HOME='",
      home, "' timeout 60 /usr/bin/aws --endpoint-url http://127.0.0.1:", s3_port, " s3 ls 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  char buffer[512];
  output->clear();
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe)) output->append(buffer, n);
  return pclose(pipe);
}

class ControlServiceTest : public ::testing::Test {
 protected:
  gateway::GatewayOptions Options() {
    gateway::GatewayOptions options;
    options.data_dir = dir_.path() + "/state";
    options.bind_address = "127.0.0.1";
    options.nfs_port = options.mount_port = options.s3_port = options.smb_port = 0;
    options.control_port = options.metrics_port = 0;
    options.portmapper_port = 0;
    options.control_token = kToken;
    return options;
  }

  void Start(gateway::GatewayOptions options) {
    auto built = gateway::GatewayBuilder().SetOptions(std::move(options)).Build();
    ASSERT_TRUE(built.ok()) << built.status();
    gateway_ = std::move(*built);
    ASSERT_TRUE(gateway_->Start().ok());
    control_port_ = gateway_->address("control")->port;
    stub_ = pb::GatewayAdmin::NewStub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", control_port_),
                                                          grpc::InsecureChannelCredentials()));
  }

  void Restart() {
    ASSERT_TRUE(gateway_->Shutdown().ok());
    gateway_.reset();
    Start(Options());
  }

  // A context carrying `token` (none when empty).
  std::unique_ptr<grpc::ClientContext> Context(const std::string& token = kToken) {
    auto context = std::make_unique<grpc::ClientContext>();
    if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return context;
  }

  int nfs_port() { return gateway_->address("nfs")->port; }
  int mount_port() { return gateway_->address("mount")->port; }

  void MakeDirectory(const std::string& name) {
    backend::SyncBackend fs(gateway_->backend(),
                            backend::RequestContext{backend::Identity::Root()});
    ASSERT_TRUE(fs.Mkdir(backend::kRootInode, name, 0777).ok());
  }

  TempDir dir_;
  std::unique_ptr<gateway::Gateway> gateway_;
  int control_port_ = 0;
  std::unique_ptr<pb::GatewayAdmin::Stub> stub_;
};

TEST_F(ControlServiceTest, CallsWithoutValidCredentialsAreRefusedAndChangeNothing) {
  Start(Options());
  for (const std::string& token : {std::string(), std::string("wrong-token-9876543210")}) {
    pb::GetStatusResponse status;
    grpc::Status s = stub_->GetStatus(Context(token).get(), {}, &status);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << token;

    pb::CreateUserRequest user;
    user.set_name("mallory");
    pb::User made;
    EXPECT_EQ(stub_->CreateUser(Context(token).get(), user, &made).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
    pb::AddExportRequest add;
    add.mutable_export_()->set_name("evil");
    pb::Export added;
    EXPECT_EQ(stub_->AddExport(Context(token).get(), add, &added).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
    pb::Empty empty;
    EXPECT_EQ(stub_->Shutdown(Context(token).get(), {}, &empty).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
    pb::SetQuotaRequest quota;
    quota.mutable_subject()->set_kind("user");
    quota.mutable_subject()->set_name("0");
    quota.mutable_limits()->set_hard_bytes(1);
    pb::QuotaReport report;
    EXPECT_EQ(stub_->SetQuota(Context(token).get(), quota, &report).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  EXPECT_FALSE(gateway_->users().FindByName("mallory").has_value());
  EXPECT_EQ(gateway_->exports().size(), 1u);
  EXPECT_TRUE(gateway_->quotas()->ListQuotas().empty());
  EXPECT_TRUE(gateway_->Ready().ok());
}

TEST_F(ControlServiceTest, StatusReportsVersionListenersAndChecks) {
  Start(Options());
  pb::GetStatusResponse status;
  ASSERT_TRUE(stub_->GetStatus(Context().get(), {}, &status).ok());
  EXPECT_FALSE(status.version().empty());
  EXPECT_TRUE(status.ready());
  EXPECT_FALSE(status.draining());
  EXPECT_THAT(status.backend(), HasSubstr("embedded"));
  std::set<std::string> listeners;
  for (const pb::Listener& l : status.listeners()) listeners.insert(l.name());
  EXPECT_TRUE(listeners.count("nfs") && listeners.count("s3") && listeners.count("smb") &&
              listeners.count("control"));
  ASSERT_GE(status.checks_size(), 3);
  pb::ListBackendNodesResponse nodes;
  ASSERT_TRUE(stub_->ListBackendNodes(Context().get(), {}, &nodes).ok());
  EXPECT_THAT(nodes.backend(), HasSubstr("embedded"));
  EXPECT_EQ(nodes.nodes_size(), 0);  // no remote nodes behind the embedded backend
}

TEST_F(ControlServiceTest, AnExportAddedLiveIsMountedAtOnceAndGoesWhenRemoved) {
  Start(Options());
  MakeDirectory("projects");
  EXPECT_NE(MountWithLibnfs(nfs_port(), mount_port(), "/projects"), 0);

  pb::AddExportRequest add;
  add.mutable_export_()->set_name("projects");
  add.mutable_export_()->set_path("/projects");
  add.mutable_export_()->set_nfs_path("/projects");
  add.mutable_export_()->set_smb_share("projects");
  pb::Export added;
  ASSERT_TRUE(stub_->AddExport(Context().get(), add, &added).ok());
  EXPECT_EQ(added.id(), 2u);  // the next free id
  std::string error;
  EXPECT_EQ(MountWithLibnfs(nfs_port(), mount_port(), "/projects", &error), 0) << error;

  // The same name again, a path that does not exist, and a duplicate NFS path are refused.
  pb::Export ignored;
  EXPECT_EQ(stub_->AddExport(Context().get(), add, &ignored).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  pb::AddExportRequest missing = add;
  missing.mutable_export_()->set_name("ghost");
  missing.mutable_export_()->set_path("/no/such/dir");
  missing.mutable_export_()->set_nfs_path("/ghost");
  missing.mutable_export_()->set_smb_share("");
  grpc::Status refused = stub_->AddExport(Context().get(), missing, &ignored);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(refused.error_message(), HasSubstr("/no/such/dir"));
  pb::AddExportRequest clash = add;
  clash.mutable_export_()->set_name("clash");
  clash.mutable_export_()->set_smb_share("");
  EXPECT_EQ(stub_->AddExport(Context().get(), clash, &ignored).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  // Update: read-only for everyone; the id stays.
  pb::UpdateExportRequest update;
  *update.mutable_export_() = added;
  update.mutable_export_()->add_rules()->set_read_only(true);
  pb::Export updated;
  ASSERT_TRUE(stub_->UpdateExport(Context().get(), update, &updated).ok());
  EXPECT_EQ(updated.id(), 2u);
  EXPECT_TRUE(updated.rules(0).read_only());
  update.mutable_export_()->set_id(9);
  EXPECT_EQ(stub_->UpdateExport(Context().get(), update, &updated).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  pb::ListExportsResponse listed;
  ASSERT_TRUE(stub_->ListExports(Context().get(), {}, &listed).ok());
  ASSERT_EQ(listed.exports_size(), 2);
  EXPECT_EQ(listed.exports(1).name(), "projects");

  pb::RemoveExportRequest remove;
  remove.set_name("projects");
  pb::Empty empty;
  ASSERT_TRUE(stub_->RemoveExport(Context().get(), remove, &empty).ok());
  EXPECT_NE(MountWithLibnfs(nfs_port(), mount_port(), "/projects"), 0);
  EXPECT_EQ(stub_->RemoveExport(Context().get(), remove, &empty).error_code(),
            grpc::StatusCode::NOT_FOUND);
  remove.set_name("default");
  EXPECT_EQ(stub_->RemoveExport(Context().get(), remove, &empty).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);  // the last one
}

TEST_F(ControlServiceTest, UsersGroupsAndKeys) {
  Start(Options());
  pb::CreateUserRequest create;
  create.set_name("alice");
  create.set_uid(1000);
  create.set_gid(1000);
  create.set_smb_password("Passw0rd!");
  pb::User user;
  ASSERT_TRUE(stub_->CreateUser(Context().get(), create, &user).ok());
  EXPECT_TRUE(user.has_smb_password());
  EXPECT_EQ(stub_->CreateUser(Context().get(), create, &user).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);

  pb::CreateGroupRequest group;
  group.set_name("staff");
  group.set_gid(50);
  pb::Group made;
  ASSERT_TRUE(stub_->CreateGroup(Context().get(), group, &made).ok());
  pb::UpdateUserRequest update;
  update.set_name("alice");
  update.set_set_groups(true);
  update.add_groups(50);
  ASSERT_TRUE(stub_->UpdateUser(Context().get(), update, &user).ok());
  pb::ListGroupsResponse groups;
  ASSERT_TRUE(stub_->ListGroups(Context().get(), {}, &groups).ok());
  ASSERT_EQ(groups.groups_size(), 1);
  EXPECT_THAT(groups.groups(0).members(), ::testing::ElementsAre("alice"));

  pb::CreateAccessKeyRequest key_request;
  key_request.set_user("alice");
  pb::AccessKeySecret key;
  ASSERT_TRUE(stub_->CreateAccessKey(Context().get(), key_request, &key).ok());
  EXPECT_EQ(key.access_key_id().size(), 20u);
  EXPECT_EQ(key.secret().size(), 40u);
  auto match = gateway_->users().FindByAccessKey(key.access_key_id());
  ASSERT_TRUE(match.has_value());
  EXPECT_EQ(match->key.secret, key.secret());
  // Listing never shows a secret.
  pb::ListUsersResponse users;
  ASSERT_TRUE(stub_->ListUsers(Context().get(), {}, &users).ok());
  EXPECT_THAT(users.DebugString(), ::testing::Not(HasSubstr(key.secret())));

  pb::RotateAccessKeyRequest rotate;
  rotate.set_user("alice");
  rotate.set_access_key_id(key.access_key_id());
  pb::AccessKeySecret rotated;
  ASSERT_TRUE(stub_->RotateAccessKey(Context().get(), rotate, &rotated).ok());
  EXPECT_EQ(rotated.replaced_access_key_id(), key.access_key_id());
  EXPECT_FALSE(gateway_->users().FindByAccessKey(key.access_key_id()).has_value());
  EXPECT_TRUE(gateway_->users().FindByAccessKey(rotated.access_key_id()).has_value());
  // Over S3, with the aws CLI: the old key is refused, the new one works.
  int s3_port = gateway_->address("s3")->port;
  std::string output;
  EXPECT_NE(AwsS3List(s3_port, key.access_key_id(), key.secret(), dir_.path(), &output), 0);
  EXPECT_THAT(output, HasSubstr("InvalidAccessKeyId"));
  EXPECT_EQ(AwsS3List(s3_port, rotated.access_key_id(), rotated.secret(), dir_.path(), &output), 0)
      << output;

  pb::SetAccessKeyEnabledRequest enable;
  enable.set_user("alice");
  enable.set_access_key_id(key.access_key_id());
  enable.set_enabled(true);
  pb::AccessKey state;
  ASSERT_TRUE(stub_->SetAccessKeyEnabled(Context().get(), enable, &state).ok());
  EXPECT_TRUE(gateway_->users().FindByAccessKey(key.access_key_id()).has_value());
  pb::DeleteAccessKeyRequest remove_key;
  remove_key.set_user("alice");
  remove_key.set_access_key_id(key.access_key_id());
  pb::Empty empty;
  ASSERT_TRUE(stub_->DeleteAccessKey(Context().get(), remove_key, &empty).ok());
  EXPECT_EQ(stub_->DeleteAccessKey(Context().get(), remove_key, &empty).error_code(),
            grpc::StatusCode::NOT_FOUND);

  update.Clear();
  update.set_name("alice");
  update.set_enabled(false);
  ASSERT_TRUE(stub_->UpdateUser(Context().get(), update, &user).ok());
  EXPECT_FALSE(gateway_->users().FindByAccessKey(rotated.access_key_id()).has_value());

  pb::DeleteGroupRequest drop;
  drop.set_name("staff");
  ASSERT_TRUE(stub_->DeleteGroup(Context().get(), drop, &empty).ok());
  EXPECT_TRUE(gateway_->users().FindByName("alice")->groups.empty());
  pb::DeleteUserRequest gone;
  gone.set_name("alice");
  ASSERT_TRUE(stub_->DeleteUser(Context().get(), gone, &empty).ok());
  EXPECT_EQ(stub_->DeleteUser(Context().get(), gone, &empty).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(ControlServiceTest, Quotas) {
  Start(Options());
  MakeDirectory("photos");
  pb::SetQuotaRequest set;
  set.mutable_subject()->set_kind("bucket");
  set.mutable_subject()->set_name("photos");
  set.mutable_limits()->set_hard_bytes(1000);
  pb::QuotaReport report;
  ASSERT_TRUE(stub_->SetQuota(Context().get(), set, &report).ok());
  EXPECT_EQ(report.limits().hard_bytes(), 1000u);
  EXPECT_EQ(report.used_bytes(), 0u);

  backend::SyncBackend fs(gateway_->backend(), backend::RequestContext{backend::Identity::Root()});
  auto photos = fs.Lookup(backend::kRootInode, "photos");
  ASSERT_TRUE(photos.ok());
  auto file = fs.Create(photos->inode, "a.jpg");
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE(fs.Write(file->attributes.inode, 0, std::string(600, 'x')).ok());
  EXPECT_FALSE(fs.Write(file->attributes.inode, 600, std::string(600, 'y')).ok());

  pb::GetQuotaRequest get;
  *get.mutable_subject() = set.subject();
  ASSERT_TRUE(stub_->GetQuota(Context().get(), get, &report).ok());
  EXPECT_EQ(report.used_bytes(), 600u);
  EXPECT_EQ(report.used_inodes(), 1u);
  pb::ListQuotasResponse listed;
  ASSERT_TRUE(stub_->RebuildQuotaUsage(Context().get(), {}, &listed).ok());
  ASSERT_EQ(listed.quotas_size(), 1);
  EXPECT_EQ(listed.quotas(0).used_bytes(), 600u);
  ASSERT_TRUE(stub_->ListQuotas(Context().get(), {}, &listed).ok());
  EXPECT_EQ(listed.quotas_size(), 1);

  pb::SetQuotaRequest bad = set;
  bad.mutable_subject()->set_kind("planet");
  EXPECT_EQ(stub_->SetQuota(Context().get(), bad, &report).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  bad = set;
  bad.mutable_subject()->set_name("no-such-bucket");
  EXPECT_EQ(stub_->SetQuota(Context().get(), bad, &report).error_code(),
            grpc::StatusCode::NOT_FOUND);

  pb::RemoveQuotaRequest remove;
  *remove.mutable_subject() = set.subject();
  pb::Empty empty;
  ASSERT_TRUE(stub_->RemoveQuota(Context().get(), remove, &empty).ok());
  EXPECT_EQ(stub_->GetQuota(Context().get(), get, &report).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(fs.Write(file->attributes.inode, 600, std::string(600, 'y')).ok());
}

TEST_F(ControlServiceTest, ChangesSurviveARestart) {
  Start(Options());
  MakeDirectory("projects");
  MakeDirectory("bucket1");
  pb::AddExportRequest add;
  add.mutable_export_()->set_name("projects");
  add.mutable_export_()->set_path("/projects");
  pb::Export added;
  ASSERT_TRUE(stub_->AddExport(Context().get(), add, &added).ok());
  pb::CreateUserRequest create;
  create.set_name("bob");
  create.set_uid(2000);
  create.set_gid(2000);
  pb::User user;
  ASSERT_TRUE(stub_->CreateUser(Context().get(), create, &user).ok());
  pb::CreateAccessKeyRequest key_request;
  key_request.set_user("bob");
  pb::AccessKeySecret key;
  ASSERT_TRUE(stub_->CreateAccessKey(Context().get(), key_request, &key).ok());
  pb::CreateGroupRequest group;
  group.set_name("ops");
  group.set_gid(70);
  pb::Group made;
  ASSERT_TRUE(stub_->CreateGroup(Context().get(), group, &made).ok());
  pb::SetQuotaRequest set;
  set.mutable_subject()->set_kind("bucket");
  set.mutable_subject()->set_name("bucket1");
  set.mutable_limits()->set_hard_inodes(10);
  pb::QuotaReport report;
  ASSERT_TRUE(stub_->SetQuota(Context().get(), set, &report).ok());
  struct stat st;
  ASSERT_EQ(stat((dir_.path() + "/state/control-state.conf").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);  // it holds secrets

  Restart();
  EXPECT_EQ(gateway_->exports().size(), 2u);
  std::string error;
  EXPECT_EQ(MountWithLibnfs(nfs_port(), mount_port(), "/projects", &error), 0) << error;
  auto match = gateway_->users().FindByAccessKey(key.access_key_id());
  ASSERT_TRUE(match.has_value());
  EXPECT_EQ(match->user.name, "bob");
  EXPECT_EQ(match->key.secret, key.secret());
  EXPECT_TRUE(gateway_->users().FindGroup("ops").has_value());
  pb::GetQuotaRequest get;
  *get.mutable_subject() = set.subject();
  ASSERT_TRUE(stub_->GetQuota(Context().get(), get, &report).ok());
  EXPECT_EQ(report.limits().hard_inodes(), 10u);
}

TEST_F(ControlServiceTest, ReloadAppliesTheConfigFile) {
  std::string config = dir_.path() + "/gateway.conf";
  {
    std::ofstream out(config);
    out << R"(users { name: "carol" uid: 3000 gid: 3000 })";
  }
  gateway::GatewayOptions options = Options();
  options.config_file = config;
  Start(options);
  EXPECT_FALSE(gateway_->users().FindByName("carol").has_value());  // not loaded: set by hand
  MakeDirectory("data");
  {
    std::ofstream out(config);
    out << R"(users { name: "carol" uid: 3000 gid: 3000 }
              exports { id: 5 name: "data" path: "/data" nfs_path: "/data" smb_share: "data" }
              quotas { kind: "user" subject: "3000" hard_bytes: 4096 })";
  }
  pb::ReloadConfigResponse reloaded;
  ASSERT_TRUE(stub_->ReloadConfig(Context().get(), {}, &reloaded).ok());
  EXPECT_EQ(reloaded.config_file(), config);
  EXPECT_THAT(reloaded.changes(), ::testing::Contains("user carol added"));
  EXPECT_THAT(reloaded.changes(), ::testing::Contains("export data added"));
  EXPECT_TRUE(gateway_->users().FindByName("carol").has_value());
  std::string error;
  EXPECT_EQ(MountWithLibnfs(nfs_port(), mount_port(), "/data", &error), 0) << error;
  EXPECT_TRUE(gateway_->quotas()->GetQuota({quota::QuotaKind::kUser, "3000"}).ok());
  {
    std::ofstream out(config);
    out << "exports { name: ";  // broken
  }
  grpc::Status broken = stub_->ReloadConfig(Context().get(), {}, &reloaded);
  EXPECT_EQ(broken.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(broken.error_message(), HasSubstr("line"));
}

// A reload that fails halfway keeps what it applied, and the state file says so too.
TEST_F(ControlServiceTest, APartlyFailedReloadIsSavedAsItIsLive) {
  std::string config = dir_.path() + "/gateway.conf";
  gateway::GatewayOptions options = Options();
  options.config_file = config;
  Start(options);
  MakeDirectory("data");
  {
    std::ofstream out(config);
    out << R"(exports { id: 5 name: "data" path: "/data" nfs_path: "/data" smb_share: "data" }
              users { name: "u1" s3_keys { access_key_id: "KEY1" secret: "s1" } }
              users { name: "u2" s3_keys { access_key_id: "KEY1" secret: "s2" } })";
  }
  pb::ReloadConfigResponse reloaded;
  grpc::Status failed = stub_->ReloadConfig(Context().get(), {}, &reloaded);
  EXPECT_EQ(failed.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(failed.error_message(), HasSubstr("KEY1"));
  ASSERT_EQ(gateway_->exports().size(), 2u);  // applied before the user failed
  ASSERT_TRUE(gateway_->users().FindByName("u1").has_value());
  Restart();
  EXPECT_EQ(gateway_->exports().size(), 2u);
  EXPECT_TRUE(gateway_->users().FindByName("u1").has_value());
  EXPECT_FALSE(gateway_->users().FindByName("u2").has_value());
}

TEST_F(ControlServiceTest, DrainAndShutdown) {
  Start(Options());
  std::promise<void> asked;
  gateway_->SetShutdownHandler([&asked] { asked.set_value(); });
  pb::Empty empty;
  ASSERT_TRUE(stub_->Drain(Context().get(), {}, &empty).ok());
  EXPECT_TRUE(gateway_->draining());
  EXPECT_FALSE(gateway_->Ready().ok());
  pb::GetStatusResponse status;
  ASSERT_TRUE(stub_->GetStatus(Context().get(), {}, &status).ok());
  EXPECT_TRUE(status.draining());
  EXPECT_FALSE(status.ready());
  ASSERT_TRUE(stub_->Shutdown(Context().get(), {}, &empty).ok());
  EXPECT_EQ(asked.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
}

TEST_F(ControlServiceTest, MutualTlsAdmitsSignedClientCertificatesWithoutAToken) {
  gateway::GatewayOptions options = Options();
  options.control_tls_cert_file = "lib/control/testdata/server.pem";
  options.control_tls_key_file = "lib/control/testdata/server_key.pem";
  options.control_client_ca_file = "lib/control/testdata/ca.pem";
  Start(options);
  auto channel = [&](const std::string& cert, const std::string& key) {
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = TestData("ca.pem");
    if (!cert.empty()) {
      tls.pem_cert_chain = TestData(cert);
      tls.pem_private_key = TestData(key);
    }
    return pb::GatewayAdmin::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", control_port_), grpc::SslCredentials(tls)));
  };
  pb::GetStatusResponse status;
  // The CA's client certificate: admitted without a token.
  EXPECT_TRUE(
      channel("client.pem", "client_key.pem")->GetStatus(Context("").get(), {}, &status).ok());
  // TLS without a certificate: the token still works, its absence does not.
  auto anonymous = channel("", "");
  EXPECT_TRUE(anonymous->GetStatus(Context().get(), {}, &status).ok());
  EXPECT_EQ(anonymous->GetStatus(Context("").get(), {}, &status).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // A certificate from another CA does not get through the handshake.
  EXPECT_FALSE(channel("untrusted.pem", "untrusted_key.pem")
                   ->GetStatus(Context("").get(), {}, &status)
                   .ok());
  // Plain text to a TLS port fails.
  EXPECT_FALSE(stub_->GetStatus(Context().get(), {}, &status).ok());
}

TEST_F(ControlServiceTest, BackendNodesOfAClusterShowTheirCircuitsAndPools) {
  LocalClusterOptions cluster_options;
  cluster_options.fabric = false;
  auto cluster = LocalCluster::Start(dir_.path() + "/cluster", cluster_options);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  gateway::GatewayOptions options = Options();
  options.remote_metadata_address = (*cluster)->metadata_address();
  options.a4_transport = "socket";
  Start(options);
  // One write so the data nodes' pools have connections.
  backend::SyncBackend fs(gateway_->backend(), backend::RequestContext{backend::Identity::Root()});
  auto file = fs.Create(backend::kRootInode, "striped");
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_TRUE(fs.Write(file->attributes.inode, 0, std::string(200 << 10, 's')).ok());

  pb::ListBackendNodesResponse nodes;
  ASSERT_TRUE(stub_->ListBackendNodes(Context().get(), {}, &nodes).ok());
  EXPECT_THAT(nodes.backend(), HasSubstr("remote"));
  int data_nodes = 0;
  for (const pb::BackendNode& node : nodes.nodes()) {
    EXPECT_EQ(node.breaker_state(), "closed") << node.name();
    if (node.name().rfind("a4:", 0) == 0) {
      ++data_nodes;
      EXPECT_TRUE(node.has_pool()) << node.name();
      EXPECT_GE(node.pool_connections(), 1u) << node.name();
    } else {
      EXPECT_EQ(node.name(), "a2:" + (*cluster)->metadata_address());
      EXPECT_FALSE(node.has_pool());
    }
  }
  EXPECT_EQ(data_nodes, 3);
  ASSERT_TRUE(gateway_->Shutdown().ok());
  gateway_.reset();
}

}  // namespace
}  // namespace cfs::testing
