// What SMB2 CREATE (of a file, a directory or a named stream) shares: the dispositions,
// actions and options it reads, the access masks POSIX permissions grant, and the response
// built from a file's attributes. Pure functions.
#ifndef CFS_LIB_PROTOCOLS_SMB_SMB_CREATE_HELPERS_H_
#define CFS_LIB_PROTOCOLS_SMB_SMB_CREATE_HELPERS_H_

#include <cstdint>

#include "lib/backend/types.h"
#include "lib/protocols/smb/smb2_messages.h"

namespace cfs::smb {

namespace create {
// CreateDisposition (MS-SMB2 2.2.13).
inline constexpr uint32_t kSupersede = 0;
inline constexpr uint32_t kOpen = 1;
inline constexpr uint32_t kCreate = 2;
inline constexpr uint32_t kOpenIf = 3;
inline constexpr uint32_t kOverwrite = 4;
inline constexpr uint32_t kOverwriteIf = 5;
// CreateAction (MS-SMB2 2.2.14).
inline constexpr uint32_t kActionSuperseded = 0;
inline constexpr uint32_t kActionOpened = 1;
inline constexpr uint32_t kActionCreated = 2;
inline constexpr uint32_t kActionOverwritten = 3;
// CreateOptions.
inline constexpr uint32_t kOptDirectory = 0x00000001;
inline constexpr uint32_t kOptWriteThrough = 0x00000002;
inline constexpr uint32_t kOptNonDirectory = 0x00000040;
inline constexpr uint32_t kOptDeleteOnClose = 0x00001000;
}  // namespace create

// POSIX bits an access mask needs. FILE_EXECUTE of a file is a read over SMB (clients ask for
// it with every "all access" open); of a directory it is traverse, which the walk checked.
uint32_t PosixBitsFor(uint32_t mask);

// What `who` may do to `attrs` (in `dir`, when it has one), as an access mask.
uint32_t MaximalAccess(const backend::Identity& who, const backend::Attributes& attrs,
                       const backend::Attributes* dir, bool read_only);

// The CREATE response for a handle `id` on a file with `attrs`.
CreateResponse ResponseFor(const backend::Attributes& attrs, uint64_t id, uint32_t action);

}  // namespace cfs::smb

#endif  // CFS_LIB_PROTOCOLS_SMB_SMB_CREATE_HELPERS_H_
