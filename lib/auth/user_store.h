// UserStore: the users the gateway knows, with their POSIX identity and protocol credentials.
//
// Loaded from the configuration (and CFS_ROOT_USER/CFS_ROOT_PASSWORD) at start; the control plane
// changes it later. Holds S3 access keys with their secrets and SMB NT hashes, so it never logs
// them. Thread-safe.
//
// Example:
//   UserStore users;
//   User alice{.name = "alice", .uid = 1000, .gid = 1000};
//   alice.s3_keys.push_back({"AKIDALICE", "secret"});
//   CFS_RETURN_IF_ERROR(users.Upsert(alice));
//   std::optional<UserStore::KeyMatch> m = users.FindByAccessKey("AKIDALICE");

#ifndef CFS_LIB_AUTH_USER_STORE_H_
#define CFS_LIB_AUTH_USER_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>  // std::mutex: visible to ThreadSanitizer (Debian's Abseil is not instrumented)
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/backend/types.h"

namespace cfs::auth {

struct S3Key {
  std::string access_key_id;
  std::string secret;
  bool enabled = true;
};

struct User {
  std::string name;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> groups;
  std::vector<S3Key> s3_keys;
  std::string nt_hash;  // 16 raw bytes (MD4 of the UTF-16LE password); empty: no SMB login
  bool enabled = true;

  backend::Identity ToIdentity() const;
};

// A named POSIX group. Members are the users whose `groups` (or primary gid) hold its gid.
struct Group {
  std::string name;
  uint32_t gid = 0;
};

class UserStore {
 public:
  struct KeyMatch {
    User user;
    S3Key key;
  };

  // Adds `user`, or replaces the user of the same name. Errors: kInvalidArgument (empty name,
  // an access key id that another user holds, an nt_hash that is not 16 bytes).
  absl::Status Upsert(const User& user);

  // Errors: kNotFound.
  absl::Status Remove(absl::string_view name);

  // Changes the user `name` in place under the store's lock (read, modify, check, write: key
  // rotation cannot race another change). `change` may refuse with its own status.
  // Errors: kNotFound, `change`'s, and Upsert's checks of the result.
  absl::Status Update(absl::string_view name, const std::function<absl::Status(User&)>& change);

  // Adds or replaces a group. Errors: kInvalidArgument (empty name, a gid another group has).
  absl::Status UpsertGroup(const Group& group);
  // Removes a group and its gid from every member's supplementary groups. Errors: kNotFound.
  absl::Status RemoveGroup(absl::string_view name);
  std::optional<Group> FindGroup(absl::string_view name) const;
  std::vector<Group> ListGroups() const;

  std::optional<User> FindByName(absl::string_view name) const;
  std::optional<User> FindByUid(uint32_t uid) const;
  // Only enabled keys of enabled users match.
  std::optional<KeyMatch> FindByAccessKey(absl::string_view access_key_id) const;
  std::vector<User> List() const;

 private:
  absl::Status CheckLocked(const User& user) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable std::mutex mu_;
  std::map<std::string, User> users_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Group> groups_ ABSL_GUARDED_BY(mu_);
};

// The NT hash SMB/NTLM uses as password material: MD4 over the UTF-16LE encoding of the UTF-8
// `password`. Errors: kInvalidArgument (not valid UTF-8), kInternal (MD4 unavailable).
absl::StatusOr<std::string> NtHash(absl::string_view password);

}  // namespace cfs::auth

#endif  // CFS_LIB_AUTH_USER_STORE_H_
