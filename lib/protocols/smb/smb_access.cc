#include "lib/protocols/smb/smb_access.h"

#include <memory>
#include <string>
#include <utility>

#include "lib/auth/posix_permissions.h"
#include "lib/backend/errors.h"
#include "lib/common/logging.h"
#include "lib/protocols/smb/le_bytes.h"
#include "lib/protocols/smb/ntstatus.h"
#include "lib/protocols/smb/smb_create_helpers.h"
#include "lib/protocols/smb/smb_state.h"

namespace cfs::smb {

namespace {

backend::RequestContext AsRoot(backend::RequestContext ctx) {
  ctx.identity = backend::Identity::Root();
  return ctx;
}

}  // namespace

void LoadDaclAsync(backend::Backend& backend, const backend::RequestContext& ctx,
                   backend::InodeNumber inode, std::function<void(std::optional<Dacl>)> done) {
  backend.GetXattr(AsRoot(ctx), inode, kDaclXattr,
                   [inode, done = std::move(done)](absl::StatusOr<std::string> value) {
                     if (!value.ok()) return done(std::nullopt);
                     absl::StatusOr<Dacl> dacl = DecodeStoredDacl(*value);
                     if (!dacl.ok()) {
                       CFS_LOG(WARNING, "smb")
                           << "inode " << inode << ": stored DACL unreadable ("
                           << dacl.status().message() << "); its mode bits apply";
                       return done(std::nullopt);
                     }
                     done(*std::move(dacl));
                   });
}

void StoreDaclAsync(backend::Backend& backend, const backend::RequestContext& ctx,
                    backend::InodeNumber inode, const Dacl* dacl,
                    std::function<void(absl::Status)> done) {
  if (dacl == nullptr) {
    backend.RemoveXattr(AsRoot(ctx), inode, kDaclXattr,
                        [done = std::move(done)](absl::StatusOr<backend::Done> removed) {
                          if (backend::GetFsError(removed.status()) == backend::FsError::kNoEntry) {
                            return done(absl::OkStatus());
                          }
                          done(removed.status());
                        });
    return;
  }
  backend.SetXattr(
      AsRoot(ctx), inode, kDaclXattr, EncodeStoredDacl(*dacl),
      backend::XattrSetMode::kCreateOrReplace,
      [done = std::move(done)](absl::StatusOr<backend::Done> stored) { done(stored.status()); });
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

void SetNewFileDaclAsync(backend::Backend& backend, const backend::RequestContext& ctx,
                         backend::InodeNumber parent, const backend::Attributes& made,
                         std::optional<Dacl> given, std::function<void()> done) {
  backend::Backend* b = &backend;
  auto store = [b, ctx, made, done](std::optional<Dacl> dacl) {
    if (!dacl.has_value()) return done();
    auto owned = std::make_shared<Dacl>(*std::move(dacl));
    StoreDaclAsync(*b, ctx, made.inode, owned.get(), [owned, made, done](absl::Status stored) {
      if (!stored.ok()) {
        CFS_LOG(WARNING, "smb") << "storing the DACL of new file " << made.inode
                                << " failed: " << stored.message();
      }
      done();
    });
  };
  if (given.has_value()) return store(std::move(given));
  LoadDaclAsync(backend, ctx, parent, [made, store](std::optional<Dacl> from) {
    if (!from.has_value()) return store(std::nullopt);
    store(InheritedDacl(*from, made.type == backend::FileType::kDirectory, made.uid, made.gid));
  });
}

void HandleAccessAsync(backend::Backend& backend, const backend::RequestContext& ctx,
                       const backend::Identity& who, const backend::Attributes& attrs,
                       std::optional<backend::Attributes> dir, bool read_only,
                       std::function<void(uint32_t maximal, bool by_dacl)> done) {
  uint32_t posix = MaximalAccess(who, attrs, dir.has_value() ? &*dir : nullptr, read_only);
  // The backend enforces POSIX permissions on data: those rights need both.
  auto finish = [posix, read_only, done](uint32_t granted) {
    constexpr uint32_t kData =
        access::kReadData | access::kWriteData | access::kAppendData | access::kExecute;
    granted &= posix | ~kData;
    if (read_only) granted &= ~access::kAnyWrite;
    done(granted, true);
  };
  backend::Backend* b = &backend;
  LoadDaclAsync(backend, ctx, attrs.inode,
                [b, ctx, who, attrs, dir, posix, done, finish](std::optional<Dacl> dacl) {
                  if (!dacl.has_value()) return done(posix, false);
                  uint32_t granted = GrantedAccessWithDacl(*dacl, who, attrs);
                  if ((granted & access::kDelete) || !dir.has_value()) return finish(granted);
                  // Windows: DELETE is also granted by FILE_DELETE_CHILD on the parent
                  // (MS-FSA 2.1.5.1.2.1).
                  LoadDaclAsync(
                      *b, ctx, dir->inode,
                      [who, dir, posix, granted, finish](std::optional<Dacl> parent) {
                        bool delete_child =
                            parent.has_value()
                                ? (GrantedAccessWithDacl(*parent, who, *dir) & access::kDeleteChild)
                                : (posix & access::kDelete);
                        finish(delete_child ? granted | access::kDelete : granted);
                      });
                });
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
