// ClientRule <-> its protobuf form, for every message shaped like it: the config file's
// (config.proto) and the admin API's (lib/control/proto/admin.proto) have the same fields
// (clients, read_only, optional root_squash, all_squash, optional anonymous_uid/gid).
//
// Example:
//   absl::StatusOr<auth::ClientRule> rule = ClientRuleFromProto(in.rules(0), "projects");
//   ClientRuleToProto(*rule, out.add_rules());

#ifndef CFS_LIB_CONFIG_CLIENT_RULE_PROTO_H_
#define CFS_LIB_CONFIG_CLIENT_RULE_PROTO_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "lib/auth/export_policy.h"

namespace cfs::config {

// Errors: kInvalidArgument naming `export_name` and the network that does not parse.
template <typename RuleProto>
absl::StatusOr<auth::ClientRule> ClientRuleFromProto(const RuleProto& in,
                                                     absl::string_view export_name) {
  auth::ClientRule rule;
  for (const std::string& client : in.clients()) {
    absl::StatusOr<auth::Cidr> cidr = auth::Cidr::Parse(client);
    if (!cidr.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("exports[", export_name, "].rules: ", cidr.status().message()));
    }
    rule.clients.push_back(*cidr);
  }
  rule.read_only = in.read_only();
  if (in.has_root_squash()) rule.root_squash = in.root_squash();
  rule.all_squash = in.all_squash();
  if (in.has_anonymous_uid()) rule.anonymous_uid = in.anonymous_uid();
  if (in.has_anonymous_gid()) rule.anonymous_gid = in.anonymous_gid();
  return rule;
}

template <typename RuleProto>
void ClientRuleToProto(const auth::ClientRule& rule, RuleProto* out) {
  for (const auth::Cidr& cidr : rule.clients) out->add_clients(cidr.text());
  out->set_read_only(rule.read_only);
  out->set_root_squash(rule.root_squash);
  out->set_all_squash(rule.all_squash);
  out->set_anonymous_uid(rule.anonymous_uid);
  out->set_anonymous_gid(rule.anonymous_gid);
}

}  // namespace cfs::config

#endif  // CFS_LIB_CONFIG_CLIENT_RULE_PROTO_H_
