#include "lib/protocols/smb/smb_create_helpers.h"

#include "lib/auth/posix_permissions.h"
#include "lib/protocols/smb/smb_info.h"
#include "lib/protocols/smb/smb_state.h"

namespace cfs::smb {

uint32_t PosixBitsFor(uint32_t mask) {
  uint32_t bits = 0;
  if (mask & (access::kReadData | access::kExecute)) bits |= backend::kAccessRead;
  if (mask & (access::kWriteData | access::kAppendData)) bits |= backend::kAccessWrite;
  return bits;
}

uint32_t MaximalAccess(const backend::Identity& who, const backend::Attributes& attrs,
                       const backend::Attributes* dir, bool read_only) {
  uint32_t bits = auth::GrantedAccess(who, attrs, 7);
  uint32_t mask =
      access::kReadAttributes | access::kReadControl | access::kSynchronize | access::kReadEa;
  if (bits & backend::kAccessRead) mask |= 0x00120089;
  if (bits & backend::kAccessWrite) {
    mask |= 0x00000116;
    if (attrs.type == backend::FileType::kDirectory) mask |= access::kDeleteChild;
  }
  if (bits & backend::kAccessExecute) mask |= access::kExecute;
  if (auth::IsOwnerOrRoot(who, attrs)) {
    mask |= access::kWriteAttributes | access::kWriteDac | access::kWriteOwner | access::kWriteEa;
  }
  if (dir != nullptr && auth::MayRemoveEntry(who, *dir, attrs)) mask |= access::kDelete;
  if (read_only) mask &= ~access::kAnyWrite;
  return mask;
}

CreateResponse ResponseFor(const backend::Attributes& a, uint64_t id, uint32_t action) {
  CreateResponse out;
  out.create_action = action;
  out.creation_time = ToFiletime(a.birth_time.seconds != 0 ? a.birth_time : a.ctime);
  out.last_access_time = ToFiletime(a.atime);
  out.last_write_time = ToFiletime(a.mtime);
  out.change_time = ToFiletime(a.ctime);
  out.allocation_size = AllocationSizeOf(a);
  out.end_of_file = a.type == backend::FileType::kDirectory ? 0 : a.size;
  out.file_attributes = FileAttributesOf(a);
  out.file = FileId{id, id};
  return out;
}

}  // namespace cfs::smb
