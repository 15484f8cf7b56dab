// What a handle may do to a file: the rights POSIX permissions give (MaximalAccess), narrowed
// by the DACL stored with the file when a client set one (nt_acl.h), and the storage of those
// DACLs in the backend. Read and written as root: the SMB layer checked READ_CONTROL and
// WRITE_DAC on the handle already.
#ifndef CFS_LIB_PROTOCOLS_SMB_SMB_ACCESS_H_
#define CFS_LIB_PROTOCOLS_SMB_SMB_ACCESS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "lib/backend/backend.h"
#include "lib/protocols/smb/nt_acl.h"
#include "lib/protocols/smb/smb2_messages.h"

namespace cfs::smb {

// The DACL stored with `inode`, or none (never set, or unreadable: then the mode bits rule).
// Each function here calls `done` on a backend thread, or at once.
void LoadDaclAsync(backend::Backend& backend, const backend::RequestContext& ctx,
                   backend::InodeNumber inode, std::function<void(std::optional<Dacl>)> done);
// Stores (or with null, removes) the DACL of `inode`; `dacl` need only live for the call.
void StoreDaclAsync(backend::Backend& backend, const backend::RequestContext& ctx,
                    backend::InodeNumber inode, const Dacl* dacl,
                    std::function<void(absl::Status)> done);

// The DACL a CREATE's security descriptor context (SecD) gives a new file, or none (no SecD, or
// one without a DACL). Errors: kInvalidArgument (a malformed descriptor).
absl::StatusOr<std::optional<Dacl>> DaclOfCreateContexts(const std::vector<CreateContext>& list);

// Gives `made`, just created in directory `parent`, the DACL `given`, else what the parent's
// DACL passes on (else none: its mode bits rule). A failure to store is logged.
void SetNewFileDaclAsync(backend::Backend& backend, const backend::RequestContext& ctx,
                         backend::InodeNumber parent, const backend::Attributes& made,
                         std::optional<Dacl> given, std::function<void()> done);

// The access mask `who` holds on `attrs`, in directory `dir` (none for the share root). With a
// stored DACL: the rights it grants (DELETE also through the parent's FILE_DELETE_CHILD),
// data rights only where POSIX allows them too; `done`'s `by_dacl` says a DACL decided (every
// asked right must then be granted). Without one: MaximalAccess.
void HandleAccessAsync(backend::Backend& backend, const backend::RequestContext& ctx,
                       const backend::Identity& who, const backend::Attributes& attrs,
                       std::optional<backend::Attributes> dir, bool read_only,
                       std::function<void(uint32_t maximal, bool by_dacl)> done);

// Whether `who` may open `attrs` with `*desired`, after expanding MAXIMUM_ALLOWED to `maximal`
// (HandleAccessAsync's) and adding FILE_WRITE_DATA when the open truncates. Returns nt::kSuccess
// or nt::kAccessDenied.
uint32_t CheckOpenAccess(const backend::Identity& who, const backend::Attributes& attrs,
                         uint32_t maximal, bool by_dacl, bool truncate, bool read_only,
                         uint32_t* desired);

}  // namespace cfs::smb

#endif  // CFS_LIB_PROTOCOLS_SMB_SMB_ACCESS_H_
