// SET_INFO of SmbConnection (MS-SMB2 3.3.5.21): times and attributes, sizes, security
// descriptors, delete dispositions, renames and hard links as chains of backend callbacks, the
// position and mode from memory; a named stream's resize and rename in smb_stream_ops.cc.
#include <memory>
#include <utility>

#include "absl/strings/match.h"
#include "lib/auth/posix_permissions.h"
#include "lib/backend/errors.h"
#include "lib/backend/sync_backend.h"
#include "lib/protocols/smb/le_bytes.h"
#include "lib/protocols/smb/ntstatus.h"
#include "lib/protocols/smb/smb_access.h"
#include "lib/protocols/smb/smb_connection.h"
#include "lib/protocols/smb/smb_info.h"
#include "lib/protocols/smb/smb_paths.h"

namespace cfs::smb {

namespace {

constexpr uint32_t kStatusEasNotSupported = 0xC000004F;

SmbResponse Ok() {
  SmbResponse ok;
  ok.body = EncodeSmallBody(2);
  return ok;
}

SmbResponse OkOr(uint32_t status) { return status == nt::kSuccess ? Ok() : SmbResponse{status}; }

}  // namespace

std::optional<SmbResponse> SmbConnection::SetInfo(SmbRequest& r, SmbLater later) {
  absl::StatusOr<SetInfoRequest> decoded = DecodeSetInfo(r.message);
  if (!decoded.ok()) return SmbResponse{nt::kInvalidParameter};
  std::shared_ptr<Open> open = FindOpen(r, decoded->file);
  if (open == nullptr) return SmbResponse{nt::kFileClosed};
  if (open->pipe != nullptr) return SmbResponse{nt::kInvalidParameter};
  auto req = std::make_shared<SetInfoRequest>(*std::move(decoded));
  if (req->info_type == kInfoSecurity) return SetSecurity(open, req, std::move(later));
  if (req->info_type != kInfoFile) return SmbResponse{nt::kInvalidInfoClass};
  const std::string& b = req->buffer;
  switch (req->info_class) {
    case info::kBasic:
      return SetBasicInfo(open, b, std::move(later));
    case info::kEndOfFile:
    case info::kAllocation:
      return SetSize(open, *req, std::move(later));
    case info::kDisposition:
    case info::kDispositionEx:
      return SetDisposition(r, open, b, std::move(later));
    case info::kPosition: {
      if (b.size() < 8) return SmbResponse{nt::kInfoLengthMismatch};
      std::lock_guard<std::mutex> lock(open->mu);
      open->position = Le64(b, 0);
      return Ok();
    }
    case info::kMode: {
      if (b.size() < 4) return SmbResponse{nt::kInfoLengthMismatch};
      uint32_t mode = Le32(b, 0);
      if (mode & ~0x0000003Eu) return SmbResponse{nt::kInvalidParameter};
      open->create_options = (open->create_options & ~0x36u) | mode;
      return Ok();
    }
    case info::kRename:
    case info::kLink:
      return SetName(r, open, req, std::move(later));
    case info::kFullEa:
      return SmbResponse{kStatusEasNotSupported};
    default:
      return SmbResponse{nt::kInvalidInfoClass};
  }
}

void SmbConnection::SetAttrThen(const std::shared_ptr<Open>& open,
                                const backend::SetAttributes& set,
                                std::function<void(uint32_t status)> then) {
  if (open->tree->read_only) return then(nt::kAccessDenied);
  SmbServer* server = &server_;
  server_.backend().SetAttr(
      OwnIo(*open), open->inode, set,
      [server, open, then = std::move(then)](absl::StatusOr<backend::AttrChange> changed) {
        if (!changed.ok()) return then(NtStatusFor(changed.status()));
        if (open->parent != 0) server->state().DirectoryChanged(open->parent);
        then(nt::kSuccess);
      });
}

std::optional<SmbResponse> SmbConnection::SetBasicInfo(const std::shared_ptr<Open>& open,
                                                       const std::string& b, SmbLater later) {
  if (!(open->granted_access & access::kWriteAttributes)) return SmbResponse{nt::kAccessDenied};
  absl::StatusOr<BasicInfoChange> change = DecodeBasicInfo(b);
  if (!change.ok()) return SmbResponse{nt::kInfoLengthMismatch};
  backend::SetAttributes set;
  bool any = false;
  if (change->atime) {
    set.atime_how = backend::SetAttributes::TimeHow::kClientTime;
    set.atime = *change->atime;
    any = true;
  }
  if (change->mtime) {
    set.mtime_how = backend::SetAttributes::TimeHow::kClientTime;
    set.mtime = *change->mtime;
    any = true;
  }
  if (change->birth_time) {
    set.birth_time = change->birth_time;
    any = true;
  }
  if (change->ctime) {
    set.ctime = change->ctime;
    any = true;
  }
  std::shared_ptr<SmbConnection> self = shared_from_this();
  auto answer = [later](uint32_t status) { later(OkOr(status)); };
  if (change->attributes == 0 || open->directory) {
    if (!any) return Ok();
    SetAttrThen(open, set, answer);
    return std::nullopt;
  }
  // FILE_ATTRIBUTE_READONLY is the write bits of the mode.
  bool readonly = (change->attributes & kAttrReadonly) != 0;
  server_.backend().GetAttr(
      open->tree->ctx, open->inode,
      [self, open, set, any, readonly, answer](absl::StatusOr<backend::Attributes> attrs) mutable {
        if (!attrs.ok()) return answer(NtStatusFor(attrs.status()));
        bool is_readonly = (attrs->mode & 0222) == 0;
        if (readonly && !is_readonly) {
          set.mode = attrs->mode & ~0222u;
          any = true;
        } else if (!readonly && is_readonly) {
          set.mode = attrs->mode | 0200u;
          any = true;
        }
        if (!any) return answer(nt::kSuccess);
        self->SetAttrThen(open, set, answer);
      });
  return std::nullopt;
}

std::optional<SmbResponse> SmbConnection::SetSize(const std::shared_ptr<Open>& open,
                                                  const SetInfoRequest& req, SmbLater later) {
  // End of file, or allocation (which only shrinks: space is allocated as data is written).
  const std::string& b = req.buffer;
  if (b.size() < 8) return SmbResponse{nt::kInfoLengthMismatch};
  if (!(open->granted_access & (access::kWriteData | access::kAppendData))) {
    return SmbResponse{nt::kAccessDenied};
  }
  if (open->directory) return SmbResponse{nt::kInvalidParameter};
  uint64_t size = Le64(b, 0);
  bool allocation = req.info_class == info::kAllocation;
  std::shared_ptr<SmbConnection> self = shared_from_this();
  if (!open->stream.empty()) {
    if (open->tree->read_only) return SmbResponse{nt::kAccessDenied};
    ResizeStreamOpen(open, size, allocation, std::move(later));
    return std::nullopt;
  }
  backend::SetAttributes set;
  set.size = size;
  auto answer = [later](uint32_t status) { later(OkOr(status)); };
  if (!allocation) {
    SetAttrThen(open, set, answer);
    return std::nullopt;
  }
  server_.backend().GetAttr(open->tree->ctx, open->inode,
                            [self, open, set, answer](absl::StatusOr<backend::Attributes> attrs) {
                              if (!attrs.ok()) return answer(NtStatusFor(attrs.status()));
                              if (*set.size >= attrs->size) return answer(nt::kSuccess);
                              self->SetAttrThen(open, set, answer);
                            });
  return std::nullopt;
}

std::optional<SmbResponse> SmbConnection::SetSecurity(const std::shared_ptr<Open>& open,
                                                      const std::shared_ptr<SetInfoRequest>& req,
                                                      SmbLater later) {
  uint32_t parts = req->additional_information;
  if (((parts & (kSecOwner | kSecGroup)) && !(open->granted_access & access::kWriteOwner)) ||
      ((parts & kSecDacl) && !(open->granted_access & access::kWriteDac)) ||
      !(open->granted_access & (access::kWriteDac | access::kWriteOwner))) {
    return SmbResponse{nt::kAccessDenied};
  }
  if (open->tree->read_only) return SmbResponse{nt::kAccessDenied};
  std::shared_ptr<SmbConnection> self = shared_from_this();
  server_.backend().GetAttr(
      OwnIo(*open), open->inode,
      [self, open, req, parts, later](absl::StatusOr<backend::Attributes> attrs) {
        if (!attrs.ok()) return later(SmbResponse{NtStatusFor(attrs.status())});
        const backend::Identity& who = open->tree->ctx.identity;
        // Checked again now: the file may have changed hands since the handle was opened.
        if (!auth::IsOwnerOrRoot(who, *attrs)) return later(SmbResponse{nt::kAccessDenied});
        // Owner and group are the POSIX ids; the DACL is kept as given (nt_acl.h), and the mode
        // bits follow it where they can say the same.
        absl::StatusOr<SecurityChange> ids =
            DecodeSecurityDescriptor(req->buffer, parts & (kSecOwner | kSecGroup), *attrs);
        if (!ids.ok()) {
          return later(SmbResponse{ids.status().code() == absl::StatusCode::kUnimplemented
                                       ? nt::kNotSupported
                                       : nt::kInvalidParameter});
        }
        backend::SetAttributes set;
        set.uid = ids->uid;
        set.gid = ids->gid;
        auto dacl = std::make_shared<std::optional<Dacl>>();
        if (parts & kSecDacl) {
          absl::StatusOr<Dacl> given = DaclOfDescriptor(req->buffer);
          if (!given.ok()) return later(SmbResponse{nt::kInvalidParameter});
          *dacl = *std::move(given);
          backend::Attributes owned = *attrs;
          owned.uid = ids->uid.value_or(attrs->uid);
          owned.gid = ids->gid.value_or(attrs->gid);
          absl::StatusOr<SecurityChange> bits =
              DecodeSecurityDescriptor(req->buffer, kSecDacl, owned);
          // Only the owner changes mode bits (POSIX); for others the DACL alone changes.
          if (bits.ok() && auth::IsOwnerOrRoot(who, owned)) set.mode = bits->mode;
        }
        auto store = [self, open, dacl, later](uint32_t status) {
          if (status != nt::kSuccess || !dacl->has_value()) return later(OkOr(status));
          StoreDaclAsync(self->server_.backend(), OwnIo(*open), open->inode, &**dacl,
                         [later](absl::Status stored) {
                           later(stored.ok() ? Ok() : SmbResponse{NtStatusFor(stored)});
                         });
        };
        if (set.uid || set.gid || set.mode) return self->SetAttrThen(open, set, store);
        store(nt::kSuccess);
      });
  return std::nullopt;
}

std::optional<SmbResponse> SmbConnection::SetDisposition(SmbRequest& r,
                                                         const std::shared_ptr<Open>& open,
                                                         const std::string& b, SmbLater later) {
  if (b.empty()) return SmbResponse{nt::kInfoLengthMismatch};
  if (!(open->granted_access & access::kDelete)) return SmbResponse{nt::kAccessDenied};
  if ((b[0] & 1) == 0) {
    server_.state().SetDeletePending(*open, false);
    return Ok();
  }
  if (open->name.empty()) return SmbResponse{nt::kCannotDelete};
  std::shared_ptr<SmbConnection> self = shared_from_this();
  SmbRequest* request = &r;  // lives until `later` runs
  // Last: the handle caching of other leases breaks (the request may wait for it), then the
  // delete is pending.
  auto pend = [self, request, open, later] {
    if (std::optional<SmbResponse> wait = self->WaitForHandleBreaks(*request, *open)) {
      return later(*std::move(wait));
    }
    self->server_.state().SetDeletePending(*open, true);
    later(Ok());
  };
  backend::Backend* backend = &server_.backend();
  backend->GetAttr(OwnIo(*open), open->inode,
                   [backend, open, pend, later](absl::StatusOr<backend::Attributes> attrs) {
                     if (!attrs.ok()) return later(SmbResponse{NtStatusFor(attrs.status())});
                     if (!open->directory) {
                       if ((attrs->mode & 0222) == 0) return later(SmbResponse{nt::kCannotDelete});
                       return pend();
                     }
                     backend->ReadDir(OwnIo(*open), open->inode, 0, 0, 1, false,
                                      [pend, later](absl::StatusOr<backend::ReadDirResult> page) {
                                        if (!page.ok())
                                          return later(SmbResponse{NtStatusFor(page.status())});
                                        if (!page->entries.empty()) {
                                          return later(SmbResponse{nt::kDirectoryNotEmpty});
                                        }
                                        pend();
                                      });
                   });
  return std::nullopt;
}

std::optional<SmbResponse> SmbConnection::SetName(SmbRequest& r, const std::shared_ptr<Open>& open,
                                                  const std::shared_ptr<SetInfoRequest>& req,
                                                  SmbLater later) {
  bool link = req->info_class == info::kLink;
  if (!link && !(open->granted_access & access::kDelete)) return SmbResponse{nt::kAccessDenied};
  if (open->tree->read_only) return SmbResponse{nt::kAccessDenied};
  absl::StatusOr<RenameInfo> rename = DecodeRenameInfo(req->buffer);
  if (!rename.ok()) return SmbResponse{nt::kInvalidParameter};
  std::shared_ptr<SmbConnection> self = shared_from_this();
  absl::string_view target = rename->target;
  bool replace = rename->replace_if_exists;
  if (!open->stream.empty() || absl::StartsWith(target, ":")) {
    if (link) return SmbResponse{nt::kInvalidParameter};
    RenameStreamOpen(open, std::string(target), replace, std::move(later));
    return std::nullopt;
  }
  if (absl::StartsWith(target, "\\")) target.remove_prefix(1);
  ParsedPath path;
  if (uint32_t s = ParseSmbPath(target, &path); s != nt::kSuccess) return SmbResponse{s};
  if (path.components.empty()) return SmbResponse{nt::kObjectNameInvalid};
  SmbRequest* request = &r;  // lives until `later` runs
  ResolveParentAsync(server_.backend(), OwnIo(*open), open->tree->share->root, path,
                     [self, request, open, link, replace, later](uint32_t s, ResolvedParent dest) {
                       if (s != nt::kSuccess) return later(SmbResponse{s});
                       if (link && open->directory)
                         return later(SmbResponse{nt::kFileIsADirectory});
                       if (dest.dir == open->parent && dest.name == open->name) return later(Ok());
                       auto to = std::make_shared<ResolvedParent>(std::move(dest));
                       self->server_.backend().Lookup(
                           OwnIo(*open), to->dir, to->name,
                           [self, request, open, link, replace, later,
                            to](absl::StatusOr<backend::Attributes> existing) {
                             if (existing.ok()) {
                               if (!replace) return later(SmbResponse{nt::kObjectNameCollision});
                               if (existing->type == backend::FileType::kDirectory ||
                                   self->server_.state().OpenElsewhere(existing->inode, 0)) {
                                 return later(SmbResponse{nt::kAccessDenied});
                               }
                             }
                             if (link) return self->LinkOpen(open, to, existing.ok(), later);
                             self->RenameOpen(*request, open, to, later);
                           });
                     });
  return std::nullopt;
}

void SmbConnection::LinkOpen(const std::shared_ptr<Open>& open,
                             const std::shared_ptr<ResolvedParent>& to, bool replace,
                             SmbLater later) {
  std::shared_ptr<SmbConnection> self = shared_from_this();
  auto link = [self, open, to, later] {
    self->server_.backend().Link(OwnIo(*open), open->inode, to->dir, to->name,
                                 [self, to, later](absl::StatusOr<backend::EntryResult> linked) {
                                   if (!linked.ok()) {
                                     return later(SmbResponse{NtStatusFor(linked.status())});
                                   }
                                   self->server_.state().DirectoryChanged(to->dir);
                                   later(Ok());
                                 });
  };
  if (!replace) return link();
  server_.backend().Unlink(OwnIo(*open), to->dir, to->name,
                           [link, later](absl::StatusOr<backend::DirChange> gone) {
                             if (!gone.ok()) return later(SmbResponse{NtStatusFor(gone.status())});
                             link();
                           });
}

void SmbConnection::RenameOpen(SmbRequest& r, const std::shared_ptr<Open>& open,
                               const std::shared_ptr<ResolvedParent>& to, SmbLater later) {
  if (std::optional<SmbResponse> wait = WaitForHandleBreaks(r, *open)) {
    return later(*std::move(wait));
  }
  if (server_.state().RenameBlocked(*open) ||
      server_.state().OpenWithDeleteAccess(to->dir, open->id)) {
    return later(SmbResponse{nt::kSharingViolation});
  }
  backend::InodeNumber from_dir = open->parent;
  std::shared_ptr<SmbConnection> self = shared_from_this();
  server_.backend().Rename(
      OwnIo(*open), from_dir, open->name, to->dir, to->name,
      [self, open, to, from_dir, later](absl::StatusOr<backend::RenameResult> moved) {
        if (!moved.ok()) return later(SmbResponse{NtStatusFor(moved.status())});
        self->server_.state().DirectoryChanged(from_dir);
        self->server_.state().DirectoryChanged(to->dir);
        {
          std::lock_guard<std::mutex> lock(open->mu);
          open->parent = to->dir;
          open->name = to->name;
          open->path = to->PathOf(to->name);
        }
        later(Ok());
      });
}

}  // namespace cfs::smb
