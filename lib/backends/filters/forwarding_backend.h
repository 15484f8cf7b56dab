// ForwardingBackend: a Backend that passes every call to the one it wraps. Filters (attribute
// cache, quota, change feed, reserved names) derive from it and override only what they change, like
// ganesha's stackable FSALs. Owns the wrapped backend. Thread-safe as the wrapped one is.
//
// Example:
//   class CountingFilter : public ForwardingBackend {
//     using ForwardingBackend::ForwardingBackend;
//     void GetAttr(...) override { ++calls_; ForwardingBackend::GetAttr(...); }
//   };

#ifndef CFS_LIB_BACKENDS_FILTERS_FORWARDING_BACKEND_H_
#define CFS_LIB_BACKENDS_FILTERS_FORWARDING_BACKEND_H_

#include <string>
#include <utility>
#include <vector>

#include "lib/backend/backend.h"

namespace cfs::filters {

class ForwardingBackend : public backend::Backend {
 public:
  explicit ForwardingBackend(backend::BackendPtr next) : next_(std::move(next)) {}

  backend::Backend& next() { return *next_; }

  std::string Describe() const override { return next_->Describe(); }
  absl::Status Health() const override { return next_->Health(); }
  absl::Status Shutdown(absl::Time deadline) override { return next_->Shutdown(deadline); }
  backend::WriteVerifier CurrentWriteVerifier() const override {
    return next_->CurrentWriteVerifier();
  }

  using Ctx = backend::RequestContext;
  using Ino = backend::InodeNumber;
  template <typename T>
  using Cb = backend::Callback<T>;

  void Lookup(const Ctx& c, Ino dir, absl::string_view name,
              Cb<backend::Attributes> done) override {
    next_->Lookup(c, dir, name, std::move(done));
  }
  void GetAttr(const Ctx& c, Ino inode, Cb<backend::Attributes> done) override {
    next_->GetAttr(c, inode, std::move(done));
  }
  void SetAttr(const Ctx& c, Ino inode, const backend::SetAttributes& attrs,
               Cb<backend::AttrChange> done) override {
    next_->SetAttr(c, inode, attrs, std::move(done));
  }
  void Access(const Ctx& c, Ino inode, uint32_t requested, Cb<uint32_t> done) override {
    next_->Access(c, inode, requested, std::move(done));
  }
  void Create(const Ctx& c, const backend::CreateRequest& request,
              Cb<backend::EntryResult> done) override {
    next_->Create(c, request, std::move(done));
  }
  void MakeDirectory(const Ctx& c, Ino parent, absl::string_view name,
                     const backend::SetAttributes& attrs, Cb<backend::EntryResult> done) override {
    next_->MakeDirectory(c, parent, name, attrs, std::move(done));
  }
  void MakeSymlink(const Ctx& c, Ino parent, absl::string_view name, absl::string_view target,
                   const backend::SetAttributes& attrs, Cb<backend::EntryResult> done) override {
    next_->MakeSymlink(c, parent, name, target, attrs, std::move(done));
  }
  void MakeNode(const Ctx& c, Ino parent, absl::string_view name, backend::FileType type,
                uint32_t major, uint32_t minor, const backend::SetAttributes& attrs,
                Cb<backend::EntryResult> done) override {
    next_->MakeNode(c, parent, name, type, major, minor, attrs, std::move(done));
  }
  void ReadLink(const Ctx& c, Ino inode, Cb<std::string> done) override {
    next_->ReadLink(c, inode, std::move(done));
  }
  void Link(const Ctx& c, Ino inode, Ino dir, absl::string_view name,
            Cb<backend::EntryResult> done) override {
    next_->Link(c, inode, dir, name, std::move(done));
  }
  void Unlink(const Ctx& c, Ino dir, absl::string_view name, Cb<backend::DirChange> done) override {
    next_->Unlink(c, dir, name, std::move(done));
  }
  void RemoveDirectory(const Ctx& c, Ino dir, absl::string_view name,
                       Cb<backend::DirChange> done) override {
    next_->RemoveDirectory(c, dir, name, std::move(done));
  }
  void Rename(const Ctx& c, Ino from_dir, absl::string_view from_name, Ino to_dir,
              absl::string_view to_name, Cb<backend::RenameResult> done) override {
    next_->Rename(c, from_dir, from_name, to_dir, to_name, std::move(done));
  }
  void ReadDir(const Ctx& c, Ino dir, uint64_t cookie, uint64_t verifier, size_t max_entries,
               bool with_attributes, Cb<backend::ReadDirResult> done) override {
    next_->ReadDir(c, dir, cookie, verifier, max_entries, with_attributes, std::move(done));
  }
  void FsStat(const Ctx& c, Ino inode, Cb<backend::FsStatResult> done) override {
    next_->FsStat(c, inode, std::move(done));
  }
  void GetXattr(const Ctx& c, Ino inode, absl::string_view name, Cb<std::string> done) override {
    next_->GetXattr(c, inode, name, std::move(done));
  }
  void SetXattr(const Ctx& c, Ino inode, absl::string_view name, absl::string_view value,
                backend::XattrSetMode mode, Cb<backend::Done> done) override {
    next_->SetXattr(c, inode, name, value, mode, std::move(done));
  }
  void ListXattrs(const Ctx& c, Ino inode, Cb<std::vector<std::string>> done) override {
    next_->ListXattrs(c, inode, std::move(done));
  }
  void RemoveXattr(const Ctx& c, Ino inode, absl::string_view name,
                   Cb<backend::Done> done) override {
    next_->RemoveXattr(c, inode, name, std::move(done));
  }
  void GetExtentMap(const Ctx& c, Ino inode, uint64_t offset, uint64_t length,
                    Cb<std::vector<backend::Extent>> done) override {
    next_->GetExtentMap(c, inode, offset, length, std::move(done));
  }
  void Open(const Ctx& c, Ino inode, Cb<backend::Done> done) override {
    next_->Open(c, inode, std::move(done));
  }
  void Release(const Ctx& c, Ino inode, Cb<backend::Done> done) override {
    next_->Release(c, inode, std::move(done));
  }
  void Read(const Ctx& c, Ino inode, uint64_t offset, uint64_t count,
            Cb<backend::ReadResult> done) override {
    next_->Read(c, inode, offset, count, std::move(done));
  }
  void Write(const Ctx& c, Ino inode, uint64_t offset, Buffer data, backend::Stability stability,
             Cb<backend::WriteResult> done) override {
    next_->Write(c, inode, offset, std::move(data), stability, std::move(done));
  }
  void Commit(const Ctx& c, Ino inode, uint64_t offset, uint64_t count,
              Cb<backend::CommitResult> done) override {
    next_->Commit(c, inode, offset, count, std::move(done));
  }

 private:
  backend::BackendPtr next_;
};

}  // namespace cfs::filters

#endif  // CFS_LIB_BACKENDS_FILTERS_FORWARDING_BACKEND_H_
