#include "lib/auth/posix_permissions.h"

namespace cfs::auth {

using backend::Attributes;
using backend::FileType;
using backend::Identity;
using backend::kAccessExecute;

uint32_t GrantedAccess(const Identity& who, const Attributes& object, uint32_t requested) {
  requested &= 07;
  if (who.IsRoot()) {
    uint32_t granted = requested;
    bool any_exec = (object.mode & 0111) != 0 || object.type == FileType::kDirectory;
    if (!any_exec) granted &= ~kAccessExecute;
    return granted;
  }
  uint32_t bits;
  if (who.uid == object.uid) {
    bits = (object.mode >> 6) & 07;
  } else if (who.InGroup(object.gid)) {
    bits = (object.mode >> 3) & 07;
  } else {
    bits = object.mode & 07;
  }
  return requested & bits;
}

bool MayAccess(const Identity& who, const Attributes& object, uint32_t requested) {
  return GrantedAccess(who, object, requested) == (requested & 07);
}

bool MayAccessData(const backend::Identity& who, const backend::Attributes& file,
                   uint32_t requested, bool owner_override) {
  return (owner_override && who.uid == file.uid) || MayAccess(who, file, requested);
}

bool MayRemoveEntry(const Identity& who, const Attributes& dir, const Attributes& victim) {
  if (!MayAccess(who, dir, backend::kAccessWrite | backend::kAccessExecute)) return false;
  if ((dir.mode & kModeSticky) == 0 || who.IsRoot()) return true;
  return who.uid == dir.uid || who.uid == victim.uid;
}

bool IsOwnerOrRoot(const Identity& who, const Attributes& object) {
  return who.IsRoot() || who.uid == object.uid;
}

bool MayChown(const Identity& who, const Attributes& object, uint32_t uid, uint32_t gid) {
  if (who.IsRoot()) return true;
  if (who.uid != object.uid) return false;
  if (uid != object.uid) return false;
  return gid == object.gid || who.InGroup(gid);
}

}  // namespace cfs::auth
