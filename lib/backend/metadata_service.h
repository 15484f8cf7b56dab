// MetadataService: the A2 contract, the namespace half of the backend SPI.
//
// Protocols translate requests into these calls; a backend (embedded, remote, an embedder's own)
// implements them; filters (quota, circuit breaker, attribute cache) wrap them. Every call
// carries the caller's RequestContext (identity and deadline) and completes through its callback
// exactly once. Implementations must be thread-safe: calls arrive from many loops at once.
//
// Permission checks are the backend's: each call checks POSIX permissions of ctx.identity
// (search on directories walked, write+search to change a directory, sticky directories, owner
// or root for chmod/chown/utimes) and fails with FsError::kAccess or kNotPermitted.
//
// Errors common to every call: kStale (inode freed), kDeadlineExceeded (deadline passed before
// the work began), kUnavailable (backend unreachable), kIo (storage failure).
//
// Example:
//   backend.Lookup(ctx, kRootInode, "docs", [](absl::StatusOr<Attributes> attrs) { ... });

#ifndef CFS_LIB_BACKEND_METADATA_SERVICE_H_
#define CFS_LIB_BACKEND_METADATA_SERVICE_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "lib/backend/callback.h"
#include "lib/backend/types.h"

namespace cfs::backend {

class MetadataService {
 public:
  virtual ~MetadataService() = default;

  // The attributes of `name` in directory `dir`. "." is `dir` itself and ".." its parent (the
  // root's parent is the root): directories record their parent, so protocols need not track
  // it. Search permission on `dir` is checked for them too. Errors: kNoEntry, kNotDirectory,
  // kAccess (no search permission on dir), kNameTooLong.
  virtual void Lookup(const RequestContext& ctx, InodeNumber dir, absl::string_view name,
                      Callback<Attributes> done) = 0;

  // Errors: kStale.
  virtual void GetAttr(const RequestContext& ctx, InodeNumber inode, Callback<Attributes> done) = 0;

  // Changes the attributes in `attrs` atomically. A size change truncates or zero-extends the
  // data. Errors: kNotSync (guard mismatch), kNotPermitted (chown/chmod by a non-owner), kAccess
  // (size change without write permission), kIsDirectory (size on a directory), kTooBig.
  virtual void SetAttr(const RequestContext& ctx, InodeNumber inode, const SetAttributes& attrs,
                       Callback<AttrChange> done) = 0;

  // Which of the asked kAccess* bits ctx.identity holds on `inode` (never fails for a missing
  // bit: the result simply omits it).
  virtual void Access(const RequestContext& ctx, InodeNumber inode, uint32_t requested,
                      Callback<uint32_t> done) = 0;

  // Creates a regular file. Errors: kExists (kGuarded, or kExclusive with another verifier, or
  // an existing non-regular entry for kUnchecked), kAccess, kNotDirectory, kNameTooLong,
  // kNoSpace, kQuota.
  virtual void Create(const RequestContext& ctx, const CreateRequest& request,
                      Callback<EntryResult> done) = 0;

  // Errors: as Create with kGuarded.
  virtual void MakeDirectory(const RequestContext& ctx, InodeNumber parent, absl::string_view name,
                             const SetAttributes& attrs, Callback<EntryResult> done) = 0;

  // Errors: as Create with kGuarded; kNameTooLong for a target over kMaxSymlinkLength.
  virtual void MakeSymlink(const RequestContext& ctx, InodeNumber parent, absl::string_view name,
                           absl::string_view target, const SetAttributes& attrs,
                           Callback<EntryResult> done) = 0;

  // Creates a fifo, socket or device node. Devices need root (kNotPermitted otherwise).
  // Errors: as Create with kGuarded; kInvalid for kRegular/kDirectory/kSymlink.
  virtual void MakeNode(const RequestContext& ctx, InodeNumber parent, absl::string_view name,
                        FileType type, uint32_t rdev_major, uint32_t rdev_minor,
                        const SetAttributes& attrs, Callback<EntryResult> done) = 0;

  // Errors: kInvalid when `inode` is not a symlink.
  virtual void ReadLink(const RequestContext& ctx, InodeNumber inode,
                        Callback<std::string> done) = 0;

  // Adds a hard link to `inode` as `name` in `dir`. Errors: kExists, kIsDirectory (links to
  // directories), kAccess, kNameTooLong.
  virtual void Link(const RequestContext& ctx, InodeNumber inode, InodeNumber dir,
                    absl::string_view name, Callback<EntryResult> done) = 0;

  // Removes a non-directory entry. The inode lives on while open (see Open) and is reclaimed on
  // last Release or at the next start. Errors: kNoEntry, kIsDirectory, kAccess (including the
  // sticky-directory rule).
  virtual void Unlink(const RequestContext& ctx, InodeNumber dir, absl::string_view name,
                      Callback<DirChange> done) = 0;

  // Errors: kNoEntry, kNotDirectory, kNotEmpty, kAccess, kInvalid (".").
  virtual void RemoveDirectory(const RequestContext& ctx, InodeNumber dir, absl::string_view name,
                               Callback<DirChange> done) = 0;

  // Atomically moves `from_name` in `from_dir` to `to_name` in `to_dir`, replacing a compatible
  // target (file over file, empty directory over directory). Errors: kNoEntry, kInvalid (a
  // directory into its own subtree), kNotEmpty, kIsDirectory/kNotDirectory (incompatible target),
  // kAccess, kNameTooLong.
  virtual void Rename(const RequestContext& ctx, InodeNumber from_dir, absl::string_view from_name,
                      InodeNumber to_dir, absl::string_view to_name,
                      Callback<RenameResult> done) = 0;

  // Up to `max_entries` entries after `cookie` (0 starts at the beginning). Cookies stay valid
  // while entries are added and removed: no entry is skipped or returned twice. `verifier` 0 or
  // the value a previous call returned; another value fails with kBadCookie. "." and ".." are
  // not returned. Errors: kNotDirectory, kAccess (no read permission), kBadCookie.
  virtual void ReadDir(const RequestContext& ctx, InodeNumber dir, uint64_t cookie,
                       uint64_t verifier, size_t max_entries, bool with_attributes,
                       Callback<ReadDirResult> done) = 0;

  // Space and inode counts of the file system holding `inode`.
  virtual void FsStat(const RequestContext& ctx, InodeNumber inode,
                      Callback<FsStatResult> done) = 0;

  // Extended attributes. Names are opaque bytes up to 255, values up to 64 KiB.
  // GetXattr errors: kNoEntry (no such attribute). SetXattr errors: kExists (kCreateOnly),
  // kNoEntry (kReplaceOnly), kTooBig, kAccess/kNotPermitted (needs owner or write permission).
  virtual void GetXattr(const RequestContext& ctx, InodeNumber inode, absl::string_view name,
                        Callback<std::string> done) = 0;
  virtual void SetXattr(const RequestContext& ctx, InodeNumber inode, absl::string_view name,
                        absl::string_view value, XattrSetMode mode, Callback<Done> done) = 0;
  virtual void ListXattrs(const RequestContext& ctx, InodeNumber inode,
                          Callback<std::vector<std::string>> done) = 0;
  virtual void RemoveXattr(const RequestContext& ctx, InodeNumber inode, absl::string_view name,
                           Callback<Done> done) = 0;

  // Which data server holds each range of [offset, offset + length) of a regular file; holes
  // are reported as such. Errors: kIsDirectory, kInvalid (not a regular file).
  virtual void GetExtentMap(const RequestContext& ctx, InodeNumber inode, uint64_t offset,
                            uint64_t length, Callback<std::vector<Extent>> done) = 0;

  // Open/Release count users of a file that keep it alive after its last unlink (SMB and NFSv4
  // opens). Each successful Open must be matched by one Release. Errors of Open: kStale.
  virtual void Open(const RequestContext& ctx, InodeNumber inode, Callback<Done> done) = 0;
  virtual void Release(const RequestContext& ctx, InodeNumber inode, Callback<Done> done) = 0;
};

}  // namespace cfs::backend

#endif  // CFS_LIB_BACKEND_METADATA_SERVICE_H_
