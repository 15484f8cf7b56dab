#include "lib/protocols/s3/object_store.h"

#include <openssl/rand.h>

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "lib/backend/errors.h"
#include "lib/protocols/s3/digests.h"
#include "lib/protocols/s3/object_store_helpers.h"

namespace cfs::s3 {

using backend::Attributes;
using backend::FileType;
using backend::FsError;
using backend::Identity;
using backend::InodeNumber;
using internal::IsFsError;
using internal::kAclXattr;
using internal::kAssembly;
using internal::KeyConflict;
using internal::kPartXattr;
using internal::kReadPiece;
using internal::kUploadXattr;
using internal::RandomHex;
using internal::Stamp;
using internal::StampMatches;

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

backend::SyncBackend ObjectStore::Fs(const Identity& who) const {
  return backend::SyncBackend(backend_, Ctx(who));
}

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

// ---- Multipart ----

S3Or<std::string> ObjectStore::CreateUpload(const Identity& who, const UploadMeta& meta) {
  std::string id = RandomHex(16);
  backend::SyncBackend fs = Fs(who);
  absl::StatusOr<backend::EntryResult> made = fs.Mkdir(uploads_, id, 0700);
  if (!made.ok()) return FromStatus(made.status(), NoSuchBucket());
  absl::StatusOr<backend::EntryResult> assembly =
      fs.Create(made->attributes.inode, std::string(kAssembly), backend::CreateMode::kGuarded, 0,
                meta.object_mode() != 0 ? meta.object_mode() : 0600);
  if (!assembly.ok()) {
    fs.Rmdir(uploads_, id).IgnoreError();
    return FromStatus(assembly.status(), NoSuchBucket());
  }
  absl::StatusOr<backend::Done> stored =
      fs.SetXattr(made->attributes.inode, std::string(kUploadXattr), meta.SerializeAsString());
  if (!stored.ok()) {
    fs.Rmdir(uploads_, id).IgnoreError();
    return FromStatus(stored.status(), NoSuchBucket());
  }
  return id;
}

S3Or<UploadInfo> ObjectStore::GetUpload(const Identity& who, absl::string_view upload_id,
                                        absl::string_view bucket, absl::string_view key) {
  if (upload_id.size() != 32 ||
      !std::all_of(upload_id.begin(), upload_id.end(), absl::ascii_isxdigit)) {
    return NoSuchUpload();
  }
  backend::SyncBackend fs = Fs(who);
  absl::StatusOr<Attributes> dir = fs.Lookup(uploads_, std::string(upload_id));
  if (!dir.ok()) return FromStatus(dir.status(), NoSuchUpload());
  absl::StatusOr<std::string> stored = fs.GetXattr(dir->inode, std::string(kUploadXattr));
  if (!stored.ok()) return FromStatus(stored.status(), NoSuchUpload());
  UploadInfo info;
  info.upload_id = std::string(upload_id);
  info.dir = dir->inode;
  if (!info.meta.ParseFromString(*stored) || info.meta.bucket() != bucket ||
      info.meta.key() != key) {
    return NoSuchUpload();
  }
  return info;
}

S3Or<std::unique_ptr<StagedObject>> ObjectStore::StagePart(const Identity& who,
                                                           const UploadInfo& upload,
                                                           int part_number,
                                                           std::optional<uint64_t> length) {
  if (!length.has_value() || *length == 0) return Stage(who);
  backend::SyncBackend fs = Fs(who);
  std::string name = absl::StrFormat("part-%05d", part_number);
  uint64_t offset = 0;
  {
    std::lock_guard<std::mutex> lock(parts_mu_);
    std::set<int>& in_flight = parts_in_flight_[upload.upload_id];
    // A number written before (or being written) goes elsewhere: its region must stay intact
    // until the new upload has succeeded.
    if (in_flight.count(part_number) != 0 || fs.Lookup(upload.dir, name).ok()) {
      if (in_flight.empty()) parts_in_flight_.erase(upload.upload_id);
      return Stage(who);
    }
    absl::StatusOr<std::string> stored = fs.GetXattr(upload.dir, std::string(kUploadXattr));
    UploadMeta meta;
    bool placed = stored.ok() && meta.ParseFromString(*stored);
    if (placed && meta.part_size() == 0) {
      meta.set_part_size(*length);
      placed = fs.SetXattr(upload.dir, std::string(kUploadXattr), meta.SerializeAsString()).ok();
    }
    if (!placed || *length > meta.part_size()) {
      if (in_flight.empty()) parts_in_flight_.erase(upload.upload_id);
      return Stage(who);
    }
    offset = static_cast<uint64_t>(part_number - 1) * meta.part_size();
    in_flight.insert(part_number);
  }
  auto release = [this, id = upload.upload_id, part_number] {
    std::lock_guard<std::mutex> lock(parts_mu_);
    auto it = parts_in_flight_.find(id);
    if (it == parts_in_flight_.end()) return;
    it->second.erase(part_number);
    if (it->second.empty()) parts_in_flight_.erase(it);
  };
  absl::StatusOr<Attributes> assembly = fs.Lookup(upload.dir, std::string(kAssembly));
  if (!assembly.ok()) {
    release();
    return Stage(who);
  }
  std::unique_ptr<StagedObject> staged(
      new StagedObject(this, who, upload.dir, std::string(kAssembly), assembly->inode));
  staged->owned_ = false;
  staged->base_offset_ = offset;
  staged->limit_ = *length;
  staged->on_destroy_ = release;
  return staged;
}

S3Or<PartInfo> ObjectStore::PublishPart(const Identity& who, std::unique_ptr<StagedObject> staged,
                                        const UploadInfo& upload, int part_number, PartMeta meta) {
  backend::SyncBackend fs = Fs(who);
  // The part's bytes are stable before the part is recorded.
  absl::StatusOr<backend::CommitResult> committed = fs.Commit(staged->inode());
  if (!committed.ok()) return FromStatus(committed.status(), NoSuchUpload());
  meta.set_size(staged->size());
  meta.set_mtime_seconds(committed->attributes.after.mtime.seconds);
  meta.set_in_assembly(staged->in_assembly());
  meta.set_offset(staged->offset());
  std::string name = absl::StrFormat("part-%05d", part_number);
  PartInfo info;
  info.number = part_number;
  info.attributes = committed->attributes.after;
  info.data_inode = staged->inode();
  if (staged->in_assembly()) {
    // A marker file carries the part's record; the bytes stay in the assembly file.
    absl::StatusOr<backend::EntryResult> marker =
        fs.Create(upload.dir, name, backend::CreateMode::kUnchecked);
    if (!marker.ok()) return FromStatus(marker.status(), NoSuchUpload());
    absl::StatusOr<backend::Done> stored =
        fs.SetXattr(marker->attributes.inode, std::string(kPartXattr), meta.SerializeAsString());
    if (!stored.ok()) return FromStatus(stored.status(), NoSuchUpload());
    info.inode = marker->attributes.inode;
  } else {
    absl::StatusOr<backend::Done> stored =
        fs.SetXattr(staged->inode(), std::string(kPartXattr), meta.SerializeAsString());
    if (!stored.ok()) return FromStatus(stored.status(), NoSuchUpload());
    absl::Status renamed = fs.Rename(staged->dir_, staged->name_, upload.dir, name).status();
    if (!renamed.ok()) return FromStatus(renamed, NoSuchUpload());
    info.inode = staged->inode();
  }
  staged->done_ = true;
  info.meta = meta;
  return info;
}

std::optional<S3Or<ObjectInfo>> ObjectStore::PublishAssembly(
    const Identity& who, const UploadInfo& upload, const std::vector<const PartInfo*>& parts,
    absl::string_view bucket, absl::string_view key, ObjectMeta meta) {
  uint64_t total = 0;
  for (const PartInfo* part : parts) {
    if (!part->meta.in_assembly() || part->meta.offset() != total) return std::nullopt;
    total += part->meta.size();
  }
  backend::SyncBackend fs = Fs(who);
  absl::StatusOr<Attributes> assembly = fs.Lookup(upload.dir, std::string(kAssembly));
  if (!assembly.ok()) return std::nullopt;
  // Parts uploaded but left out of the list may lie beyond the object's end.
  backend::SetAttributes cut;
  cut.size = total;
  absl::StatusOr<backend::AttrChange> truncated = fs.SetAttr(assembly->inode, cut);
  if (!truncated.ok()) return S3Or<ObjectInfo>(FromStatus(truncated.status(), NoSuchUpload()));
  std::unique_ptr<StagedObject> staged(
      new StagedObject(this, who, upload.dir, std::string(kAssembly), assembly->inode));
  staged->owned_ = false;  // on failure the upload keeps its assembly file
  staged->size_ = total;
  return Publish(who, std::move(staged), bucket, key, std::move(meta));
}

S3Or<std::vector<PartInfo>> ObjectStore::ListParts(const Identity& who, const UploadInfo& upload) {
  backend::SyncBackend fs = Fs(who);
  std::vector<PartInfo> parts;
  InodeNumber assembly = 0;
  uint64_t cookie = 0, verifier = 0;
  while (true) {
    absl::StatusOr<backend::ReadDirResult> page =
        fs.ReadDir(upload.dir, cookie, verifier, 512, true);
    if (!page.ok()) return FromStatus(page.status(), NoSuchUpload());
    for (const backend::DirEntry& e : page->entries) {
      cookie = e.cookie;
      if (e.name == kAssembly) assembly = e.inode;
      absl::string_view name = e.name;
      int number = 0;
      if (!absl::ConsumePrefix(&name, "part-") || !absl::SimpleAtoi(name, &number)) continue;
      absl::StatusOr<std::string> stored = fs.GetXattr(e.inode, std::string(kPartXattr));
      if (!stored.ok()) continue;
      PartInfo part;
      part.number = number;
      part.inode = e.inode;
      part.data_inode = e.inode;
      if (!part.meta.ParseFromString(*stored)) continue;
      if (e.attributes.has_value()) part.attributes = *e.attributes;
      parts.push_back(std::move(part));
    }
    verifier = page->cookie_verifier;
    if (page->eof) break;
  }
  for (PartInfo& part : parts) {
    if (part.meta.in_assembly()) part.data_inode = assembly;
  }
  std::sort(parts.begin(), parts.end(),
            [](const PartInfo& a, const PartInfo& b) { return a.number < b.number; });
  return parts;
}

S3Or<Ok> ObjectStore::RemoveUpload(const Identity& who, const UploadInfo& upload) {
  backend::SyncBackend fs = Fs(who);
  absl::StatusOr<std::vector<std::string>> names = fs.ListNames(upload.dir);
  if (names.ok()) {
    for (const std::string& name : *names) fs.Unlink(upload.dir, name).IgnoreError();
  }
  absl::StatusOr<backend::DirChange> removed = fs.Rmdir(uploads_, upload.upload_id);
  if (!removed.ok()) return FromStatus(removed.status(), NoSuchUpload());
  return Ok{};
}

S3Or<std::vector<UploadInfo>> ObjectStore::ListUploads(const Identity& who,
                                                       absl::string_view bucket) {
  backend::SyncBackend fs = Fs(who);
  std::vector<UploadInfo> out;
  uint64_t cookie = 0, verifier = 0;
  while (true) {
    absl::StatusOr<backend::ReadDirResult> page = fs.ReadDir(uploads_, cookie, verifier, 512, true);
    if (!page.ok()) return FromStatus(page.status(), NoSuchBucket());
    for (const backend::DirEntry& e : page->entries) {
      cookie = e.cookie;
      absl::StatusOr<std::string> stored = fs.GetXattr(e.inode, std::string(kUploadXattr));
      if (!stored.ok()) continue;  // another user's upload, or half made
      UploadInfo info;
      info.upload_id = e.name;
      info.dir = e.inode;
      if (!info.meta.ParseFromString(*stored) || info.meta.bucket() != bucket) continue;
      out.push_back(std::move(info));
    }
    verifier = page->cookie_verifier;
    if (page->eof) break;
  }
  std::sort(out.begin(), out.end(), [](const UploadInfo& a, const UploadInfo& b) {
    return std::tie(a.meta.key(), a.upload_id) < std::tie(b.meta.key(), b.upload_id);
  });
  return out;
}

}  // namespace cfs::s3
