#include "lib/protocols/s3/object_store.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/backend/errors.h"
#include "lib/protocols/s3/digests.h"
#include "lib/protocols/s3/object_store_helpers.h"

namespace cfs::s3 {

using backend::Attributes;
using backend::Identity;
using backend::InodeNumber;

namespace {

constexpr size_t kMaxKeyBytes = 1024;

}  // namespace

ObjectMeta ParseObjectMeta(absl::string_view bytes) {
  ObjectMeta meta;
  if (!meta.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) meta.Clear();
  return meta;
}

bool IsValidBucketName(absl::string_view name) {
  if (name.size() < 3 || name.size() > 63) return false;
  for (char c : name) {
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '.' || c == '-')) return false;
  }
  if (!absl::ascii_isalnum(name.front()) || !absl::ascii_isalnum(name.back())) return false;
  // Each dot-separated label starts and ends with a letter or digit ("foo-.bar" and "foo.-bar"
  // are not names; "foo..bar" has an empty label).
  for (absl::string_view label : absl::StrSplit(name, '.')) {
    if (label.empty() || label.front() == '-' || label.back() == '-') return false;
  }
  // Nor is anything formatted as an IPv4 address.
  std::vector<absl::string_view> labels = absl::StrSplit(name, '.');
  if (labels.size() == 4 && std::all_of(labels.begin(), labels.end(), [](absl::string_view l) {
        return std::all_of(l.begin(), l.end(), absl::ascii_isdigit);
      })) {
    return false;
  }
  return true;
}

uint32_t ObjectMode(const Attributes& bucket) { return bucket.mode & 0666; }
uint32_t PrefixMode(const Attributes& bucket) { return bucket.mode & 0777; }

S3Or<std::vector<std::string>> KeyToPath(absl::string_view key, bool allow_trailing_slash) {
  if (key.empty()) return InvalidArgument("The object key is empty");
  if (key.size() > kMaxKeyBytes) {
    return S3Error::Make(400, "KeyTooLongError", "Your key is too long");
  }
  if (key.find('\0') != absl::string_view::npos) {
    return InvalidArgument("Object keys cannot contain NUL");
  }
  bool trailing = key.back() == '/';
  if (trailing) {
    if (!allow_trailing_slash) {
      return InvalidArgument("A key ending in '/' names a folder, which holds no data");
    }
    key.remove_suffix(1);
  }
  std::vector<std::string> segments = absl::StrSplit(key, '/');
  for (const std::string& segment : segments) {
    if (segment.empty()) {
      return InvalidArgument(
          "Object keys cannot contain empty segments ('//', or a leading '/') on this gateway");
    }
    if (segment == "." || segment == "..") {
      return InvalidArgument("Object keys cannot contain '.' or '..' segments on this gateway");
    }
    if (absl::StartsWith(segment, backend::kReservedNamePrefix)) {
      return InvalidArgument(absl::StrCat("Key segments starting with ",
                                          backend::kReservedNamePrefix,
                                          " are reserved by this gateway"));
    }
    if (segment.size() > backend::kMaxNameLength) {
      return S3Error::Make(400, "KeyTooLongError",
                           "A segment of the key between '/' is longer than 255 bytes");
    }
  }
  return segments;
}

// ---- ObjectStore ----

ObjectStore::ObjectStore(backend::Backend& backend, InodeNumber root, InodeNumber tmp,
                         InodeNumber uploads)
    : backend_(backend), root_(root), tmp_(tmp), uploads_(uploads) {}

absl::StatusOr<std::unique_ptr<ObjectStore>> ObjectStore::Open(backend::Backend& backend,
                                                               absl::string_view root_path) {
  // The staging directories have a reserved name: only this context reaches them by name.
  backend::RequestContext ctx =
      backend::RequestContext::WithTimeout(Identity::Root(), absl::Minutes(1));
  ctx.internal = true;
  backend::SyncBackend fs(backend, ctx);
  absl::StatusOr<Attributes> root_dir = fs.ResolveDirectory(root_path);
  if (!root_dir.ok()) return root_dir.status();
  InodeNumber root = root_dir->inode;
  auto ensure_dir = [&fs](InodeNumber parent, const std::string& name,
                          uint32_t mode) -> absl::StatusOr<InodeNumber> {
    absl::StatusOr<Attributes> a = fs.Lookup(parent, name);
    if (a.ok()) return a->inode;
    absl::StatusOr<backend::EntryResult> made = fs.Mkdir(parent, name, mode);
    if (made.ok()) return made->attributes.inode;
    a = fs.Lookup(parent, name);  // made meanwhile by another gateway process
    if (a.ok()) return a->inode;
    return made.status();
  };
  absl::StatusOr<InodeNumber> hidden = ensure_dir(root, std::string(kHiddenDir), 0755);
  if (!hidden.ok()) return hidden.status();
  absl::StatusOr<InodeNumber> tmp = ensure_dir(*hidden, "tmp", 01777);
  if (!tmp.ok()) return tmp.status();
  absl::StatusOr<InodeNumber> uploads = ensure_dir(*hidden, "uploads", 01777);
  if (!uploads.ok()) return uploads.status();
  // Staging files left by a crash are garbage: nothing acknowledged them.
  absl::StatusOr<std::vector<std::string>> leftovers = fs.ListNames(*tmp);
  if (leftovers.ok()) {
    for (const std::string& name : *leftovers) fs.Unlink(*tmp, name).IgnoreError();
  }
  return std::unique_ptr<ObjectStore>(new ObjectStore(backend, root, *tmp, *uploads));
}

}  // namespace cfs::s3
