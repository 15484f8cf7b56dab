// SyncBackend: blocking calls over any backend::Backend, for protocol handlers that run on
// worker threads in blocking style (S3), tests, crash drivers and benchmarks. Borrows the backend;
// every call carries one RequestContext. Thread-safe as the backend is.
//
// Example:
//   SyncBackend fs(*backend, RequestContext{Identity::Root()});
//   absl::StatusOr<EntryResult> dir = fs.Mkdir(kRootInode, "docs");

#ifndef CFS_LIB_BACKEND_SYNC_BACKEND_H_
#define CFS_LIB_BACKEND_SYNC_BACKEND_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_split.h"
#include "lib/backend/await.h"
#include "lib/backend/backend.h"
#include "lib/backend/errors.h"

namespace cfs::backend {

class SyncBackend {
 public:
  using InodeNumber = backend::InodeNumber;
  template <typename T>
  using Result = absl::StatusOr<T>;
  template <typename T>
  using Cb = backend::Callback<T>;

  SyncBackend(backend::Backend& backend, backend::RequestContext ctx)
      : b_(backend), ctx_(std::move(ctx)) {}

  // What the calls go to, for a blocking caller that waits on an asynchronous helper.
  backend::Backend& backend() const { return b_; }
  const backend::RequestContext& context() const { return ctx_; }

  // The same backend as another caller.
  SyncBackend As(backend::Identity who) const {
    backend::RequestContext ctx = ctx_;
    ctx.identity = std::move(who);
    return SyncBackend(b_, ctx);
  }

  Result<backend::Attributes> Lookup(InodeNumber dir, const std::string& name) {
    return backend::Await<backend::Attributes>(
        [&](Cb<backend::Attributes> d) { b_.Lookup(ctx_, dir, name, std::move(d)); });
  }
  Result<backend::Attributes> GetAttr(InodeNumber inode) {
    return backend::Await<backend::Attributes>(
        [&](Cb<backend::Attributes> d) { b_.GetAttr(ctx_, inode, std::move(d)); });
  }
  Result<backend::AttrChange> SetAttr(InodeNumber inode, const backend::SetAttributes& attrs) {
    return backend::Await<backend::AttrChange>(
        [&](Cb<backend::AttrChange> d) { b_.SetAttr(ctx_, inode, attrs, std::move(d)); });
  }
  Result<uint32_t> Access(InodeNumber inode, uint32_t requested) {
    return backend::Await<uint32_t>(
        [&](Cb<uint32_t> d) { b_.Access(ctx_, inode, requested, std::move(d)); });
  }
  Result<backend::EntryResult> Create(InodeNumber dir, const std::string& name,
                                      backend::CreateMode how = backend::CreateMode::kGuarded,
                                      uint64_t verifier = 0, uint32_t mode = 0644) {
    backend::CreateRequest request;
    request.parent = dir;
    request.name = name;
    request.how = how;
    request.verifier = verifier;
    request.attributes.mode = mode;
    return backend::Await<backend::EntryResult>(
        [&](Cb<backend::EntryResult> d) { b_.Create(ctx_, request, std::move(d)); });
  }
  Result<backend::EntryResult> Mkdir(InodeNumber dir, const std::string& name,
                                     uint32_t mode = 0755) {
    backend::SetAttributes attrs;
    attrs.mode = mode;
    return backend::Await<backend::EntryResult>([&](Cb<backend::EntryResult> d) {
      b_.MakeDirectory(ctx_, dir, name, attrs, std::move(d));
    });
  }
  Result<backend::EntryResult> Symlink(InodeNumber dir, const std::string& name,
                                       const std::string& target) {
    return backend::Await<backend::EntryResult>([&](Cb<backend::EntryResult> d) {
      b_.MakeSymlink(ctx_, dir, name, target, {}, std::move(d));
    });
  }
  Result<backend::EntryResult> MakeNode(InodeNumber dir, const std::string& name,
                                        backend::FileType type) {
    return backend::Await<backend::EntryResult>([&](Cb<backend::EntryResult> d) {
      b_.MakeNode(ctx_, dir, name, type, 0, 0, {}, std::move(d));
    });
  }
  Result<std::string> ReadLink(InodeNumber inode) {
    return backend::Await<std::string>(
        [&](Cb<std::string> d) { b_.ReadLink(ctx_, inode, std::move(d)); });
  }
  Result<backend::EntryResult> Link(InodeNumber inode, InodeNumber dir, const std::string& name) {
    return backend::Await<backend::EntryResult>(
        [&](Cb<backend::EntryResult> d) { b_.Link(ctx_, inode, dir, name, std::move(d)); });
  }
  Result<backend::DirChange> Unlink(InodeNumber dir, const std::string& name) {
    return backend::Await<backend::DirChange>(
        [&](Cb<backend::DirChange> d) { b_.Unlink(ctx_, dir, name, std::move(d)); });
  }
  Result<backend::DirChange> Rmdir(InodeNumber dir, const std::string& name) {
    return backend::Await<backend::DirChange>(
        [&](Cb<backend::DirChange> d) { b_.RemoveDirectory(ctx_, dir, name, std::move(d)); });
  }
  Result<backend::RenameResult> Rename(InodeNumber from_dir, const std::string& from,
                                       InodeNumber to_dir, const std::string& to) {
    return backend::Await<backend::RenameResult>([&](Cb<backend::RenameResult> d) {
      b_.Rename(ctx_, from_dir, from, to_dir, to, std::move(d));
    });
  }
  Result<backend::ReadDirResult> ReadDir(InodeNumber dir, uint64_t cookie, uint64_t verifier,
                                         size_t max_entries, bool with_attributes = false) {
    return backend::Await<backend::ReadDirResult>([&](Cb<backend::ReadDirResult> d) {
      b_.ReadDir(ctx_, dir, cookie, verifier, max_entries, with_attributes, std::move(d));
    });
  }
  // Every entry name of `dir`, read in pages of `page` entries.
  Result<std::vector<std::string>> ListNames(InodeNumber dir, size_t page = 100) {
    std::vector<std::string> names;
    uint64_t cookie = 0;
    uint64_t verifier = 0;
    while (true) {
      Result<backend::ReadDirResult> r = ReadDir(dir, cookie, verifier, page);
      if (!r.ok()) return r.status();
      for (const backend::DirEntry& e : r->entries) {
        names.push_back(e.name);
        cookie = e.cookie;
      }
      verifier = r->cookie_verifier;
      if (r->eof) return names;
    }
  }
  // The directory a '/'-separated path names, walked from the namespace root (exports' paths).
  // Errors: Lookup's (kNotFound, ...), and FsError::kNotDirectory when a component is not a
  // directory.
  Result<backend::Attributes> ResolveDirectory(absl::string_view path) {
    Result<backend::Attributes> at = GetAttr(backend::kRootInode);
    for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
      if (!at.ok()) break;
      at = Lookup(at->inode, std::string(part));
    }
    if (at.ok() && at->type != backend::FileType::kDirectory) {
      return backend::FsErrorStatus(backend::FsError::kNotDirectory, "not a directory");
    }
    return at;
  }
  Result<backend::FsStatResult> FsStat(InodeNumber inode) {
    return backend::Await<backend::FsStatResult>(
        [&](Cb<backend::FsStatResult> d) { b_.FsStat(ctx_, inode, std::move(d)); });
  }
  Result<std::string> GetXattr(InodeNumber inode, const std::string& name) {
    return backend::Await<std::string>(
        [&](Cb<std::string> d) { b_.GetXattr(ctx_, inode, name, std::move(d)); });
  }
  Result<backend::Done> SetXattr(
      InodeNumber inode, const std::string& name, const std::string& value,
      backend::XattrSetMode mode = backend::XattrSetMode::kCreateOrReplace) {
    return backend::Await<backend::Done>(
        [&](Cb<backend::Done> d) { b_.SetXattr(ctx_, inode, name, value, mode, std::move(d)); });
  }
  Result<std::vector<std::string>> ListXattrs(InodeNumber inode) {
    return backend::Await<std::vector<std::string>>(
        [&](Cb<std::vector<std::string>> d) { b_.ListXattrs(ctx_, inode, std::move(d)); });
  }
  Result<backend::Done> RemoveXattr(InodeNumber inode, const std::string& name) {
    return backend::Await<backend::Done>(
        [&](Cb<backend::Done> d) { b_.RemoveXattr(ctx_, inode, name, std::move(d)); });
  }
  Result<std::vector<backend::Extent>> ExtentMap(InodeNumber inode, uint64_t offset,
                                                 uint64_t length) {
    return backend::Await<std::vector<backend::Extent>>([&](Cb<std::vector<backend::Extent>> d) {
      b_.GetExtentMap(ctx_, inode, offset, length, std::move(d));
    });
  }
  Result<backend::Done> Open(InodeNumber inode) {
    return backend::Await<backend::Done>(
        [&](Cb<backend::Done> d) { b_.Open(ctx_, inode, std::move(d)); });
  }
  Result<backend::Done> Release(InodeNumber inode) {
    return backend::Await<backend::Done>(
        [&](Cb<backend::Done> d) { b_.Release(ctx_, inode, std::move(d)); });
  }
  Result<backend::ReadResult> Read(InodeNumber inode, uint64_t offset, uint64_t count) {
    return backend::Await<backend::ReadResult>(
        [&](Cb<backend::ReadResult> d) { b_.Read(ctx_, inode, offset, count, std::move(d)); });
  }
  Result<backend::WriteResult> Write(InodeNumber inode, uint64_t offset, Buffer data,
                                     backend::Stability stability = backend::Stability::kFileSync) {
    return backend::Await<backend::WriteResult>([&](Cb<backend::WriteResult> d) {
      b_.Write(ctx_, inode, offset, std::move(data), stability, std::move(d));
    });
  }
  // As Write, with a copy of `data` (tests and tools).
  Result<backend::WriteResult> Write(InodeNumber inode, uint64_t offset, absl::string_view data,
                                     backend::Stability stability = backend::Stability::kFileSync) {
    return Write(inode, offset, Buffer::CopyOf(data), stability);
  }
  Result<backend::CommitResult> Commit(InodeNumber inode) {
    return backend::Await<backend::CommitResult>(
        [&](Cb<backend::CommitResult> d) { b_.Commit(ctx_, inode, 0, 0, std::move(d)); });
  }

 private:
  backend::Backend& b_;
  backend::RequestContext ctx_;
};

}  // namespace cfs::backend

#endif  // CFS_LIB_BACKEND_SYNC_BACKEND_H_
