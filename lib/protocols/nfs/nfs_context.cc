#include "lib/protocols/nfs/nfs_context.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/backend/await.h"
#include "lib/backend/errors.h"
#include "lib/backend/sync_backend.h"

namespace cfs::nfs {

using backend::FsError;

NfsContext::NfsContext(backend::Backend& backend, const backend::FileHandleCodec& handles,
                       std::vector<auth::Export> exports)
    : backend_(backend), handles_(handles), exports_(std::move(exports)) {}

absl::Status NfsContext::Init() {
  backend::SyncBackend fs(backend_, backend::RequestContext{backend::Identity::Root()});
  for (const auth::Export& exp : exports_) {
    absl::StatusOr<backend::Attributes> root = fs.ResolveDirectory(exp.path);
    if (!root.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("export ", exp.name, ": path ", exp.path,
                       " cannot be resolved: ", root.status().message()));
    }
    roots_[exp.id] = root->inode;
  }
  return absl::OkStatus();
}

backend::Identity NfsContext::CallerOf(const rpc::RpcCall& call) {
  backend::Identity who;  // nobody
  if (call.auth_sys.has_value()) {
    who = backend::Identity::Of(call.auth_sys->uid, call.auth_sys->gid, call.auth_sys->gids);
    who.principal = absl::StrCat("uid:", call.auth_sys->uid, "@", call.auth_sys->machine_name);
  }
  return who;
}

absl::StatusOr<NfsTarget> NfsContext::Admit(const auth::Export& exp,
                                            const rpc::RpcCall& call) const {
  absl::StatusOr<auth::ExportAccess> access =
      auth::Authorize(exp, call.client_address, CallerOf(call));
  if (!access.ok()) return access.status();
  NfsTarget target;
  target.export_ = &exp;
  target.ctx.identity = std::move(access->identity);
  target.ctx.deadline = absl::Now() + absl::Seconds(30);
  target.ctx.trace_id = call.xid;
  target.read_only = access->read_only;
  return target;
}

absl::StatusOr<NfsTarget> NfsContext::Resolve(absl::string_view handle,
                                              const rpc::RpcCall& call) const {
  absl::StatusOr<backend::FileHandle> fh = handles_.Decode(handle);
  if (!fh.ok()) return absl::InvalidArgumentError("bad file handle");
  for (const auth::Export& exp : exports_) {
    if (exp.id != fh->export_id) continue;
    absl::StatusOr<NfsTarget> target = Admit(exp, call);
    if (!target.ok()) return target.status();
    target->inode = fh->inode;
    target->generation = fh->generation;
    return target;
  }
  return absl::InvalidArgumentError("file handle names no export");
}

absl::StatusOr<NfsTarget> NfsContext::ResolveExport(absl::string_view nfs_path,
                                                    const rpc::RpcCall& call) const {
  std::string path(nfs_path);
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  // The export whose nfs_path is the longest prefix (at a '/' boundary) of the path.
  const auth::Export* best = nullptr;
  for (const auth::Export& exp : exports_) {
    bool matches =
        path == exp.nfs_path || exp.nfs_path == "/" || absl::StartsWith(path, exp.nfs_path + "/");
    if (matches && (best == nullptr || exp.nfs_path.size() > best->nfs_path.size())) best = &exp;
  }
  if (best == nullptr) return absl::NotFoundError(absl::StrCat("no export ", path));
  absl::StatusOr<NfsTarget> target = Admit(*best, call);
  if (!target.ok()) return target.status();
  target->inode = roots_.at(best->id);
  absl::string_view rest(path);
  rest.remove_prefix(
      std::min(rest.size(), best->nfs_path == "/" ? size_t{0} : best->nfs_path.size()));
  target->subpath = absl::StrSplit(rest, '/', absl::SkipEmpty());
  return target;
}

std::string NfsContext::HandleFor(const auth::Export& exp, const backend::Attributes& attrs) const {
  return handles_.Encode({exp.id, attrs.inode, attrs.generation});
}

Nfs3Status NfsContext::StatusToNfs(const absl::Status& status) {
  if (status.ok()) return Nfs3Status::kOk;
  if (std::optional<FsError> error = backend::GetFsError(status)) {
    switch (*error) {
      case FsError::kNoEntry:
        return Nfs3Status::kNoEnt;
      case FsError::kExists:
        return Nfs3Status::kExist;
      case FsError::kAccess:
        return Nfs3Status::kAcces;
      case FsError::kNotPermitted:
        return Nfs3Status::kPerm;
      case FsError::kReadOnly:
        return Nfs3Status::kRofs;
      case FsError::kNotDirectory:
        return Nfs3Status::kNotDir;
      case FsError::kIsDirectory:
        return Nfs3Status::kIsDir;
      case FsError::kNotEmpty:
        return Nfs3Status::kNotEmpty;
      case FsError::kCrossDevice:
        return Nfs3Status::kXdev;
      case FsError::kNotSync:
        return Nfs3Status::kNotSync;
      case FsError::kBadCookie:
        return Nfs3Status::kBadCookie;
      case FsError::kStale:
        return Nfs3Status::kStale;
      case FsError::kInvalid:
        return Nfs3Status::kInval;
      case FsError::kNameTooLong:
        return Nfs3Status::kNameTooLong;
      case FsError::kTooBig:
        return Nfs3Status::kFbig;
      case FsError::kNoSpace:
        return Nfs3Status::kNoSpc;
      case FsError::kQuota:
        return Nfs3Status::kDquot;
      case FsError::kNotSupported:
        return Nfs3Status::kNotSupp;
      case FsError::kIo:
        return Nfs3Status::kIo;
    }
  }
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return Nfs3Status::kBadHandle;  // Resolve's handle errors
    case absl::StatusCode::kPermissionDenied:
      return Nfs3Status::kAcces;
    case absl::StatusCode::kNotFound:
      return Nfs3Status::kNoEnt;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
      return Nfs3Status::kJukebox;  // try again later
    default:
      return Nfs3Status::kServerFault;
  }
}

}  // namespace cfs::nfs
