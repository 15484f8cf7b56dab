// ObjectStore's write path, asynchronous: a staging file is made, the body is appended to it as
// it arrives, and Publish makes it stable (commit, then the metadata xattr) and renames it into
// place, making the key's parent directories on the way. Each step is a backend call whose
// callback starts the next; no thread waits. The synchronous methods of the same name wait for
// these (for the operations not yet asynchronous).
#include <utility>

#include "lib/backend/errors.h"
#include "lib/protocols/s3/digests.h"
#include "lib/protocols/s3/object_store.h"
#include "lib/protocols/s3/object_store_helpers.h"

namespace cfs::s3 {

using backend::Attributes;
using backend::FileType;
using backend::FsError;
using backend::Identity;
using backend::InodeNumber;
using internal::IsFsError;
using internal::KeyConflict;
using internal::RandomHex;
using internal::Stamp;
using internal::Wait;

// ---- StagedObject ----

StagedObject::StagedObject(ObjectStore* store, Identity identity, InodeNumber dir, std::string name,
                           InodeNumber inode)
    : store_(store),
      identity_(std::move(identity)),
      dir_(dir),
      name_(std::move(name)),
      inode_(inode) {}

StagedObject::~StagedObject() {
  if (on_destroy_) on_destroy_();
  // Never waits: the last holder may let go in a backend callback.
  if (!done_ && owned_) {
    store_->backend_.Unlink(store_->Ctx(identity_), dir_, name_,
                            [](absl::StatusOr<backend::DirChange>) {});
  }
}

void StagedObject::AppendAsync(Buffer data, absl::AnyInvocable<void(S3Or<Ok>) &&> done) {
  if (data.empty()) return std::move(done)(Ok{});
  if (data.size() > limit_ - size_) {
    return std::move(done)(
        S3Error::Make(400, "IncompleteBody", "The body is longer than the length it declared"));
  }
  uint64_t offset = base_offset_ + size_;
  size_ += data.size();  // appends come one at a time; a failed one fails the whole object
  store_->backend_.Write(store_->Ctx(identity_), inode_, offset, std::move(data),
                         backend::Stability::kUnstable,
                         [done = std::move(done)](absl::StatusOr<backend::WriteResult> w) mutable {
                           if (!w.ok()) return std::move(done)(FromStatus(w.status(), NoSuchKey()));
                           std::move(done)(Ok{});
                         });
}

S3Or<Ok> StagedObject::Append(Buffer data) {
  return Wait<Ok>(
      [&](ObjectStore::Done<Ok> done) { AppendAsync(std::move(data), std::move(done)); });
}

// ---- Staging and publishing ----

void ObjectStore::StageAsync(const Identity& who, uint32_t mode,
                             Done<std::unique_ptr<StagedObject>> done) {
  backend::CreateRequest request;
  request.parent = tmp_;
  request.name = RandomHex(16);
  request.how = backend::CreateMode::kGuarded;
  request.attributes.mode = mode;
  std::string name = request.name;
  backend_.Create(Ctx(who), request,
                  [this, who, name = std::move(name),
                   done = std::move(done)](absl::StatusOr<backend::EntryResult> made) mutable {
                    if (!made.ok()) {
                      return std::move(done)(FromStatus(made.status(), NoSuchBucket()));
                    }
                    std::move(done)(std::unique_ptr<StagedObject>(new StagedObject(
                        this, who, tmp_, std::move(name), made->attributes.inode)));
                  });
}

S3Or<std::unique_ptr<StagedObject>> ObjectStore::Stage(const Identity& who, uint32_t mode) {
  return Wait<std::unique_ptr<StagedObject>>(
      [&](Done<std::unique_ptr<StagedObject>> done) { StageAsync(who, mode, std::move(done)); });
}

struct ObjectStore::PublishState {
  Identity who;
  std::unique_ptr<StagedObject> staged;
  std::string key;
  ObjectMeta meta;
  InodeNumber bucket_dir = 0;
  std::vector<std::string> parents;  // the key's directories below the bucket
  std::string name;                  // the key's last segment
  int attempts = 0;
  Done<ObjectInfo> done;
};

void ObjectStore::PublishAsync(const Identity& who, std::unique_ptr<StagedObject> staged,
                               std::string bucket, std::string key, ObjectMeta meta,
                               Done<ObjectInfo> done) {
  auto publish = std::make_shared<PublishState>();
  publish->who = who;
  publish->staged = std::move(staged);
  publish->key = std::move(key);
  publish->meta = std::move(meta);
  publish->done = std::move(done);
  BucketInodeAsync(who, bucket, [this, publish](S3Or<InodeNumber> dir) {
    if (!dir.ok()) return std::move(publish->done)(dir.error());
    S3Or<std::vector<std::string>> path = KeyToPath(publish->key, /*allow_trailing_slash=*/false);
    if (!path.ok()) return std::move(publish->done)(path.error());
    publish->bucket_dir = *dir;
    publish->name = path->back();
    publish->parents.assign(path->begin(), path->end() - 1);
    // Stable before the answer: data and size (Commit), then the metadata, then the rename.
    InodeNumber inode = publish->staged->inode();
    backend_.Commit(
        Ctx(publish->who), inode, 0, 0,
        [this, publish, inode](absl::StatusOr<backend::CommitResult> committed) {
          if (!committed.ok()) {
            return std::move(publish->done)(FromStatus(committed.status(), NoSuchKey()));
          }
          Stamp(&publish->meta, committed->attributes.after);
          backend_.SetXattr(
              Ctx(publish->who), inode, kMetaXattr, publish->meta.SerializeAsString(),
              backend::XattrSetMode::kCreateOrReplace,
              [this, publish](absl::StatusOr<backend::Done> stored) {
                if (!stored.ok()) {
                  return std::move(publish->done)(FromStatus(stored.status(), NoSuchKey()));
                }
                PublishRename(publish);
              });
        });
  });
}

void ObjectStore::PublishRename(std::shared_ptr<PublishState> publish) {
  WalkAsync(
      publish->who, publish->bucket_dir, publish->parents, /*create=*/true,
      [this, publish](S3Or<Attributes> parent) {
        if (!parent.ok()) return std::move(publish->done)(parent.error());
        InodeNumber parent_dir = parent->inode;
        StagedObject& staged = *publish->staged;
        backend_.Rename(
            Ctx(publish->who), staged.dir_, staged.name_, parent_dir, publish->name,
            [this, publish, parent_dir](absl::StatusOr<backend::RenameResult> renamed) {
              if (!renamed.ok()) {
                const absl::Status& status = renamed.status();
                // A DELETE may prune a parent meanwhile: make it again (three tries).
                if ((IsFsError(status, FsError::kNoEntry) || IsFsError(status, FsError::kStale)) &&
                    ++publish->attempts < 3) {
                  return PublishRename(publish);
                }
                if (IsFsError(status, FsError::kIsDirectory) ||
                    IsFsError(status, FsError::kExists) || IsFsError(status, FsError::kNotEmpty) ||
                    IsFsError(status, FsError::kNotDirectory)) {
                  return std::move(publish->done)(KeyConflict());
                }
                return std::move(publish->done)(FromStatus(status, NoSuchKey()));
              }
              publish->staged->done_ = true;
              backend_.Lookup(
                  Ctx(publish->who), parent_dir, publish->name,
                  [publish](absl::StatusOr<Attributes> a) {
                    if (!a.ok()) {
                      return std::move(publish->done)(FromStatus(a.status(), NoSuchKey()));
                    }
                    std::move(publish->done)(
                        ObjectInfo{std::move(publish->key), *a, std::move(publish->meta)});
                  });
            });
      });
}

S3Or<ObjectInfo> ObjectStore::Publish(const Identity& who, std::unique_ptr<StagedObject> staged,
                                      absl::string_view bucket, absl::string_view key,
                                      ObjectMeta meta) {
  return Wait<ObjectInfo>([&](Done<ObjectInfo> done) {
    PublishAsync(who, std::move(staged), std::string(bucket), std::string(key), std::move(meta),
                 std::move(done));
  });
}

void ObjectStore::PutFolderAsync(const Identity& who, std::string bucket, std::string key,
                                 ObjectMeta meta, Done<ObjectInfo> done) {
  BucketInodeAsync(
      who, bucket,
      [this, who, key = std::move(key), meta = std::move(meta),
       done = std::move(done)](S3Or<InodeNumber> dir) mutable {
        if (!dir.ok()) return std::move(done)(dir.error());
        S3Or<std::vector<std::string>> path = KeyToPath(key, /*allow_trailing_slash=*/true);
        if (!path.ok()) return std::move(done)(path.error());
        WalkAsync(who, *dir, *std::move(path), /*create=*/true,
                  [this, who, key = std::move(key), meta = std::move(meta),
                   done = std::move(done)](S3Or<Attributes> a) mutable {
                    if (!a.ok()) return std::move(done)(a.error());
                    if (a->type != FileType::kDirectory) return std::move(done)(KeyConflict());
                    meta.set_etag(HexEncode(DigestOf(DigestKind::kMd5, "")));
                    Attributes attributes = *a;
                    attributes.size = 0;
                    std::string serialized = meta.SerializeAsString();
                    backend_.SetXattr(
                        Ctx(who), a->inode, kMetaXattr, serialized,
                        backend::XattrSetMode::kCreateOrReplace,
                        [key = std::move(key), meta = std::move(meta), attributes,
                         done = std::move(done)](absl::StatusOr<backend::Done> stored) mutable {
                          if (!stored.ok()) {
                            return std::move(done)(FromStatus(stored.status(), NoSuchKey()));
                          }
                          std::move(done)(ObjectInfo{std::move(key), attributes, std::move(meta)});
                        });
                  });
      });
}

S3Or<ObjectInfo> ObjectStore::PutFolder(const Identity& who, absl::string_view bucket,
                                        absl::string_view key, ObjectMeta meta) {
  return Wait<ObjectInfo>([&](Done<ObjectInfo> done) {
    PutFolderAsync(who, std::string(bucket), std::string(key), std::move(meta), std::move(done));
  });
}

}  // namespace cfs::s3
