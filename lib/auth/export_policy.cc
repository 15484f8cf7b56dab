#include "lib/auth/export_policy.h"

#include <arpa/inet.h>

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace cfs::auth {
namespace {

// Parses a numeric address into IPv6 form (IPv4 becomes ::ffff:a.b.c.d). Returns the number of
// significant prefix bits of the family (32 or 128), 0 on failure.
int ParseAddress(absl::string_view text, in6_addr* out) {
  std::string s(text);
  in_addr v4;
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    std::memset(out, 0, sizeof(*out));
    out->s6_addr[10] = 0xff;
    out->s6_addr[11] = 0xff;
    std::memcpy(&out->s6_addr[12], &v4, 4);
    return 32;
  }
  if (inet_pton(AF_INET6, s.c_str(), out) == 1) return 128;
  return 0;
}

bool PrefixMatches(const in6_addr& a, const in6_addr& b, int bits) {
  for (int i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((a.s6_addr[i] & mask) != (b.s6_addr[i] & mask)) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<Cidr> Cidr::Parse(absl::string_view text) {
  if (text == "*") return Any();
  Cidr cidr;
  cidr.text_ = std::string(text);
  absl::string_view address = text;
  int prefix = -1;
  size_t slash = text.find('/');
  if (slash != absl::string_view::npos) {
    address = text.substr(0, slash);
    if (!absl::SimpleAtoi(text.substr(slash + 1), &prefix) || prefix < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("client network '", text, "': prefix length must be a number"));
    }
  }
  int family_bits = ParseAddress(address, &cidr.network_);
  if (family_bits == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "client network '", text, "': expected an IPv4 or IPv6 address like 10.0.0.0/8 or ::1"));
  }
  if (prefix > family_bits) {
    return absl::InvalidArgumentError(
        absl::StrCat("client network '", text, "': prefix length must be at most ", family_bits));
  }
  if (prefix < 0) prefix = family_bits;
  cidr.prefix_bits_ = prefix + (128 - family_bits);
  return cidr;
}

Cidr Cidr::Any() {
  Cidr cidr;
  cidr.prefix_bits_ = 0;
  cidr.text_ = "*";
  return cidr;
}

bool Cidr::Contains(absl::string_view address) const {
  in6_addr addr;
  if (ParseAddress(address, &addr) == 0) return false;
  return PrefixMatches(addr, network_, prefix_bits_);
}

absl::StatusOr<ExportAccess> Authorize(const Export& exp, absl::string_view client_address,
                                       const backend::Identity& claimed) {
  static const ClientRule kDefaultRule;
  const ClientRule* match = nullptr;
  if (exp.rules.empty()) {
    match = &kDefaultRule;
  } else {
    for (const ClientRule& rule : exp.rules) {
      bool admits = rule.clients.empty();
      for (const Cidr& net : rule.clients) {
        if (net.Contains(client_address)) {
          admits = true;
          break;
        }
      }
      if (admits) {
        match = &rule;
        break;
      }
    }
  }
  if (match == nullptr) {
    return absl::PermissionDeniedError(
        absl::StrCat("client ", client_address, " is not admitted to export ", exp.name));
  }
  ExportAccess access;
  access.read_only = match->read_only;
  access.identity = claimed;
  if (match->all_squash || (match->root_squash && claimed.IsRoot())) {
    access.identity = backend::Identity::Of(match->anonymous_uid, match->anonymous_gid);
    access.identity.principal = claimed.principal;
  }
  return access;
}

absl::Status ValidateExport(const Export& exp) {
  if (exp.id == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("export ", exp.name, ": id must be greater than 0"));
  }
  if (exp.name.empty()) return absl::InvalidArgumentError("export name must not be empty");
  if (exp.path.empty() || exp.path[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat("export ", exp.name, ": path '", exp.path,
                                                   "' must be absolute, like / or /projects"));
  }
  if (exp.nfs_path.empty() || exp.nfs_path[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat(
        "export ", exp.name, ": nfs_path '", exp.nfs_path, "' must start with /, like /export"));
  }
  if (exp.smb_share.find_first_of("\\/:*?\"<>| ") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("export ", exp.name, ": smb_share '", exp.smb_share,
                     "' must not contain spaces or any of \\/:*?\"<>|"));
  }
  return absl::OkStatus();
}

Export DefaultExport() { return Export(); }

}  // namespace cfs::auth
