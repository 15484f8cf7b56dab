// Share-relative SMB path names (backslash separated, as in CREATE and rename requests) and
// their resolution to backend directories: validation of each component (the characters
// Windows forbids, "." and "..", named streams) and the walk from the share's root.
#ifndef CFS_LIB_PROTOCOLS_SMB_SMB_PATHS_H_
#define CFS_LIB_PROTOCOLS_SMB_SMB_PATHS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "lib/backend/backend.h"

namespace cfs::smb {

// Whether SMB shows an entry named `name` (as another protocol may have stored it): valid
// UTF-8 without a character Windows forbids in names (\ / : * ? " < > | and control
// characters). Listings leave the others out, so an S3 key "a\b" or an NFS file "x:y" never
// breaks a client's listing; they stay reachable over NFS and S3 (docs/smb.md).
bool IsSmbVisibleName(absl::string_view name);

struct ParsedPath {
  std::vector<std::string> components;  // empty: the share root
  std::string normalized;               // components joined by '\'
  // The named stream of the last component ("file:stream" or "file:stream:$DATA"), or empty
  // for the file's own data (also "file::$DATA").
  std::string stream;
  bool data_stream = false;  // "file::$DATA": the file's own data named explicitly
};

// Splits and validates `name`. Returns nt::kSuccess, or kObjectNameInvalid (a forbidden
// character, an empty, "." or ".." component, a stream on a directory component or on the
// share root, a stream type other than $DATA), kObjectPathSyntaxBad.
uint32_t ParseSmbPath(absl::string_view name, ParsedPath* out);

struct ResolvedParent {
  backend::InodeNumber dir = 0;
  backend::Attributes dir_attrs;
  std::string name;  // "" when the path is the root itself
  // The directories walked, as their entries are named (the case they were created with),
  // joined by '\\'; "" for the root.
  std::string dir_path;
  // The share-relative path of the entry `name` in `dir`, directories as stored.
  std::string PathOf(absl::string_view entry) const {
    return dir_path.empty() ? std::string(entry) : dir_path + "\\" + std::string(entry);
  }
};

// Reads directory `dir` page by page (`page_size` entries, with attributes when asked) through
// the asynchronous SPI: `visit` sees each entry and returns false to stop early; `done` gets OK
// at the end (or when `visit` stopped) or ReadDir's error. Both run on backend threads (or at once
// when the backend answers inline); pages answered at once do not grow the stack.
void ScanDirectory(backend::Backend& backend, const backend::RequestContext& ctx,
                   backend::InodeNumber dir, bool with_attributes, size_t page_size,
                   std::function<bool(backend::DirEntry& entry)> visit,
                   std::function<void(absl::Status status)> done);

// Looks `name` up in `dir` as Windows does, ignoring (ASCII) case: the exact name first, else
// an entry that differs only in case. `done` gets the attributes (errors: Lookup's) and the
// entry's name as stored.
void LookupIgnoringCaseAsync(
    backend::Backend& backend, const backend::RequestContext& ctx, backend::InodeNumber dir,
    std::string name,
    std::function<void(absl::StatusOr<backend::Attributes> found, std::string name)> done);

// Walks every component but the last from `root` (ignoring case, as LookupIgnoringCaseAsync);
// the last component is left as sent. `done` gets nt::kSuccess and the parent, or
// kObjectPathNotFound (a missing or non-directory component) or the mapped backend error.
void ResolveParentAsync(backend::Backend& backend, const backend::RequestContext& ctx,
                        backend::InodeNumber root, const ParsedPath& path,
                        std::function<void(uint32_t status, ResolvedParent parent)> done);

}  // namespace cfs::smb

#endif  // CFS_LIB_PROTOCOLS_SMB_SMB_PATHS_H_
