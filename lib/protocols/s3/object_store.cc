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

namespace {

struct Lister {
  const ListRequest& request;
  ListResult* result;
  size_t count = 0;
  bool stop = false;

  // Adds a key or common prefix; false (and truncated) once max_keys are in.
  bool Room() {
    if (count < request.max_keys) return true;
    result->truncated = true;
    stop = true;
    return false;
  }
  // The common prefix `name` rolls up into, or "" when it does not.
  std::string CommonPrefix(const std::string& name) const {
    if (request.delimiter.empty() || !absl::StartsWith(name, request.prefix)) return "";
    size_t pos = name.find(request.delimiter, request.prefix.size());
    if (pos == std::string::npos) return "";
    return name.substr(0, pos + request.delimiter.size());
  }
  // Emits common prefix `cp` unless it was emitted already or lies at or before the marker.
  void EmitPrefix(const std::string& cp) {
    if (cp <= request.after || absl::StartsWith(request.after, cp)) return;
    if (!result->common_prefixes.empty() && result->common_prefixes.back() == cp) return;
    if (!Room()) return;
    result->common_prefixes.push_back(cp);
    result->next_marker = cp;
    ++count;
  }
};

}  // namespace

template <typename EntryT>
std::map<InodeNumber, absl::StatusOr<std::string>> ObjectStore::ReadMetas(
    const Identity& who, const std::vector<const EntryT*>& entries) {
  struct Batch {
    std::mutex mu;
    std::condition_variable done;
    size_t pending = 0;
    std::map<InodeNumber, absl::StatusOr<std::string>> results;
  };
  auto batch = std::make_shared<Batch>();
  batch->pending = entries.size();
  backend::RequestContext ctx = backend::RequestContext::WithTimeout(who, absl::Minutes(2));
  for (const EntryT* e : entries) {
    InodeNumber inode = e->entry.inode;
    backend_.GetXattr(ctx, inode, kMetaXattr, [batch, inode](absl::StatusOr<std::string> value) {
      std::lock_guard<std::mutex> lock(batch->mu);
      batch->results.emplace(inode, std::move(value));
      if (--batch->pending == 0) batch->done.notify_all();
    });
  }
  std::unique_lock<std::mutex> lock(batch->mu);
  batch->done.wait(lock, [&batch] { return batch->pending == 0; });
  return std::move(batch->results);
}

S3Or<ListResult> ObjectStore::List(const Identity& who, absl::string_view bucket,
                                   const ListRequest& request) {
  S3Or<InodeNumber> dir = BucketInode(who, bucket);
  if (!dir.ok()) return dir.error();
  ListResult result;
  Lister lister{request, &result};
  backend::SyncBackend fs = Fs(who);
  std::optional<S3Error> failure;

  struct Entry {
    std::string key;  // name, with a trailing '/' for directories
    backend::DirEntry entry;
  };
  std::function<void(InodeNumber, const std::string&)> walk = [&](InodeNumber inode,
                                                                  const std::string& base) {
    std::vector<Entry> entries;
    uint64_t cookie = 0, verifier = 0;
    while (true) {
      absl::StatusOr<backend::ReadDirResult> page = fs.ReadDir(inode, cookie, verifier, 512, true);
      if (!page.ok()) {
        if (!base.empty() && IsFsError(page.status(), FsError::kNoEntry)) return;  // pruned
        failure = FromStatus(page.status(), NoSuchBucket());
        lister.stop = true;
        return;
      }
      for (backend::DirEntry& e : page->entries) {
        cookie = e.cookie;
        if (e.name == "." || e.name == "..") continue;
        bool is_dir = e.type == FileType::kDirectory;
        if (!is_dir && e.type != FileType::kRegular) continue;  // symlinks, devices: not objects
        std::string key = base + e.name + (is_dir ? "/" : "");
        entries.push_back({std::move(key), std::move(e)});
      }
      verifier = page->cookie_verifier;
      if (page->eof) break;
    }
    std::sort(entries.begin(), entries.end(),
              [](const Entry& a, const Entry& b) { return a.key < b.key; });
    // The metadata of the objects this page can still take, read concurrently rather than one
    // backend round trip after another.
    std::vector<const Entry*> wanted;
    for (const Entry& e : entries) {
      if (wanted.size() + lister.count > request.max_keys) break;
      if (e.entry.type != FileType::kRegular || !absl::StartsWith(e.key, request.prefix) ||
          e.key <= request.after || !lister.CommonPrefix(e.key).empty()) {
        continue;
      }
      wanted.push_back(&e);
    }
    std::map<InodeNumber, absl::StatusOr<std::string>> metas = ReadMetas(who, wanted);
    for (Entry& e : entries) {
      if (lister.stop) return;
      const std::string& key = e.key;
      if (e.entry.type == FileType::kDirectory) {
        // Every key below starts with `key`.
        if (!absl::StartsWith(key, request.prefix) && !absl::StartsWith(request.prefix, key)) {
          continue;
        }
        if (key < request.after && !absl::StartsWith(request.after, key)) continue;
        std::string cp = lister.CommonPrefix(key);
        if (!cp.empty()) {
          lister.EmitPrefix(cp);
          continue;
        }
        // A folder object "key" itself comes before everything below it.
        if (absl::StartsWith(key, request.prefix) && key > request.after) {
          absl::StatusOr<std::string> stored = fs.GetXattr(e.entry.inode, std::string(kMetaXattr));
          if (stored.ok()) {
            if (!lister.Room()) return;
            Attributes attributes = e.entry.attributes.value_or(Attributes{});
            attributes.size = 0;
            result.objects.push_back({key, attributes, ParseObjectMeta(*stored)});
            result.next_marker = key;
            ++lister.count;
          }
        }
        walk(e.entry.inode, key);
        continue;
      }
      if (!absl::StartsWith(key, request.prefix) || key <= request.after) continue;
      std::string cp = lister.CommonPrefix(key);
      if (!cp.empty()) {
        lister.EmitPrefix(cp);
        continue;
      }
      if (!lister.Room()) return;
      Attributes attributes = e.entry.attributes.value_or(Attributes{});
      if (!e.entry.attributes.has_value()) {
        absl::StatusOr<Attributes> a = fs.GetAttr(e.entry.inode);
        if (!a.ok()) continue;  // removed meanwhile
        attributes = *a;
      }
      auto meta = metas.find(e.entry.inode);
      result.objects.push_back(
          {key, attributes,
           CurrentMeta(who, attributes, meta == metas.end() ? nullptr : &meta->second)});
      result.next_marker = key;
      ++lister.count;
    }
  };
  walk(*dir, "");
  if (failure.has_value()) return *failure;
  if (!result.truncated) result.next_marker.clear();
  return result;
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
