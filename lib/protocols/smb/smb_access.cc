#include "lib/protocols/smb/smb_access.h"

#include <string>

#include "lib/auth/posix_permissions.h"
#include "lib/backend/errors.h"
#include "lib/common/logging.h"
#include "lib/protocols/smb/le_bytes.h"
#include "lib/protocols/smb/ntstatus.h"
#include "lib/protocols/smb/smb_create_helpers.h"
#include "lib/protocols/smb/smb_state.h"

namespace cfs::smb {

std::optional<Dacl> LoadDacl(backend::SyncBackend& fs, backend::InodeNumber inode) {
  backend::SyncBackend root = fs.As(backend::Identity::Root());
  absl::StatusOr<std::string> value = root.GetXattr(inode, std::string(kDaclXattr));
  if (!value.ok()) return std::nullopt;
  absl::StatusOr<Dacl> dacl = DecodeStoredDacl(*value);
  if (!dacl.ok()) {
    CFS_LOG(WARNING, "smb") << "inode " << inode << ": stored DACL unreadable ("
                            << dacl.status().message() << "); its mode bits apply";
    return std::nullopt;
  }
  return *dacl;
}

absl::Status StoreDacl(backend::SyncBackend& fs, backend::InodeNumber inode, const Dacl* dacl) {
  backend::SyncBackend root = fs.As(backend::Identity::Root());
  if (dacl == nullptr) {
    absl::Status removed = root.RemoveXattr(inode, std::string(kDaclXattr)).status();
    if (backend::GetFsError(removed) == backend::FsError::kNoEntry) return absl::OkStatus();
    return removed;
  }
  return root.SetXattr(inode, std::string(kDaclXattr), EncodeStoredDacl(*dacl)).status();
}

absl::StatusOr<std::optional<Dacl>> DaclOfCreateContexts(const std::vector<CreateContext>& list) {
  std::optional<Dacl> dacl;
  for (const CreateContext& ctx : list) {
    if (ctx.name != "SecD") continue;
    absl::StatusOr<Dacl> given = DaclOfDescriptor(ctx.data);
    if (!given.ok()) return given.status();
    if (Le16(ctx.data, 2) & 0x0004) dacl = *given;  // SE_DACL_PRESENT
  }
  return dacl;
}

void SetNewFileDacl(backend::SyncBackend& fs, backend::InodeNumber parent,
                    const backend::Attributes& made, std::optional<Dacl> given) {
  if (!given.has_value()) {
    std::optional<Dacl> from = LoadDacl(fs, parent);
    if (!from.has_value()) return;
    given = InheritedDacl(*from, made.type == backend::FileType::kDirectory, made.uid, made.gid);
    if (!given.has_value()) return;
  }
  if (absl::Status stored = StoreDacl(fs, made.inode, &*given); !stored.ok()) {
    CFS_LOG(WARNING, "smb") << "storing the DACL of new file " << made.inode
                            << " failed: " << stored.message();
  }
}

uint32_t HandleAccess(backend::SyncBackend& fs, const backend::Identity& who,
                      const backend::Attributes& attrs, const backend::Attributes* dir,
                      bool read_only, bool* by_dacl) {
  uint32_t posix = MaximalAccess(who, attrs, dir, read_only);
  *by_dacl = false;
  std::optional<Dacl> dacl = LoadDacl(fs, attrs.inode);
  if (!dacl.has_value()) return posix;
  *by_dacl = true;
  uint32_t granted = GrantedAccessWithDacl(*dacl, who, attrs);
  if (!(granted & access::kDelete) && dir != nullptr) {
    // Windows: DELETE is also granted by FILE_DELETE_CHILD on the parent (MS-FSA 2.1.5.1.2.1).
    std::optional<Dacl> parent = LoadDacl(fs, dir->inode);
    bool delete_child = parent.has_value()
                            ? (GrantedAccessWithDacl(*parent, who, *dir) & access::kDeleteChild)
                            : (posix & access::kDelete);
    if (delete_child) granted |= access::kDelete;
  }
  // The backend enforces POSIX permissions on data: those rights need both.
  constexpr uint32_t kData =
      access::kReadData | access::kWriteData | access::kAppendData | access::kExecute;
  granted &= posix | ~kData;
  if (read_only) granted &= ~access::kAnyWrite;
  return granted;
}

uint32_t CheckOpenAccess(const backend::Identity& who, const backend::Attributes& attrs,
                         uint32_t maximal, bool by_dacl, bool truncate, bool read_only,
                         uint32_t* desired) {
  if (*desired & access::kMaximumAllowed) {
    *desired = (*desired & ~access::kMaximumAllowed) | maximal;
  }
  if (truncate) *desired |= access::kWriteData;
  if ((*desired & access::kAnyWrite) && read_only) return nt::kAccessDenied;
  // A stored DACL must grant every right asked for (MS-DTYP 2.5.3.2).
  if (by_dacl && (*desired & ~maximal) != 0) return nt::kAccessDenied;
  bool directory = attrs.type == backend::FileType::kDirectory;
  uint32_t needed = PosixBitsFor(directory ? *desired & ~access::kExecute : *desired);
  if ((auth::GrantedAccess(who, attrs, needed) & needed) != needed) return nt::kAccessDenied;
  if ((*desired & access::kDelete) && !(maximal & access::kDelete)) return nt::kAccessDenied;
  // Changing the security descriptor is chmod/chown: the owner's (or root's) alone, whatever
  // the mode bits (MaximalAccess) or a DACL (GrantedAccessWithDacl) say of other rights.
  constexpr uint32_t kOwnerRights = access::kWriteDac | access::kWriteOwner;
  if ((*desired & kOwnerRights & ~maximal) != 0) return nt::kAccessDenied;
  return nt::kSuccess;
}

}  // namespace cfs::smb
