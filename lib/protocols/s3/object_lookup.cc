// ObjectStore's read path, asynchronous: finding a bucket and a key (a walk of lookups), an
// object's metadata (its ETag recomputed when the file changed outside S3) and its bytes. Each
// step is a backend call whose callback starts the next; no thread waits. The synchronous
// methods of the same name wait for these (for the operations not yet asynchronous).
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
using internal::kReadPiece;
using internal::Stamp;
using internal::StampMatches;
using internal::Wait;

backend::RequestContext ObjectStore::Ctx(const Identity& who) const {
  return backend::RequestContext::WithTimeout(who, absl::Minutes(2));
}

// ---- Buckets ----

void ObjectStore::BucketInodeAsync(const Identity& who, absl::string_view bucket,
                                   Done<InodeNumber> done) {
  if (!IsValidBucketName(bucket)) return std::move(done)(NoSuchBucket());
  backend_.Lookup(Ctx(who), root_, bucket,
                  [done = std::move(done)](absl::StatusOr<Attributes> a) mutable {
                    if (!a.ok()) return std::move(done)(FromStatus(a.status(), NoSuchBucket()));
                    if (a->type != FileType::kDirectory) return std::move(done)(NoSuchBucket());
                    std::move(done)(a->inode);
                  });
}

S3Or<InodeNumber> ObjectStore::BucketInode(const Identity& who, absl::string_view bucket) {
  return Wait<InodeNumber>(
      [&](Done<InodeNumber> done) { BucketInodeAsync(who, bucket, std::move(done)); });
}

void ObjectStore::HeadBucketAsync(const Identity& who, std::string bucket, Done<BucketInfo> done) {
  BucketInodeAsync(
      who, bucket, [this, who, bucket, done = std::move(done)](S3Or<InodeNumber> inode) mutable {
        if (!inode.ok()) return std::move(done)(inode.error());
        backend_.GetAttr(Ctx(who), *inode,
                         [bucket = std::move(bucket),
                          done = std::move(done)](absl::StatusOr<Attributes> a) mutable {
                           if (!a.ok()) {
                             return std::move(done)(FromStatus(a.status(), NoSuchBucket()));
                           }
                           std::move(done)(BucketInfo{std::move(bucket), *a});
                         });
      });
}

S3Or<BucketInfo> ObjectStore::HeadBucket(const Identity& who, absl::string_view bucket) {
  return Wait<BucketInfo>(
      [&](Done<BucketInfo> done) { HeadBucketAsync(who, std::string(bucket), std::move(done)); });
}

// ---- Walking a key's path ----

struct ObjectStore::WalkState {
  Identity who;
  std::vector<std::string> segments;
  size_t next = 0;  // the segment looked up next
  bool create = false;
  uint32_t mode = 0;  // of directories made on the way (the bucket's PrefixMode)
  Attributes current;
  Done<Attributes> done;
};

void ObjectStore::WalkAsync(const Identity& who, InodeNumber dir, std::vector<std::string> segments,
                            bool create, Done<Attributes> done) {
  auto walk = std::make_shared<WalkState>();
  walk->who = who;
  walk->segments = std::move(segments);
  walk->create = create;
  walk->done = std::move(done);
  backend_.GetAttr(Ctx(who), dir, [this, walk](absl::StatusOr<Attributes> a) {
    if (!a.ok()) return std::move(walk->done)(FromStatus(a.status(), NoSuchBucket()));
    walk->mode = PrefixMode(*a);
    walk->current = *a;
    WalkStep(walk);
  });
}

// One segment: look it up (making it when creating), then the next. Recursion happens only as
// deep as the key has segments, even when the backend answers inline.
void ObjectStore::WalkStep(std::shared_ptr<WalkState> walk) {
  if (walk->next == walk->segments.size()) return std::move(walk->done)(walk->current);
  if (walk->current.type != FileType::kDirectory) {
    return std::move(walk->done)(walk->create ? KeyConflict() : NoSuchKey());
  }
  InodeNumber parent = walk->current.inode;
  const std::string& segment = walk->segments[walk->next];
  auto advance = [this, walk](absl::StatusOr<Attributes> next) {
    if (!next.ok()) return std::move(walk->done)(FromStatus(next.status(), NoSuchKey()));
    walk->current = *next;
    ++walk->next;
    WalkStep(walk);
  };
  backend_.Lookup(
      Ctx(walk->who), parent, segment,
      [this, walk, parent, advance](absl::StatusOr<Attributes> next) mutable {
        if (next.ok() || !walk->create || !IsFsError(next.status(), FsError::kNoEntry)) {
          return advance(std::move(next));
        }
        const std::string& segment = walk->segments[walk->next];
        backend::SetAttributes attrs;
        attrs.mode = walk->mode;
        backend_.MakeDirectory(
            Ctx(walk->who), parent, segment, attrs,
            [this, walk, parent, advance](absl::StatusOr<backend::EntryResult> made) mutable {
              if (made.ok()) return advance(made->attributes);
              // Made meanwhile by another request: look again.
              backend_.Lookup(Ctx(walk->who), parent, walk->segments[walk->next],
                              std::move(advance));
            });
      });
}

S3Or<Attributes> ObjectStore::Walk(const Identity& who, InodeNumber dir,
                                   const std::vector<std::string>& segments, bool create) {
  return Wait<Attributes>(
      [&](Done<Attributes> done) { WalkAsync(who, dir, segments, create, std::move(done)); });
}

// ---- Metadata ----

struct ObjectStore::DigestState {
  Identity who;
  Attributes attributes;
  ObjectMeta meta;  // as stored: kept when the file cannot be read
  Digest md5{DigestKind::kMd5};
  uint64_t offset = 0;
  absl::AnyInvocable<void(ObjectMeta) &&> done;
};

void ObjectStore::CurrentMetaAsync(const Identity& who, const Attributes& attributes,
                                   std::optional<absl::StatusOr<std::string>> prefetched,
                                   absl::AnyInvocable<void(ObjectMeta) &&> done) {
  auto digest = std::make_shared<DigestState>();
  digest->who = who;
  digest->attributes = attributes;
  digest->done = std::move(done);
  auto with_stored = [this, digest](absl::StatusOr<std::string> stored) {
    if (stored.ok()) digest->meta = ParseObjectMeta(*stored);
    if (StampMatches(digest->meta, digest->attributes)) {
      return std::move(digest->done)(std::move(digest->meta));
    }
    // Written outside S3 (or never through it): the ETag is the MD5 of the bytes.
    DigestStep(digest);
  };
  if (prefetched.has_value()) return with_stored(*std::move(prefetched));
  backend_.GetXattr(Ctx(who), attributes.inode, kMetaXattr, std::move(with_stored));
}

void ObjectStore::DigestStep(std::shared_ptr<DigestState> digest) {
  const Attributes& a = digest->attributes;
  if (a.type == FileType::kRegular && digest->offset < a.size) {
    backend_.Read(Ctx(digest->who), a.inode, digest->offset, kReadPiece,
                  [this, digest](absl::StatusOr<backend::ReadResult> piece) {
                    // Unreadable: keep what was stored, never a made-up ETag.
                    if (!piece.ok()) return std::move(digest->done)(std::move(digest->meta));
                    digest->md5.Update(piece->data);
                    digest->offset += piece->data.size();
                    if (piece->eof || piece->data.empty()) digest->offset = UINT64_MAX;
                    DigestStep(digest);
                  });
    return;
  }
  ObjectMeta& meta = digest->meta;
  meta.set_etag(HexEncode(digest->md5.Final()));
  meta.set_parts(0);
  Stamp(&meta, a);
  // Best effort: a caller without write permission just computes it again next time.
  backend_.SetXattr(Ctx(digest->who), a.inode, kMetaXattr, meta.SerializeAsString(),
                    backend::XattrSetMode::kCreateOrReplace,
                    [digest](absl::StatusOr<backend::Done>) {
                      std::move(digest->done)(std::move(digest->meta));
                    });
}

ObjectMeta ObjectStore::CurrentMeta(const Identity& who, const Attributes& attributes,
                                    const absl::StatusOr<std::string>* prefetched) {
  S3Or<ObjectMeta> meta = Wait<ObjectMeta>([&](Done<ObjectMeta> done) {
    std::optional<absl::StatusOr<std::string>> stored;
    if (prefetched != nullptr) stored = *prefetched;
    CurrentMetaAsync(who, attributes, std::move(stored),
                     [done = std::move(done)](ObjectMeta m) mutable { std::move(done)(m); });
  });
  return *std::move(meta);
}

// ---- Objects ----

void ObjectStore::HeadAsync(const Identity& who, std::string bucket, std::string key,
                            Done<ObjectInfo> done) {
  BucketInodeAsync(
      who, bucket,
      [this, who, key = std::move(key), done = std::move(done)](S3Or<InodeNumber> dir) mutable {
        if (!dir.ok()) return std::move(done)(dir.error());
        S3Or<std::vector<std::string>> path = KeyToPath(key, /*allow_trailing_slash=*/true);
        if (!path.ok()) return std::move(done)(NoSuchKey());
        WalkAsync(
            who, *dir, *std::move(path), /*create=*/false,
            [this, who, key = std::move(key), done = std::move(done)](S3Or<Attributes> a) mutable {
              if (!a.ok()) return std::move(done)(a.error());
              if (key.back() == '/') {  // a folder object
                if (a->type != FileType::kDirectory) return std::move(done)(NoSuchKey());
                Attributes attributes = *a;
                attributes.size = 0;
                backend_.GetXattr(Ctx(who), a->inode, kMetaXattr,
                                  [key = std::move(key), attributes, done = std::move(done)](
                                      absl::StatusOr<std::string> stored) mutable {
                                    if (!stored.ok())
                                      return std::move(done)(NoSuchKey());  // a prefix
                                    std::move(done)(ObjectInfo{std::move(key), attributes,
                                                               ParseObjectMeta(*stored)});
                                  });
                return;
              }
              if (a->type != FileType::kRegular) return std::move(done)(NoSuchKey());
              // Finding a file needs only search permission on its directories; an object's
              // data, ETag and metadata are for those who may read it (HEAD included, as on S3).
              Attributes attributes = *a;
              backend_.Access(
                  Ctx(who), attributes.inode, backend::kAccessRead,
                  [this, who, key = std::move(key), attributes,
                   done = std::move(done)](absl::StatusOr<uint32_t> granted) mutable {
                    if (!granted.ok()) {
                      return std::move(done)(FromStatus(granted.status(), NoSuchKey()));
                    }
                    if ((*granted & backend::kAccessRead) == 0) {
                      return std::move(done)(AccessDenied());
                    }
                    CurrentMetaAsync(
                        who, attributes, std::nullopt,
                        [key = std::move(key), attributes,
                         done = std::move(done)](ObjectMeta meta) mutable {
                          std::move(done)(ObjectInfo{std::move(key), attributes, std::move(meta)});
                        });
                  });
            });
      });
}

S3Or<ObjectInfo> ObjectStore::Head(const Identity& who, absl::string_view bucket,
                                   absl::string_view key) {
  return Wait<ObjectInfo>([&](Done<ObjectInfo> done) {
    HeadAsync(who, std::string(bucket), std::string(key), std::move(done));
  });
}

void ObjectStore::ReadAsync(const Identity& who, InodeNumber inode, uint64_t offset, uint64_t count,
                            Done<std::string> done) {
  backend_.Read(Ctx(who), inode, offset, count,
                [done = std::move(done)](absl::StatusOr<backend::ReadResult> r) mutable {
                  if (!r.ok()) return std::move(done)(FromStatus(r.status(), NoSuchKey()));
                  std::move(done)(std::move(r->data));
                });
}

S3Or<std::string> ObjectStore::Read(const Identity& who, InodeNumber inode, uint64_t offset,
                                    uint64_t count) {
  return Wait<std::string>(
      [&](Done<std::string> done) { ReadAsync(who, inode, offset, count, std::move(done)); });
}

}  // namespace cfs::s3
