#include "lib/config/config_file.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace cfs::config {
namespace {

using ::cfs::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ConfigFileTest, FillsOptionsFromTextFormat) {
  gateway::GatewayOptions options;
  LogLevel level = LogLevel::kInfo;
  ASSERT_OK(ParseConfigText(R"pb(
                              data_dir: "/srv/cfs"
                              bind_address: "127.0.0.1"
                              nfs_port: 12049
                              s3_port: 0
                              protocols: "nfs"
                              log_level: "warning"
                              exports {
                                id: 7
                                name: "projects"
                                path: "/projects"
                                nfs_path: "/projects"
                                smb_share: "projects"
                                rules { clients: "10.0.0.0/8" read_only: true root_squash: false }
                              }
                              users {
                                name: "alice"
                                uid: 1000
                                gid: 1000
                                groups: [ 10, 20 ]
                                s3_keys { access_key_id: "AKALICE" secret: "alice-secret" }
                                smb_password: "password"
                              }
                            )pb",
                            &options, &level));
  EXPECT_EQ(options.data_dir, "/srv/cfs");
  EXPECT_EQ(options.nfs_port, 12049);
  EXPECT_EQ(options.s3_port, 0);
  EXPECT_EQ(options.smb_port, 445) << "fields absent from the file keep their defaults";
  EXPECT_EQ(options.protocols, std::vector<std::string>{"nfs"});
  EXPECT_EQ(level, LogLevel::kWarning);
  ASSERT_EQ(options.exports.size(), 1u);
  EXPECT_EQ(options.exports[0].id, 7u);
  ASSERT_EQ(options.exports[0].rules.size(), 1u);
  EXPECT_TRUE(options.exports[0].rules[0].read_only);
  EXPECT_FALSE(options.exports[0].rules[0].root_squash);
  EXPECT_TRUE(options.exports[0].rules[0].clients[0].Contains("10.9.8.7"));
  ASSERT_EQ(options.users.size(), 1u);
  EXPECT_EQ(options.users[0].groups, (std::vector<uint32_t>{10, 20}));
  EXPECT_EQ(options.users[0].s3_keys[0].secret, "alice-secret");
  EXPECT_EQ(options.users[0].nt_hash.size(), 16u);
}

TEST(ConfigFileTest, SyntaxErrorsSayWhere) {
  gateway::GatewayOptions options;
  LogLevel level;
  absl::Status s = ParseConfigText("data_dir: \"x\"\nnfs_prot: 1\n", &options, &level);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(s.message()), HasSubstr("line 2"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("nfs_prot"));
}

TEST(ConfigFileTest, BadValuesNameTheField) {
  gateway::GatewayOptions options;
  LogLevel level;
  absl::Status s =
      ParseConfigText("exports { id: 1 rules { clients: \"10.0.0.0/99\" } }", &options, &level);
  EXPECT_THAT(std::string(s.message()), HasSubstr("10.0.0.0/99"));
  s = ParseConfigText("users { name: \"u\" nt_hash_hex: \"zz\" }", &options, &level);
  EXPECT_THAT(std::string(s.message()), HasSubstr("nt_hash_hex"));
  s = ParseConfigText("log_level: \"loud\"", &options, &level);
  EXPECT_THAT(std::string(s.message()), HasSubstr("log_level"));
  EXPECT_THAT(LoadConfigFile("/nonexistent/cfs.conf", &options, &level),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(ConfigFileTest, Quotas) {
  gateway::GatewayOptions options;
  LogLevel level = LogLevel::kInfo;
  ASSERT_OK(ParseConfigText(
      R"pb(
        quotas { kind: "user" subject: "1000" hard_bytes: 1048576 }
        quotas { kind: "bucket" subject: "photos" soft_bytes: 10 hard_bytes: 20 hard_inodes: 5 }
      )pb",
      &options, &level));
  ASSERT_EQ(options.quotas.size(), 2u);
  EXPECT_EQ(options.quotas[0].subject.ToString(), "user:1000");
  EXPECT_EQ(options.quotas[0].limits.hard_bytes, 1048576u);
  EXPECT_EQ(options.quotas[1].subject.ToString(), "bucket:photos");
  EXPECT_EQ(options.quotas[1].limits.soft_bytes, 10u);
  EXPECT_EQ(options.quotas[1].limits.hard_inodes, 5u);
  absl::Status bad =
      ParseConfigText(R"pb(quotas { kind: "planet" subject: "x" })pb", &options, &level);
  EXPECT_THAT(bad, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(bad.message()), HasSubstr("planet"));
}

}  // namespace
}  // namespace cfs::config
