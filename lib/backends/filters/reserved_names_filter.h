// ReservedNamesFilter: keeps the gateway's own state out of every protocol's namespace. Entries
// whose name starts with backend::kReservedNamePrefix (".cfs-": S3 staging files and upload
// parts live under ".cfs-s3") are, for every call whose RequestContext does not set
// `internal`:
//   - not listed by ReadDir and not found by Lookup (kNoEntry), nor removed or renamed away
//     (kNoEntry: there is nothing there to the caller);
//   - not created, linked or renamed to (kAccess: the name is the gateway's).
// What lies beneath them is reached by inode only from there on, and file handles cannot be
// forged (they are authenticated), so NFS, SMB and S3 clients cannot see or touch it. The
// filter sits outermost, above the quota filter, whose usage scans see everything.
// Thread-safe; owns the wrapped backend.
//
// Example:
//   backend = std::make_unique<ReservedNamesFilter>(std::move(backend));
//   backend::RequestContext ctx = ...;
//   ctx.internal = true;  // only the S3 frontend, for its staging directory
#ifndef CFS_LIB_BACKENDS_FILTERS_RESERVED_NAMES_FILTER_H_
#define CFS_LIB_BACKENDS_FILTERS_RESERVED_NAMES_FILTER_H_

#include "lib/backends/filters/forwarding_backend.h"

namespace cfs::filters {

class ReservedNamesFilter : public ForwardingBackend {
 public:
  using ForwardingBackend::ForwardingBackend;

  // True for a name the gateway keeps for itself.
  static bool IsReserved(absl::string_view name);

  void Lookup(const Ctx& c, Ino dir, absl::string_view name, Cb<backend::Attributes> done) override;
  void Create(const Ctx& c, const backend::CreateRequest& request,
              Cb<backend::EntryResult> done) override;
  void MakeDirectory(const Ctx& c, Ino parent, absl::string_view name,
                     const backend::SetAttributes& attrs, Cb<backend::EntryResult> done) override;
  void MakeSymlink(const Ctx& c, Ino parent, absl::string_view name, absl::string_view target,
                   const backend::SetAttributes& attrs, Cb<backend::EntryResult> done) override;
  void MakeNode(const Ctx& c, Ino parent, absl::string_view name, backend::FileType type,
                uint32_t major, uint32_t minor, const backend::SetAttributes& attrs,
                Cb<backend::EntryResult> done) override;
  void Link(const Ctx& c, Ino inode, Ino dir, absl::string_view name,
            Cb<backend::EntryResult> done) override;
  void Unlink(const Ctx& c, Ino dir, absl::string_view name, Cb<backend::DirChange> done) override;
  void RemoveDirectory(const Ctx& c, Ino dir, absl::string_view name,
                       Cb<backend::DirChange> done) override;
  void Rename(const Ctx& c, Ino from_dir, absl::string_view from_name, Ino to_dir,
              absl::string_view to_name, Cb<backend::RenameResult> done) override;
  void ReadDir(const Ctx& c, Ino dir, uint64_t cookie, uint64_t verifier, size_t max_entries,
               bool with_attributes, Cb<backend::ReadDirResult> done) override;
};

}  // namespace cfs::filters

#endif  // CFS_LIB_BACKENDS_FILTERS_RESERVED_NAMES_FILTER_H_
