// ObjectStore's multipart uploads, asynchronous. An upload is a directory under the hidden
// uploads directory holding its record (an xattr), an assembly file into which parts of the
// upload's part size are written in place, and one file per part (a marker carrying the part's
// record, or the part's own bytes when it could not go into the assembly file). Each step is a
// backend call whose callback starts the next; no thread waits. The synchronous methods of the
// same name wait for these.
#include <algorithm>
#include <map>
#include <tuple>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "lib/backend/errors.h"
#include "lib/protocols/s3/object_store.h"
#include "lib/protocols/s3/object_store_helpers.h"

namespace cfs::s3 {

using backend::Attributes;
using backend::DirEntry;
using backend::Identity;
using backend::InodeNumber;
using internal::kAssembly;
using internal::kPartXattr;
using internal::kUploadXattr;
using internal::RandomHex;
using internal::Wait;

namespace {

std::string PartName(int part_number) { return absl::StrFormat("part-%05d", part_number); }

}  // namespace

// ---- Creating and finding uploads ----

void ObjectStore::CreateUploadAsync(const Identity& who, const UploadMeta& meta,
                                    Done<std::string> done) {
  std::string id = RandomHex(16);
  backend::SetAttributes attrs;
  attrs.mode = 0700;
  // Undoes a half-made upload, then answers `error`.
  auto undo = [this, who, id](Done<std::string> done, S3Error error) {
    backend_.RemoveDirectory(
        Ctx(who), uploads_, id,
        [done = std::move(done), error = std::move(error)](
            absl::StatusOr<backend::DirChange>) mutable { std::move(done)(std::move(error)); });
  };
  backend_.MakeDirectory(
      Ctx(who), uploads_, id, attrs,
      [this, who, id, meta, undo,
       done = std::move(done)](absl::StatusOr<backend::EntryResult> made) mutable {
        if (!made.ok()) return std::move(done)(FromStatus(made.status(), NoSuchBucket()));
        InodeNumber dir = made->attributes.inode;
        backend::CreateRequest request;
        request.parent = dir;
        request.name = std::string(kAssembly);
        request.how = backend::CreateMode::kGuarded;
        request.attributes.mode = meta.object_mode() != 0 ? meta.object_mode() : 0600;
        backend_.Create(
            Ctx(who), request,
            [this, who, id, dir, meta, undo,
             done = std::move(done)](absl::StatusOr<backend::EntryResult> assembly) mutable {
              if (!assembly.ok()) {
                return undo(std::move(done), FromStatus(assembly.status(), NoSuchBucket()));
              }
              backend_.SetXattr(
                  Ctx(who), dir, kUploadXattr, meta.SerializeAsString(),
                  backend::XattrSetMode::kCreateOrReplace,
                  [id, undo, done = std::move(done)](absl::StatusOr<backend::Done> stored) mutable {
                    if (!stored.ok()) {
                      return undo(std::move(done), FromStatus(stored.status(), NoSuchBucket()));
                    }
                    std::move(done)(id);
                  });
            });
      });
}

S3Or<std::string> ObjectStore::CreateUpload(const Identity& who, const UploadMeta& meta) {
  return Wait<std::string>(
      [&](Done<std::string> done) { CreateUploadAsync(who, meta, std::move(done)); });
}

void ObjectStore::GetUploadAsync(const Identity& who, std::string upload_id, std::string bucket,
                                 std::string key, Done<UploadInfo> done) {
  if (upload_id.size() != 32 ||
      !std::all_of(upload_id.begin(), upload_id.end(), absl::ascii_isxdigit)) {
    return std::move(done)(NoSuchUpload());
  }
  backend_.Lookup(Ctx(who), uploads_, upload_id,
                  [this, who, upload_id, bucket = std::move(bucket), key = std::move(key),
                   done = std::move(done)](absl::StatusOr<Attributes> dir) mutable {
                    if (!dir.ok()) return std::move(done)(FromStatus(dir.status(), NoSuchUpload()));
                    InodeNumber inode = dir->inode;
                    backend_.GetXattr(
                        Ctx(who), inode, kUploadXattr,
                        [upload_id = std::move(upload_id), inode, bucket = std::move(bucket),
                         key = std::move(key),
                         done = std::move(done)](absl::StatusOr<std::string> stored) mutable {
                          if (!stored.ok())
                            return std::move(done)(FromStatus(stored.status(), NoSuchUpload()));
                          UploadInfo info;
                          info.upload_id = std::move(upload_id);
                          info.dir = inode;
                          if (!info.meta.ParseFromString(*stored) || info.meta.bucket() != bucket ||
                              info.meta.key() != key) {
                            return std::move(done)(NoSuchUpload());
                          }
                          std::move(done)(std::move(info));
                        });
                  });
}

S3Or<UploadInfo> ObjectStore::GetUpload(const Identity& who, absl::string_view upload_id,
                                        absl::string_view bucket, absl::string_view key) {
  return Wait<UploadInfo>([&](Done<UploadInfo> done) {
    GetUploadAsync(who, std::string(upload_id), std::string(bucket), std::string(key),
                   std::move(done));
  });
}

// ---- Parts ----

// One decision at a time per upload: whether a part goes into the assembly file, and the
// upload's part size, which the first sized part fixes.
void ObjectStore::LockUpload(const std::string& upload_id, absl::AnyInvocable<void() &&> fn) {
  {
    std::lock_guard<std::mutex> lock(parts_mu_);
    auto [it, first] = upload_locks_.try_emplace(upload_id);
    if (!first) {
      it->second.push_back(std::move(fn));
      return;
    }
  }
  std::move(fn)();
}

void ObjectStore::UnlockUpload(const std::string& upload_id) {
  absl::AnyInvocable<void() &&> next;
  {
    std::lock_guard<std::mutex> lock(parts_mu_);
    auto it = upload_locks_.find(upload_id);
    if (it == upload_locks_.end()) return;
    if (it->second.empty()) {
      upload_locks_.erase(it);
      return;
    }
    next = std::move(it->second.front());
    it->second.pop_front();
  }
  std::move(next)();
}

struct ObjectStore::StagePartState {
  Identity who;
  UploadInfo upload;
  int part_number = 0;
  uint64_t length = 0;
  Done<std::unique_ptr<StagedObject>> done;
};

void ObjectStore::StagePartAsync(const Identity& who, const UploadInfo& upload, int part_number,
                                 std::optional<uint64_t> length,
                                 Done<std::unique_ptr<StagedObject>> done) {
  if (!length.has_value() || *length == 0) return StageAsync(who, 0600, std::move(done));
  auto stage = std::make_shared<StagePartState>();
  stage->who = who;
  stage->upload = upload;
  stage->part_number = part_number;
  stage->length = *length;
  stage->done = std::move(done);
  LockUpload(upload.upload_id, [this, stage]() { StagePartLocked(stage); });
}

// Under the upload's lock: a number written before (or being written) goes to a file of its
// own, so its region stays intact until the new upload has succeeded; so does a part larger
// than the upload's part size.
void ObjectStore::StagePartLocked(std::shared_ptr<StagePartState> stage) {
  const std::string& id = stage->upload.upload_id;
  auto elsewhere = [this, stage]() {
    UnlockUpload(stage->upload.upload_id);
    StageAsync(stage->who, 0600, std::move(stage->done));
  };
  bool in_flight;
  {
    std::lock_guard<std::mutex> lock(parts_mu_);
    auto it = parts_in_flight_.find(id);
    in_flight = it != parts_in_flight_.end() && it->second.count(stage->part_number) != 0;
  }
  if (in_flight) return elsewhere();  // outside parts_mu_: UnlockUpload takes it
  backend_.Lookup(
      Ctx(stage->who), stage->upload.dir, PartName(stage->part_number),
      [this, stage, elsewhere](absl::StatusOr<Attributes> existing) {
        if (existing.ok()) return elsewhere();
        backend_.GetXattr(
            Ctx(stage->who), stage->upload.dir, kUploadXattr,
            [this, stage, elsewhere](absl::StatusOr<std::string> stored) {
              auto meta = std::make_shared<UploadMeta>();
              if (!stored.ok() || !meta->ParseFromString(*stored)) return elsewhere();
              auto placed = [this, stage, meta, elsewhere]() {
                if (stage->length > meta->part_size()) return elsewhere();
                uint64_t offset = static_cast<uint64_t>(stage->part_number - 1) * meta->part_size();
                {
                  std::lock_guard<std::mutex> lock(parts_mu_);
                  parts_in_flight_[stage->upload.upload_id].insert(stage->part_number);
                }
                UnlockUpload(stage->upload.upload_id);
                StagePartInAssembly(stage, offset);
              };
              if (meta->part_size() != 0) return placed();
              meta->set_part_size(stage->length);
              backend_.SetXattr(Ctx(stage->who), stage->upload.dir, kUploadXattr,
                                meta->SerializeAsString(), backend::XattrSetMode::kCreateOrReplace,
                                [placed, elsewhere](absl::StatusOr<backend::Done> set) {
                                  if (!set.ok()) return elsewhere();
                                  placed();
                                });
            });
      });
}

void ObjectStore::StagePartInAssembly(std::shared_ptr<StagePartState> stage, uint64_t offset) {
  auto release = [this, id = stage->upload.upload_id, part_number = stage->part_number] {
    std::lock_guard<std::mutex> lock(parts_mu_);
    auto it = parts_in_flight_.find(id);
    if (it == parts_in_flight_.end()) return;
    it->second.erase(part_number);
    if (it->second.empty()) parts_in_flight_.erase(it);
  };
  backend_.Lookup(
      Ctx(stage->who), stage->upload.dir, kAssembly,
      [this, stage, offset, release](absl::StatusOr<Attributes> assembly) {
        if (!assembly.ok()) {
          release();
          return StageAsync(stage->who, 0600, std::move(stage->done));
        }
        std::unique_ptr<StagedObject> staged(new StagedObject(
            this, stage->who, stage->upload.dir, std::string(kAssembly), assembly->inode));
        staged->owned_ = false;
        staged->base_offset_ = offset;
        staged->limit_ = stage->length;
        staged->on_destroy_ = release;
        std::move(stage->done)(std::move(staged));
      });
}

S3Or<std::unique_ptr<StagedObject>> ObjectStore::StagePart(const Identity& who,
                                                           const UploadInfo& upload,
                                                           int part_number,
                                                           std::optional<uint64_t> length) {
  return Wait<std::unique_ptr<StagedObject>>([&](Done<std::unique_ptr<StagedObject>> done) {
    StagePartAsync(who, upload, part_number, length, std::move(done));
  });
}

void ObjectStore::PublishPartAsync(const Identity& who, std::unique_ptr<StagedObject> staged,
                                   const UploadInfo& upload, int part_number, PartMeta meta,
                                   Done<PartInfo> done) {
  std::shared_ptr<StagedObject> held(std::move(staged));
  InodeNumber inode = held->inode();
  // The part's bytes are stable before the part is recorded.
  backend_.Commit(
      Ctx(who), inode, 0, 0,
      [this, who, held, upload, part_number, meta = std::move(meta),
       done = std::move(done)](absl::StatusOr<backend::CommitResult> committed) mutable {
        if (!committed.ok()) {
          return std::move(done)(FromStatus(committed.status(), NoSuchUpload()));
        }
        meta.set_size(held->size());
        meta.set_mtime_seconds(committed->attributes.after.mtime.seconds);
        meta.set_in_assembly(held->in_assembly());
        meta.set_offset(held->offset());
        auto info = std::make_shared<PartInfo>();
        info->number = part_number;
        info->attributes = committed->attributes.after;
        info->data_inode = held->inode();
        info->meta = meta;
        std::string record = meta.SerializeAsString();
        auto finish = [held, info, done = std::move(done)](S3Or<InodeNumber> recorded) mutable {
          if (!recorded.ok()) return std::move(done)(recorded.error());
          held->done_ = true;
          info->inode = *recorded;
          std::move(done)(std::move(*info));
        };
        if (held->in_assembly()) {
          // A marker file carries the part's record; the bytes stay in the assembly file.
          backend::CreateRequest request;
          request.parent = upload.dir;
          request.name = PartName(part_number);
          request.how = backend::CreateMode::kUnchecked;
          request.attributes.mode = 0644;
          backend_.Create(
              Ctx(who), request,
              [this, who, record,
               finish = std::move(finish)](absl::StatusOr<backend::EntryResult> marker) mutable {
                if (!marker.ok()) return finish(FromStatus(marker.status(), NoSuchUpload()));
                InodeNumber marker_inode = marker->attributes.inode;
                backend_.SetXattr(Ctx(who), marker_inode, kPartXattr, record,
                                  backend::XattrSetMode::kCreateOrReplace,
                                  [marker_inode, finish = std::move(finish)](
                                      absl::StatusOr<backend::Done> stored) mutable {
                                    if (!stored.ok()) {
                                      return finish(FromStatus(stored.status(), NoSuchUpload()));
                                    }
                                    finish(marker_inode);
                                  });
              });
          return;
        }
        backend_.SetXattr(
            Ctx(who), held->inode(), kPartXattr, record, backend::XattrSetMode::kCreateOrReplace,
            [this, who, held, upload, part_number,
             finish = std::move(finish)](absl::StatusOr<backend::Done> stored) mutable {
              if (!stored.ok()) return finish(FromStatus(stored.status(), NoSuchUpload()));
              backend_.Rename(Ctx(who), held->dir_, held->name_, upload.dir, PartName(part_number),
                              [held, finish = std::move(finish)](
                                  absl::StatusOr<backend::RenameResult> renamed) mutable {
                                if (!renamed.ok()) {
                                  return finish(FromStatus(renamed.status(), NoSuchUpload()));
                                }
                                finish(held->inode());
                              });
            });
      });
}

S3Or<PartInfo> ObjectStore::PublishPart(const Identity& who, std::unique_ptr<StagedObject> staged,
                                        const UploadInfo& upload, int part_number, PartMeta meta) {
  return Wait<PartInfo>([&](Done<PartInfo> done) {
    PublishPartAsync(who, std::move(staged), upload, part_number, std::move(meta), std::move(done));
  });
}

// ---- Completing, listing and removing uploads ----

void ObjectStore::PublishAssemblyAsync(
    const Identity& who, const UploadInfo& upload, const std::vector<const PartInfo*>& parts,
    std::string bucket, std::string key, ObjectMeta meta,
    absl::AnyInvocable<void(std::optional<S3Or<ObjectInfo>>) &&> done) {
  uint64_t total = 0;
  for (const PartInfo* part : parts) {
    if (!part->meta.in_assembly() || part->meta.offset() != total) {
      return std::move(done)(std::nullopt);
    }
    total += part->meta.size();
  }
  backend_.Lookup(
      Ctx(who), upload.dir, kAssembly,
      [this, who, dir = upload.dir, total, bucket = std::move(bucket), key = std::move(key),
       meta = std::move(meta),
       done = std::move(done)](absl::StatusOr<Attributes> assembly) mutable {
        if (!assembly.ok()) return std::move(done)(std::nullopt);
        // Parts uploaded but left out of the list may lie beyond the object's end.
        backend::SetAttributes cut;
        cut.size = total;
        InodeNumber inode = assembly->inode;
        backend_.SetAttr(
            Ctx(who), inode, cut,
            [this, who, dir, inode, total, bucket = std::move(bucket), key = std::move(key),
             meta = std::move(meta),
             done = std::move(done)](absl::StatusOr<backend::AttrChange> truncated) mutable {
              if (!truncated.ok()) {
                return std::move(done)(
                    S3Or<ObjectInfo>(FromStatus(truncated.status(), NoSuchUpload())));
              }
              std::unique_ptr<StagedObject> staged(
                  new StagedObject(this, who, dir, std::string(kAssembly), inode));
              staged->owned_ = false;  // on failure the upload keeps its assembly file
              staged->size_ = total;
              PublishAsync(who, std::move(staged), std::move(bucket), std::move(key),
                           std::move(meta),
                           [done = std::move(done)](S3Or<ObjectInfo> published) mutable {
                             std::move(done)(std::move(published));
                           });
            });
      });
}

std::optional<S3Or<ObjectInfo>> ObjectStore::PublishAssembly(
    const Identity& who, const UploadInfo& upload, const std::vector<const PartInfo*>& parts,
    absl::string_view bucket, absl::string_view key, ObjectMeta meta) {
  std::promise<std::optional<S3Or<ObjectInfo>>> result;
  std::future<std::optional<S3Or<ObjectInfo>>> answered = result.get_future();
  PublishAssemblyAsync(who, upload, parts, std::string(bucket), std::string(key), std::move(meta),
                       [&result](std::optional<S3Or<ObjectInfo>> published) {
                         result.set_value(std::move(published));
                       });
  return answered.get();
}

void ObjectStore::ListPartsAsync(const Identity& who, const UploadInfo& upload,
                                 Done<std::vector<PartInfo>> done) {
  ReadDirectoryAsync(
      who, upload.dir, 512,
      [this, who, done = std::move(done)](absl::StatusOr<std::vector<DirEntry>> entries) mutable {
        if (!entries.ok()) return std::move(done)(FromStatus(entries.status(), NoSuchUpload()));
        auto parts = std::make_shared<std::vector<PartInfo>>();
        InodeNumber assembly = 0;
        std::vector<InodeNumber> wanted;
        for (const DirEntry& e : *entries) {
          if (e.name == kAssembly) assembly = e.inode;
          absl::string_view name = e.name;
          int number = 0;
          if (!absl::ConsumePrefix(&name, "part-") || !absl::SimpleAtoi(name, &number)) continue;
          PartInfo part;
          part.number = number;
          part.inode = e.inode;
          part.data_inode = e.inode;
          if (e.attributes.has_value()) part.attributes = *e.attributes;
          parts->push_back(std::move(part));
          wanted.push_back(e.inode);
        }
        ReadXattrsAsync(
            who, std::move(wanted), kPartXattr,
            [parts, assembly, done = std::move(done)](
                std::map<InodeNumber, absl::StatusOr<std::string>> records) mutable {
              std::vector<PartInfo> out;
              for (PartInfo& part : *parts) {
                auto record = records.find(part.inode);
                if (record == records.end() || !record->second.ok() ||
                    !part.meta.ParseFromString(*record->second)) {
                  continue;
                }
                if (part.meta.in_assembly()) part.data_inode = assembly;
                out.push_back(std::move(part));
              }
              std::sort(out.begin(), out.end(),
                        [](const PartInfo& a, const PartInfo& b) { return a.number < b.number; });
              std::move(done)(std::move(out));
            });
      });
}

S3Or<std::vector<PartInfo>> ObjectStore::ListParts(const Identity& who, const UploadInfo& upload) {
  return Wait<std::vector<PartInfo>>(
      [&](Done<std::vector<PartInfo>> done) { ListPartsAsync(who, upload, std::move(done)); });
}

void ObjectStore::RemoveUploadAsync(const Identity& who, const UploadInfo& upload, Done<Ok> done) {
  ReadDirectoryAsync(
      who, upload.dir, 512,
      [this, who, upload,
       done = std::move(done)](absl::StatusOr<std::vector<DirEntry>> entries) mutable {
        struct Removal {
          std::mutex mu;
          size_t pending = 0;
          Done<Ok> done;
        };
        auto removal = std::make_shared<Removal>();
        removal->done = std::move(done);
        std::string id = upload.upload_id;
        auto remove_dir = [this, who, id](std::shared_ptr<Removal> removal) {
          backend_.RemoveDirectory(
              Ctx(who), uploads_, id, [removal](absl::StatusOr<backend::DirChange> removed) {
                if (!removed.ok()) {
                  return std::move(removal->done)(FromStatus(removed.status(), NoSuchUpload()));
                }
                std::move(removal->done)(Ok{});
              });
        };
        if (!entries.ok() || entries->empty()) return remove_dir(removal);
        removal->pending = entries->size();
        for (const DirEntry& e : *entries) {  // the files go concurrently
          backend_.Unlink(Ctx(who), upload.dir, e.name,
                          [removal, remove_dir](absl::StatusOr<backend::DirChange>) {
                            {
                              std::lock_guard<std::mutex> lock(removal->mu);
                              if (--removal->pending != 0) return;
                            }
                            remove_dir(removal);
                          });
        }
      });
}

S3Or<Ok> ObjectStore::RemoveUpload(const Identity& who, const UploadInfo& upload) {
  return Wait<Ok>([&](Done<Ok> done) { RemoveUploadAsync(who, upload, std::move(done)); });
}

void ObjectStore::ListUploadsAsync(const Identity& who, std::string bucket,
                                   Done<std::vector<UploadInfo>> done) {
  ReadDirectoryAsync(
      who, uploads_, 512,
      [this, who, bucket = std::move(bucket),
       done = std::move(done)](absl::StatusOr<std::vector<DirEntry>> entries) mutable {
        if (!entries.ok()) return std::move(done)(FromStatus(entries.status(), NoSuchBucket()));
        auto names = std::make_shared<std::map<InodeNumber, std::string>>();
        std::vector<InodeNumber> wanted;
        for (const DirEntry& e : *entries) {
          (*names)[e.inode] = e.name;
          wanted.push_back(e.inode);
        }
        ReadXattrsAsync(
            who, std::move(wanted), kUploadXattr,
            [names, bucket = std::move(bucket), done = std::move(done)](
                std::map<InodeNumber, absl::StatusOr<std::string>> records) mutable {
              std::vector<UploadInfo> out;
              for (const auto& [inode, record] : records) {
                if (!record.ok()) continue;  // another user's upload, or half made
                UploadInfo info;
                info.upload_id = (*names)[inode];
                info.dir = inode;
                if (!info.meta.ParseFromString(*record) || info.meta.bucket() != bucket) continue;
                out.push_back(std::move(info));
              }
              std::sort(out.begin(), out.end(), [](const UploadInfo& a, const UploadInfo& b) {
                return std::tie(a.meta.key(), a.upload_id) < std::tie(b.meta.key(), b.upload_id);
              });
              std::move(done)(std::move(out));
            });
      });
}

S3Or<std::vector<UploadInfo>> ObjectStore::ListUploads(const Identity& who,
                                                       absl::string_view bucket) {
  return Wait<std::vector<UploadInfo>>([&](Done<std::vector<UploadInfo>> done) {
    ListUploadsAsync(who, std::string(bucket), std::move(done));
  });
}

}  // namespace cfs::s3
