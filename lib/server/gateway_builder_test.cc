#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/backend/await.h"
#include "lib/gateway/gateway.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace cfs::gateway {
namespace {

using ::cfs::testing::StatusIs;
using ::testing::HasSubstr;

// A frontend that really binds a TCP listener, so address plumbing is tested end to end.
class ListeningFrontend : public Frontend {
 public:
  explicit ListeningFrontend(std::string name) : name_(std::move(name)) {}
  ~ListeningFrontend() override { Shutdown(absl::Now()).IgnoreError(); }
  std::string name() const override { return name_; }
  absl::Status Start(const FrontendContext& context) override {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    inet_pton(AF_INET, context.options.bind_address.c_str(), &addr.sin_addr);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd_, 4) != 0) {
      return absl::UnavailableError("bind failed");
    }
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    started_with_root_ = context.backend.Describe();
    for (const auth::Export& exp : context.exports) started_with_exports_.push_back(exp.name);
    return absl::OkStatus();
  }
  std::vector<BoundAddress> addresses() const override {
    return {BoundAddress{name_, "127.0.0.1", port_}};
  }
  absl::Status Shutdown(absl::Time) override {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    ++shutdowns_;
    return absl::OkStatus();
  }
  int shutdowns_ = 0;
  std::string started_with_root_;
  std::vector<std::string> started_with_exports_;

 private:
  std::string name_;
  int fd_ = -1;
  int port_ = 0;
};

GatewayOptions TestOptions(const std::string& dir) {
  GatewayOptions options;
  options.data_dir = dir + "/state";
  options.bind_address = "127.0.0.1";
  options.nfs_port = options.mount_port = options.s3_port = options.smb_port = 0;
  options.control_port = options.metrics_port = 0;
  return options;
}

TEST(GatewayBuilderTest, InProcessGatewayStartsAndStopsInAFewLines) {
  cfs::testing::TempDir dir;
  auto gateway = GatewayBuilder()
                     .SetOptions(TestOptions(dir.path()))
                     .AddFrontend(std::make_unique<ListeningFrontend>("echo"))
                     .Build();
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  ASSERT_OK((*gateway)->Start());
  std::optional<BoundAddress> echo = (*gateway)->address("echo");
  ASSERT_TRUE(echo.has_value());
  EXPECT_GT(echo->port, 0);
  EXPECT_THAT((*gateway)->Start(), StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_OK((*gateway)->Shutdown());
  ASSERT_OK((*gateway)->Shutdown());  // idempotent
  EXPECT_THAT((*gateway)->backend().Health(), StatusIs(absl::StatusCode::kUnavailable));
}

TEST(GatewayBuilderTest, InvalidOptionsNameTheField) {
  cfs::testing::TempDir dir;
  struct Case {
    void (*mutate)(GatewayOptions&);
    const char* expected;
  } cases[] = {
      {[](GatewayOptions& o) { o.data_dir = ""; }, "data_dir"},
      {[](GatewayOptions& o) { o.bind_address = "localhost"; }, "bind_address"},
      {[](GatewayOptions& o) { o.nfs_port = 70000; }, "nfs_port is 70000"},
      {[](GatewayOptions& o) { o.smb_port = -1; }, "smb_port"},
      {[](GatewayOptions& o) { o.protocols = {"ftp"}; }, "protocols names 'ftp'"},
      {[](GatewayOptions& o) { o.root_user = "admin"; }, "root_password"},
      {[](GatewayOptions& o) {
         o.root_user = "admin";
         o.root_password = "short";
       },
       "at least 8"},
      {[](GatewayOptions& o) { o.file_handle_key = "tiny"; }, "file_handle_key"},
      {[](GatewayOptions& o) { o.backend_threads = 0; }, "backend_threads"},
      {[](GatewayOptions& o) {
         o.exports = {auth::Export(), auth::Export()};
       },
       "id 1 is used twice"},
      {[](GatewayOptions& o) {
         auth::Export e;
         e.path = "nope";
         o.exports = {e};
       },
       "path 'nope' must be absolute"},
  };
  for (const Case& c : cases) {
    GatewayOptions options = TestOptions(dir.path());
    c.mutate(options);
    auto gateway = GatewayBuilder().SetOptions(options).Build();
    EXPECT_THAT(gateway, StatusIs(absl::StatusCode::kInvalidArgument)) << c.expected;
    EXPECT_THAT(std::string(gateway.status().message()), HasSubstr(c.expected));
  }
}

TEST(GatewayBuilderTest, ProtocolsSelectFrontends) {
  cfs::testing::TempDir dir;
  GatewayOptions options = TestOptions(dir.path());
  options.protocols = {"b"};
  auto gateway = GatewayBuilder()
                     .SetOptions(options)
                     .AddFrontend(std::make_unique<ListeningFrontend>("a"))
                     .AddFrontend(std::make_unique<ListeningFrontend>("b"))
                     .Build();
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  ASSERT_OK((*gateway)->Start());
  EXPECT_FALSE((*gateway)->address("a").has_value());
  EXPECT_TRUE((*gateway)->address("b").has_value());
}

TEST(GatewayBuilderTest, RootUserComesFromOptionsWithS3KeyAndNtHash) {
  cfs::testing::TempDir dir;
  GatewayOptions options = TestOptions(dir.path());
  options.root_user = "admin";
  options.root_password = "password";
  auto gateway = GatewayBuilder().SetOptions(options).Build();
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  auto match = (*gateway)->users().FindByAccessKey("admin");
  ASSERT_TRUE(match.has_value());
  EXPECT_EQ(match->key.secret, "password");
  EXPECT_EQ(match->user.uid, 0u);
  EXPECT_EQ(match->user.nt_hash, std::string("\x88\x46\xf7\xea\xee\x8f\xb1\x17\xad\x06\xbd\xd8"
                                             "\x30\xb7\x58\x6c",
                                             16));
  EXPECT_EQ((*gateway)->exports().size(), 1u);
  EXPECT_EQ((*gateway)->exports()[0].nfs_path, "/export");
  EXPECT_EQ((*gateway)->exports()[0].smb_share, "share");
}

TEST(GatewayBuilderTest, FileHandlesStayValidAcrossRestarts) {
  cfs::testing::TempDir dir;
  std::string wire;
  {
    auto gateway = GatewayBuilder().SetOptions(TestOptions(dir.path())).Build();
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    wire = (*gateway)->file_handles().Encode({1, 42, 3});
  }
  auto gateway = GatewayBuilder().SetOptions(TestOptions(dir.path())).Build();
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  auto decoded = (*gateway)->file_handles().Decode(wire);
  ASSERT_OK(decoded);
  EXPECT_EQ(decoded->inode, 42u);
}

TEST(GatewayBuilderTest, SecondGatewayOnTheSameDataDirIsRefused) {
  cfs::testing::TempDir dir;
  auto first = GatewayBuilder().SetOptions(TestOptions(dir.path())).Build();
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = GatewayBuilder().SetOptions(TestOptions(dir.path())).Build();
  EXPECT_THAT(second, StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(GatewayBuilderTest, FailedFrontendStopsTheOnesAlreadyStarted) {
  class FailingFrontend : public ListeningFrontend {
   public:
    FailingFrontend() : ListeningFrontend("broken") {}
    absl::Status Start(const FrontendContext&) override {
      return absl::UnavailableError("address in use");
    }
  };
  cfs::testing::TempDir dir;
  auto good = std::make_unique<ListeningFrontend>("good");
  ListeningFrontend* good_ptr = good.get();
  auto gateway = GatewayBuilder()
                     .SetOptions(TestOptions(dir.path()))
                     .AddFrontend(std::move(good))
                     .AddFrontend(std::make_unique<FailingFrontend>())
                     .Build();
  ASSERT_TRUE(gateway.ok());
  EXPECT_THAT((*gateway)->Start(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(good_ptr->shutdowns_, 1);
}

TEST(GatewayBuilderTest, QuotasFromOptionsAreSetAndBadOnesNamed) {
  cfs::testing::TempDir dir;
  GatewayOptions options = TestOptions(dir.path());
  options.protocols = {"nfs"};
  quota::QuotaSetting user;
  user.subject = {quota::QuotaKind::kUser, "1000"};
  user.limits.hard_bytes = 4096;
  options.quotas = {user};
  {
    absl::StatusOr<std::unique_ptr<Gateway>> gw = GatewayBuilder().SetOptions(options).Build();
    ASSERT_TRUE(gw.ok()) << gw.status();
    ASSERT_NE((*gw)->quotas(), nullptr);
    std::vector<quota::QuotaReport> listed = (*gw)->quotas()->ListQuotas();
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0].setting.limits.hard_bytes, 4096u);
    EXPECT_THAT((*gw)->metrics().RenderText(),
                HasSubstr("cfs_gateway_quota_usage_bytes{kind=\"user\",subject=\"1000\"} 0"));
  }
  quota::QuotaSetting missing;
  missing.subject = {quota::QuotaKind::kBucket, "no-such-bucket"};
  missing.limits.hard_bytes = 1;
  options.quotas = {missing};
  absl::StatusOr<std::unique_ptr<Gateway>> refused = GatewayBuilder().SetOptions(options).Build();
  EXPECT_THAT(refused.status(), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("bucket:no-such-bucket"));
  options.quotas = {user, user};
  EXPECT_THAT(GatewayBuilder().SetOptions(options).Build().status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(GatewayBuilderTest, ExportsSetBeforeStartAreTheOnesFrontendsStartWith) {
  cfs::testing::TempDir dir;
  GatewayOptions options = TestOptions(dir.path());
  options.protocols = {"custom"};
  auto frontend = std::make_unique<ListeningFrontend>("custom");
  ListeningFrontend* custom = frontend.get();
  auto gateway = GatewayBuilder().SetOptions(options).AddFrontend(std::move(frontend)).Build();
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  std::vector<auth::Export> exports = (*gateway)->exports();
  auth::Export second = exports[0];
  second.id = 2;
  second.name = "second";
  second.nfs_path = "/second";
  second.smb_share = "second";
  exports.push_back(second);
  ASSERT_TRUE((*gateway)->SetExports(exports).ok());
  ASSERT_TRUE((*gateway)->Start().ok());
  EXPECT_THAT(custom->started_with_exports_, ::testing::ElementsAre("default", "second"));
  // Invalid lists are refused whole.
  exports.push_back(second);
  EXPECT_THAT((*gateway)->SetExports(exports), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ((*gateway)->exports().size(), 2u);
  ASSERT_TRUE((*gateway)->Shutdown().ok());
}

}  // namespace
}  // namespace cfs::gateway
