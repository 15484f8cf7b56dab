// ObjectStore's bucket operations and whole-object changes, asynchronous: listing the buckets,
// making and removing one, its canned ACL, deleting an object (and the prefixes it leaves
// empty), replacing an object's metadata. Each step is a backend call whose callback starts the
// next; no thread waits. The synchronous methods of the same name wait for these.
#include <algorithm>
#include <utility>

#include "lib/backend/errors.h"
#include "lib/protocols/s3/object_store.h"
#include "lib/protocols/s3/object_store_helpers.h"

namespace cfs::s3 {

using backend::Attributes;
using backend::DirEntry;
using backend::FileType;
using backend::FsError;
using backend::Identity;
using backend::InodeNumber;
using internal::IsFsError;
using internal::kAclXattr;
using internal::Wait;

// ---- Reading a whole directory ----

struct ObjectStore::DirectoryRead {
  Identity who;
  InodeNumber dir = 0;
  size_t page = 0;
  uint64_t cookie = 0;
  uint64_t verifier = 0;
  std::vector<DirEntry> entries;
  DirectoryDone done;
};

void ObjectStore::ReadDirectoryAsync(const Identity& who, InodeNumber dir, size_t page,
                                     DirectoryDone done) {
  auto read = std::make_shared<DirectoryRead>();
  read->who = who;
  read->dir = dir;
  read->page = page;
  read->done = std::move(done);
  ReadDirectoryStep(std::move(read));
}

// One page, then the next from its callback (pages are few: recursion stays shallow).
void ObjectStore::ReadDirectoryStep(std::shared_ptr<DirectoryRead> read) {
  backend_.ReadDir(Ctx(read->who), read->dir, read->cookie, read->verifier, read->page,
                   /*with_attributes=*/true,
                   [this, read](absl::StatusOr<backend::ReadDirResult> page) {
                     if (!page.ok()) return std::move(read->done)(page.status());
                     for (DirEntry& e : page->entries) {
                       read->cookie = e.cookie;
                       read->entries.push_back(std::move(e));
                     }
                     read->verifier = page->cookie_verifier;
                     if (page->eof || page->entries.empty()) {
                       return std::move(read->done)(std::move(read->entries));
                     }
                     ReadDirectoryStep(read);
                   });
}

// ---- Buckets ----

void ObjectStore::ListBucketsAsync(const Identity& who, Done<std::vector<BucketInfo>> done) {
  ReadDirectoryAsync(
      who, root_, 256,
      [who, done = std::move(done)](absl::StatusOr<std::vector<DirEntry>> entries) mutable {
        if (!entries.ok()) {
          return std::move(done)(FromStatus(entries.status(), NoSuchBucket()));
        }
        std::vector<BucketInfo> out;
        for (const DirEntry& e : *entries) {
          if (e.type != FileType::kDirectory || !IsValidBucketName(e.name)) continue;
          if (!e.attributes.has_value() || e.attributes->uid != who.uid) continue;
          out.push_back({e.name, *e.attributes});
        }
        std::sort(out.begin(), out.end(),
                  [](const BucketInfo& a, const BucketInfo& b) { return a.name < b.name; });
        std::move(done)(std::move(out));
      });
}

S3Or<std::vector<BucketInfo>> ObjectStore::ListBuckets(const Identity& who) {
  return Wait<std::vector<BucketInfo>>(
      [&](Done<std::vector<BucketInfo>> done) { ListBucketsAsync(who, std::move(done)); });
}

void ObjectStore::CreateBucketAsync(const Identity& who, std::string bucket, std::string canned,
                                    Done<Ok> done) {
  if (!IsValidBucketName(bucket)) {
    return std::move(done)(
        S3Error::Make(400, "InvalidBucketName", "The specified bucket is not valid."));
  }
  bool public_read = canned == "public-read";
  backend::SetAttributes attrs;
  attrs.mode = public_read ? 0755 : 0700;
  backend_.MakeDirectory(
      Ctx(who), root_, bucket, attrs,
      [this, who, bucket, canned = std::move(canned), public_read,
       done = std::move(done)](absl::StatusOr<backend::EntryResult> made) mutable {
        if (made.ok()) {
          if (!public_read) return std::move(done)(Ok{});
          backend_.SetXattr(Ctx(Identity::Root()), made->attributes.inode, kAclXattr, canned,
                            backend::XattrSetMode::kCreateOrReplace,
                            [done = std::move(done)](absl::StatusOr<backend::Done> marked) mutable {
                              if (!marked.ok()) {
                                return std::move(done)(FromStatus(marked.status(), NoSuchBucket()));
                              }
                              std::move(done)(Ok{});
                            });
          return;
        }
        if (!IsFsError(made.status(), FsError::kExists)) {
          return std::move(done)(FromStatus(made.status(), NoSuchBucket()));
        }
        backend_.Lookup(
            Ctx(who), root_, bucket,
            [who, done = std::move(done)](absl::StatusOr<Attributes> a) mutable {
              if (a.ok() && a->uid == who.uid) {
                return std::move(done)(
                    S3Error::Make(409, "BucketAlreadyOwnedByYou",
                                  "Your previous request to create the named bucket succeeded "
                                  "and you already own it."));
              }
              std::move(done)(S3Error::Make(409, "BucketAlreadyExists",
                                            "The requested bucket name is not available."));
            });
      });
}

S3Or<Ok> ObjectStore::CreateBucket(const Identity& who, absl::string_view bucket,
                                   absl::string_view canned) {
  return Wait<Ok>([&](Done<Ok> done) {
    CreateBucketAsync(who, std::string(bucket), std::string(canned), std::move(done));
  });
}

void ObjectStore::DeleteBucketAsync(const Identity& who, std::string bucket, Done<Ok> done) {
  BucketInodeAsync(
      who, bucket, [this, who, bucket, done = std::move(done)](S3Or<InodeNumber> inode) mutable {
        if (!inode.ok()) return std::move(done)(inode.error());
        backend_.RemoveDirectory(
            Ctx(who), root_, bucket,
            [done = std::move(done)](absl::StatusOr<backend::DirChange> removed) mutable {
              if (!removed.ok()) {
                return std::move(done)(FromStatus(removed.status(), NoSuchBucket()));
              }
              std::move(done)(Ok{});
            });
      });
}

S3Or<Ok> ObjectStore::DeleteBucket(const Identity& who, absl::string_view bucket) {
  return Wait<Ok>(
      [&](Done<Ok> done) { DeleteBucketAsync(who, std::string(bucket), std::move(done)); });
}

void ObjectStore::GetBucketAclAsync(std::string bucket, Done<std::string> done) {
  BucketInodeAsync(
      Identity::Root(), bucket, [this, done = std::move(done)](S3Or<InodeNumber> inode) mutable {
        if (!inode.ok()) return std::move(done)(inode.error());
        backend_.GetXattr(Ctx(Identity::Root()), *inode, kAclXattr,
                          [done = std::move(done)](absl::StatusOr<std::string> acl) mutable {
                            std::move(done)(acl.ok() ? *acl : std::string("private"));
                          });
      });
}

S3Or<std::string> ObjectStore::GetBucketAcl(absl::string_view bucket) {
  return Wait<std::string>(
      [&](Done<std::string> done) { GetBucketAclAsync(std::string(bucket), std::move(done)); });
}

void ObjectStore::SetBucketAclAsync(const Identity& who, std::string bucket, std::string canned,
                                    Done<Ok> done) {
  HeadBucketAsync(
      who, bucket,
      [this, who, canned = std::move(canned),
       done = std::move(done)](S3Or<BucketInfo> info) mutable {
        if (!info.ok()) return std::move(done)(info.error());
        if (!who.IsRoot() && info->attributes.uid != who.uid) {
          return std::move(done)(AccessDenied("Only the bucket's owner changes its ACL"));
        }
        // The mode is what every protocol enforces: private admits the owner only, public-read
        // everyone to list (objects keep their own modes, as S3 objects keep their own ACLs).
        backend::SetAttributes chmod;
        chmod.mode = (info->attributes.mode & ~0777u) | (canned == "private" ? 0700u : 0755u);
        InodeNumber inode = info->attributes.inode;
        backend_.SetAttr(
            Ctx(who), inode, chmod,
            [this, inode, canned = std::move(canned),
             done = std::move(done)](absl::StatusOr<backend::AttrChange> changed) mutable {
              if (!changed.ok()) {
                return std::move(done)(FromStatus(changed.status(), NoSuchBucket()));
              }
              auto marked = [done = std::move(done)](absl::StatusOr<backend::Done> r) mutable {
                if (!r.ok() && !IsFsError(r.status(), FsError::kNoEntry)) {
                  return std::move(done)(FromStatus(r.status(), NoSuchBucket()));
                }
                std::move(done)(Ok{});
              };
              if (canned == "private") {
                backend_.RemoveXattr(Ctx(Identity::Root()), inode, kAclXattr, std::move(marked));
              } else {
                backend_.SetXattr(Ctx(Identity::Root()), inode, kAclXattr, canned,
                                  backend::XattrSetMode::kCreateOrReplace, std::move(marked));
              }
            });
      });
}

S3Or<Ok> ObjectStore::SetBucketAcl(const Identity& who, absl::string_view bucket,
                                   absl::string_view canned) {
  return Wait<Ok>([&](Done<Ok> done) {
    SetBucketAclAsync(who, std::string(bucket), std::string(canned), std::move(done));
  });
}

// ---- Objects ----

void ObjectStore::UpdateMetaAsync(const Identity& who, InodeNumber inode, const ObjectMeta& meta,
                                  Done<Ok> done) {
  backend_.SetXattr(Ctx(who), inode, kMetaXattr, meta.SerializeAsString(),
                    backend::XattrSetMode::kCreateOrReplace,
                    [done = std::move(done)](absl::StatusOr<backend::Done> stored) mutable {
                      if (!stored.ok()) {
                        return std::move(done)(FromStatus(stored.status(), NoSuchKey()));
                      }
                      std::move(done)(Ok{});
                    });
}

S3Or<Ok> ObjectStore::UpdateMeta(const Identity& who, const ObjectInfo& object,
                                 const ObjectMeta& meta) {
  return Wait<Ok>(
      [&](Done<Ok> done) { UpdateMetaAsync(who, object.attributes.inode, meta, std::move(done)); });
}

struct ObjectStore::DeleteState {
  Identity who;
  std::vector<std::string> path;
  bool folder_key = false;
  std::vector<InodeNumber> chain;  // the bucket, then the key's directories found so far
  size_t prune = 0;                // the directory of `chain` to try removing next
  Done<Ok> done;
};

void ObjectStore::DeleteAsync(const Identity& who, std::string bucket, std::string key,
                              Done<Ok> done) {
  BucketInodeAsync(
      who, bucket,
      [this, who, key = std::move(key), done = std::move(done)](S3Or<InodeNumber> dir) mutable {
        if (!dir.ok()) return std::move(done)(dir.error());
        S3Or<std::vector<std::string>> path = KeyToPath(key, /*allow_trailing_slash=*/true);
        if (!path.ok()) return std::move(done)(Ok{});  // such a key cannot exist
        auto del = std::make_shared<DeleteState>();
        del->who = who;
        del->path = *std::move(path);
        del->folder_key = key.back() == '/';
        del->chain = {*dir};
        del->done = std::move(done);
        DeleteFindParent(std::move(del));
      });
}

// The chain of directories from the bucket down to the key's parent; a missing one means the
// key is gone already.
void ObjectStore::DeleteFindParent(std::shared_ptr<DeleteState> del) {
  if (del->chain.size() < del->path.size()) {
    const std::string& name = del->path[del->chain.size() - 1];
    backend_.Lookup(Ctx(del->who), del->chain.back(), name,
                    [this, del](absl::StatusOr<Attributes> next) {
                      if (!next.ok() || next->type != FileType::kDirectory) {
                        return std::move(del->done)(Ok{});
                      }
                      del->chain.push_back(next->inode);
                      DeleteFindParent(del);
                    });
    return;
  }
  InodeNumber parent = del->chain.back();
  const std::string& name = del->path.back();
  auto then_prune = [this, del]() {
    del->prune = del->chain.size() - 1;
    DeletePrune(del);
  };
  if (del->folder_key) {
    backend_.Lookup(Ctx(del->who), parent, name,
                    [this, del, parent, then_prune](absl::StatusOr<Attributes> folder) {
                      if (!folder.ok() || folder->type != FileType::kDirectory) {
                        return std::move(del->done)(Ok{});
                      }
                      backend_.RemoveXattr(
                          Ctx(del->who), folder->inode, kMetaXattr,
                          [this, del, parent, then_prune](absl::StatusOr<backend::Done>) {
                            // Kept while it holds other keys.
                            backend_.RemoveDirectory(
                                Ctx(del->who), parent, del->path.back(),
                                [then_prune](absl::StatusOr<backend::DirChange>) { then_prune(); });
                          });
                    });
    return;
  }
  backend_.Unlink(Ctx(del->who), parent, name,
                  [del, then_prune](absl::StatusOr<backend::DirChange> removed) {
                    if (!removed.ok() && !IsFsError(removed.status(), FsError::kNoEntry) &&
                        !IsFsError(removed.status(), FsError::kIsDirectory)) {
                      return std::move(del->done)(FromStatus(removed.status(), NoSuchKey()));
                    }
                    then_prune();
                  });
}

// Prefixes vanish with their last key: parents that became empty are removed, but not folder
// objects (they carry metadata) and never the bucket.
void ObjectStore::DeletePrune(std::shared_ptr<DeleteState> del) {
  size_t i = del->prune;
  if (i < 1) return std::move(del->done)(Ok{});
  backend_.GetXattr(
      Ctx(del->who), del->chain[i], kMetaXattr, [this, del, i](absl::StatusOr<std::string> meta) {
        if (meta.ok()) return std::move(del->done)(Ok{});  // a folder object
        backend_.RemoveDirectory(Ctx(del->who), del->chain[i - 1], del->path[i - 1],
                                 [this, del](absl::StatusOr<backend::DirChange> removed) {
                                   if (!removed.ok()) return std::move(del->done)(Ok{});
                                   --del->prune;
                                   DeletePrune(del);
                                 });
      });
}

S3Or<Ok> ObjectStore::Delete(const Identity& who, absl::string_view bucket, absl::string_view key) {
  return Wait<Ok>([&](Done<Ok> done) {
    DeleteAsync(who, std::string(bucket), std::string(key), std::move(done));
  });
}

}  // namespace cfs::s3
