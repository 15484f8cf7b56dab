#include "lib/auth/export_policy.h"

#include "gtest/gtest.h"

namespace cfs::auth {
namespace {

using backend::Identity;

TEST(CidrTest, MatchesIpv4AndIpv6Networks) {
  Cidr lan = *Cidr::Parse("10.1.0.0/16");
  EXPECT_TRUE(lan.Contains("10.1.200.3"));
  EXPECT_FALSE(lan.Contains("10.2.0.1"));
  EXPECT_FALSE(lan.Contains("not an address"));
  Cidr host = *Cidr::Parse("127.0.0.1");
  EXPECT_TRUE(host.Contains("127.0.0.1"));
  EXPECT_FALSE(host.Contains("127.0.0.2"));
  Cidr v6 = *Cidr::Parse("fd00::/8");
  EXPECT_TRUE(v6.Contains("fd12::1"));
  EXPECT_FALSE(v6.Contains("10.1.0.1"));
  EXPECT_TRUE(Cidr::Any().Contains("::1"));
  EXPECT_TRUE(Cidr::Any().Contains("192.168.0.1"));
  EXPECT_TRUE(Cidr::Parse("10.0.0.0/13")->Contains("10.7.255.255"));
  EXPECT_FALSE(Cidr::Parse("10.0.0.0/13")->Contains("10.8.0.0"));
}

TEST(CidrTest, RejectsMalformedNetworks) {
  EXPECT_EQ(Cidr::Parse("10.0.0.0/33").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Cidr::Parse("10.0.0/8").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Cidr::Parse("10.0.0.0/x").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Cidr::Parse("::1/129").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(AuthorizeTest, DefaultExportSquashesRootOnly) {
  Export e = DefaultExport();
  auto root = Authorize(e, "127.0.0.1", Identity::Root());
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->identity.uid, 65534u);
  EXPECT_FALSE(root->read_only);
  auto user = Authorize(e, "127.0.0.1", Identity::Of(1000, 1000));
  EXPECT_EQ(user->identity.uid, 1000u);
}

TEST(AuthorizeTest, FirstMatchingRuleDecides) {
  Export e;
  ClientRule admins;
  admins.clients.push_back(*Cidr::Parse("127.0.0.1"));
  admins.root_squash = false;
  ClientRule readers;
  readers.clients.push_back(*Cidr::Parse("127.0.0.0/8"));
  readers.read_only = true;
  readers.all_squash = true;
  readers.anonymous_uid = 99;
  e.rules = {admins, readers};
  auto a = Authorize(e, "127.0.0.1", Identity::Root());
  EXPECT_EQ(a->identity.uid, 0u);
  EXPECT_FALSE(a->read_only);
  auto r = Authorize(e, "127.0.0.9", Identity::Of(1000, 1000));
  EXPECT_EQ(r->identity.uid, 99u);
  EXPECT_TRUE(r->read_only);
  EXPECT_EQ(Authorize(e, "192.0.2.1", Identity::Root()).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(ValidateExportTest, NamesTheBadField) {
  Export e;
  e.path = "relative";
  EXPECT_EQ(ValidateExport(e).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(ValidateExport(e).message().find("path"), absl::string_view::npos);
  e = Export();
  e.id = 0;
  EXPECT_NE(ValidateExport(e).message().find("id"), absl::string_view::npos);
  e = Export();
  e.smb_share = "a b";
  EXPECT_NE(ValidateExport(e).message().find("smb_share"), absl::string_view::npos);
  EXPECT_TRUE(ValidateExport(DefaultExport()).ok());
}

}  // namespace
}  // namespace cfs::auth
