#include "lib/auth/user_store.h"

#include <openssl/evp.h>

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "lib/auth/nt_crypto.h"

namespace cfs::auth {

backend::Identity User::ToIdentity() const {
  backend::Identity id = backend::Identity::Of(uid, gid, groups);
  id.principal = name;
  return id;
}

absl::Status UserStore::Upsert(const User& user) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status valid = CheckLocked(user);
  if (!valid.ok()) return valid;
  users_[user.name] = user;
  return absl::OkStatus();
}

absl::Status UserStore::Update(absl::string_view name,
                               const std::function<absl::Status(User&)>& change) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = users_.find(std::string(name));
  if (it == users_.end()) return absl::NotFoundError(absl::StrCat("no user ", name));
  User changed = it->second;
  absl::Status s = change(changed);
  if (!s.ok()) return s;
  changed.name = it->second.name;
  s = CheckLocked(changed);
  if (!s.ok()) return s;
  it->second = std::move(changed);
  return absl::OkStatus();
}

absl::Status UserStore::UpsertGroup(const Group& group) {
  if (group.name.empty()) return absl::InvalidArgumentError("group name must not be empty");
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, other] : groups_) {
    if (name != group.name && other.gid == group.gid) {
      return absl::InvalidArgumentError(
          absl::StrCat("group ", group.name, ": gid ", group.gid, " belongs to group ", name));
    }
  }
  groups_[group.name] = group;
  return absl::OkStatus();
}

absl::Status UserStore::RemoveGroup(absl::string_view name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = groups_.find(std::string(name));
  if (it == groups_.end()) return absl::NotFoundError(absl::StrCat("no group ", name));
  uint32_t gid = it->second.gid;
  groups_.erase(it);
  for (auto& [user_name, user] : users_) {
    user.groups.erase(std::remove(user.groups.begin(), user.groups.end(), gid), user.groups.end());
  }
  return absl::OkStatus();
}

std::optional<Group> UserStore::FindGroup(absl::string_view name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = groups_.find(std::string(name));
  if (it == groups_.end()) return std::nullopt;
  return it->second;
}

std::vector<Group> UserStore::ListGroups() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Group> out;
  for (const auto& [name, group] : groups_) out.push_back(group);
  return out;
}

absl::Status UserStore::CheckLocked(const User& user) const {
  if (user.name.empty()) return absl::InvalidArgumentError("user name must not be empty");
  if (!user.nt_hash.empty() && user.nt_hash.size() != 16) {
    return absl::InvalidArgumentError(
        absl::StrCat("user ", user.name, ": nt_hash must be 16 bytes, got ", user.nt_hash.size()));
  }
  for (const S3Key& key : user.s3_keys) {
    if (key.access_key_id.empty() || key.secret.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("user ", user.name, ": S3 access key id and secret must not be empty"));
    }
    for (const auto& [name, other] : users_) {
      if (name == user.name) continue;
      for (const S3Key& taken : other.s3_keys) {
        if (taken.access_key_id == key.access_key_id) {
          return absl::InvalidArgumentError(absl::StrCat("user ", user.name, ": access key ",
                                                         key.access_key_id, " belongs to ", name));
        }
      }
    }
  }
  return absl::OkStatus();
}

absl::Status UserStore::Remove(absl::string_view name) {
  std::lock_guard<std::mutex> lock(mu_);
  if (users_.erase(std::string(name)) == 0) {
    return absl::NotFoundError(absl::StrCat("no user ", name));
  }
  return absl::OkStatus();
}

std::optional<User> UserStore::FindByName(absl::string_view name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = users_.find(std::string(name));
  if (it == users_.end()) return std::nullopt;
  return it->second;
}

std::optional<User> UserStore::FindByUid(uint32_t uid) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, user] : users_) {
    if (user.uid == uid) return user;
  }
  return std::nullopt;
}

std::optional<UserStore::KeyMatch> UserStore::FindByAccessKey(
    absl::string_view access_key_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, user] : users_) {
    if (!user.enabled) continue;
    for (const S3Key& key : user.s3_keys) {
      if (key.enabled && key.access_key_id == access_key_id) return KeyMatch{user, key};
    }
  }
  return std::nullopt;
}

std::vector<User> UserStore::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<User> out;
  for (const auto& [name, user] : users_) out.push_back(user);
  return out;
}

absl::StatusOr<std::string> NtHash(absl::string_view password) {
  std::string utf16;
  if (!Utf8ToUtf16Le(password, &utf16)) {
    return absl::InvalidArgumentError("password is not valid UTF-8");
  }
  LoadLegacyCryptoProviders();
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_md4(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), utf16.data(), utf16.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest, &length) != 1 || length != 16) {
    return absl::InternalError("MD4 is not available from the crypto library");
  }
  return std::string(reinterpret_cast<char*>(digest), length);
}

}  // namespace cfs::auth
