// POSIX permission decisions from mode bits, owner and group, for one identity.
//
// Pure functions used by backends for every operation (see MetadataService). Root (uid 0) may
// read and write anything and search any directory; it may execute a file only when some execute
// bit is set.
//
// Example:
//   if (!MayAccess(ctx.identity, dir_attrs, kAccessWrite | kAccessExecute))
//     return FsErrorStatus(FsError::kAccess, "no write permission on directory");

#ifndef CFS_LIB_AUTH_POSIX_PERMISSIONS_H_
#define CFS_LIB_AUTH_POSIX_PERMISSIONS_H_

#include <cstdint>

#include "lib/backend/types.h"

namespace cfs::auth {

inline constexpr uint32_t kModeSetUid = 04000;
inline constexpr uint32_t kModeSetGid = 02000;
inline constexpr uint32_t kModeSticky = 01000;

// The subset of `requested` (kAccessRead/Write/Execute bits) that `who` holds on `object`.
uint32_t GrantedAccess(const backend::Identity& who, const backend::Attributes& object,
                       uint32_t requested);

// True when every bit of `requested` is granted.
bool MayAccess(const backend::Identity& who, const backend::Attributes& object, uint32_t requested);

// MayAccess for reading or writing a file's data, where `owner_override` (RequestContext's)
// lets the file's owner through whatever the mode bits say.
bool MayAccessData(const backend::Identity& who, const backend::Attributes& file,
                   uint32_t requested, bool owner_override);

// True when `who` may remove or rename away `victim` from `dir`: write and search permission on
// `dir`, and in a sticky directory also ownership of `dir` or `victim` (or root).
bool MayRemoveEntry(const backend::Identity& who, const backend::Attributes& dir,
                    const backend::Attributes& victim);

// True when `who` owns `object` or is root: needed for chmod, utimes to given times, and
// xattrs changes by non-writers.
bool IsOwnerOrRoot(const backend::Identity& who, const backend::Attributes& object);

// True when `who` may change the owner to `uid` and the group to `gid` (unchanged values are
// passed as the current ones): root may do anything; the owner may only change the group to
// one of its own groups.
bool MayChown(const backend::Identity& who, const backend::Attributes& object, uint32_t uid,
              uint32_t gid);

}  // namespace cfs::auth

#endif  // CFS_LIB_AUTH_POSIX_PERMISSIONS_H_
