// Exports and the rules that decide which clients may use them, as whom, and how.
//
// An Export names a directory of the namespace and how each protocol shows it (NFS path, SMB
// share, S3 buckets). Its ClientRules are tried in order; the first whose networks contain the
// client decides: read-only, root squash (uid 0 becomes the anonymous identity), all squash
// (everyone does). No matching rule: the client is refused. Value types; thread-compatible.
//
// Example:
//   Export e = DefaultExport();
//   absl::StatusOr<ExportAccess> access = Authorize(e, "127.0.0.1", claimed_identity);

#ifndef CFS_LIB_AUTH_EXPORT_POLICY_H_
#define CFS_LIB_AUTH_EXPORT_POLICY_H_

#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/backend/types.h"

namespace cfs::auth {

// An IPv4 or IPv6 network ("10.0.0.0/8", "::1", "*" for everything). IPv4 addresses are held
// as IPv4-mapped IPv6 so one rule form serves both.
class Cidr {
 public:
  // Errors: kInvalidArgument naming the text and what is wrong.
  static absl::StatusOr<Cidr> Parse(absl::string_view text);
  static Cidr Any();

  // `address` is a numeric IPv4 or IPv6 address; false for anything unparsable.
  bool Contains(absl::string_view address) const;
  const std::string& text() const { return text_; }

 private:
  in6_addr network_{};
  int prefix_bits_ = 0;
  std::string text_;
};

struct ClientRule {
  std::vector<Cidr> clients;  // empty: every client
  bool read_only = false;
  bool root_squash = true;
  bool all_squash = false;
  uint32_t anonymous_uid = 65534;
  uint32_t anonymous_gid = 65534;
};

struct Export {
  uint32_t id = 1;  // part of every file handle: never reuse for another export
  std::string name = "default";
  std::string path = "/";            // directory of the namespace the export shows
  std::string nfs_path = "/export";  // what MOUNT clients ask for
  std::string smb_share = "share";   // SMB share name; empty: not shared over SMB
  bool smb_encrypt = false;          // SMB clients must encrypt (SMB 3.x) to use the share
  bool s3_buckets = true;            // top-level directories are S3 buckets
  std::vector<ClientRule> rules;     // empty: one rule for every client, read-write, root squash
};

// What a client gets on an export after the rules are applied.
struct ExportAccess {
  backend::Identity identity;
  bool read_only = false;
};

// Applies `exp`'s rules to a client at `client_address` that claims `claimed`.
// Errors: kPermissionDenied when no rule admits the client.
absl::StatusOr<ExportAccess> Authorize(const Export& exp, absl::string_view client_address,
                                       const backend::Identity& claimed);

// Checks an export's own fields. Errors: kInvalidArgument naming the field.
absl::Status ValidateExport(const Export& exp);

// The export used when nothing is configured: the whole namespace, NFS /export, SMB "share",
// S3 buckets, every client read-write with root squash.
Export DefaultExport();

}  // namespace cfs::auth

#endif  // CFS_LIB_AUTH_EXPORT_POLICY_H_
