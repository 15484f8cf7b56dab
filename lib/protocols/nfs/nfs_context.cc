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
    : backend_(backend), handles_(handles), initial_(std::move(exports)) {}

absl::StatusOr<std::shared_ptr<const NfsContext::Table>> NfsContext::BuildTable(
    std::vector<auth::Export> exports) const {
  backend::SyncBackend fs(backend_, backend::RequestContext{backend::Identity::Root()});
  auto table = std::make_shared<Table>();
  for (auth::Export& exp : exports) {
    absl::StatusOr<backend::Attributes> root = fs.ResolveDirectory(exp.path);
    if (!root.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("export ", exp.name, ": path ", exp.path,
                       " cannot be resolved: ", root.status().message()));
    }
    table->push_back(Served{std::make_shared<const auth::Export>(std::move(exp)), root->inode});
  }
  return std::shared_ptr<const Table>(std::move(table));
}

absl::Status NfsContext::Init() { return Update(initial_); }

absl::Status NfsContext::Update(std::vector<auth::Export> exports) {
  absl::StatusOr<std::shared_ptr<const Table>> resolved = BuildTable(std::move(exports));
  if (!resolved.ok()) return resolved.status();
  std::lock_guard<std::mutex> lock(mu_);
  table_ = std::move(*resolved);
  return absl::OkStatus();
}

std::shared_ptr<const NfsContext::Table> NfsContext::table() const {
  std::lock_guard<std::mutex> lock(mu_);
  return table_ != nullptr ? table_ : std::make_shared<const Table>();
}

std::vector<auth::Export> NfsContext::exports() const {
  std::vector<auth::Export> out;
  for (const Served& served : *table()) out.push_back(*served.exp);
  return out;
}

backend::Identity NfsContext::CallerOf(const rpc::RpcCall& call) {
  backend::Identity who;  // nobody
  if (call.auth_sys.has_value()) {
    who = backend::Identity::Of(call.auth_sys->uid, call.auth_sys->gid, call.auth_sys->gids);
    who.principal = absl::StrCat("uid:", call.auth_sys->uid, "@", call.auth_sys->machine_name);
  }
  return who;
}

absl::StatusOr<NfsTarget> NfsContext::Admit(const Served& served, const rpc::RpcCall& call) const {
  absl::StatusOr<auth::ExportAccess> access =
      auth::Authorize(*served.exp, call.client_address, CallerOf(call));
  if (!access.ok()) return access.status();
  NfsTarget target;
  target.export_ = served.exp;
  target.root = served.root;
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
  std::shared_ptr<const Table> exports = table();
  for (const Served& served : *exports) {
    if (served.exp->id != fh->export_id) continue;
    absl::StatusOr<NfsTarget> target = Admit(served, call);
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
  std::shared_ptr<const Table> exports = table();
  const Served* best = nullptr;
  for (const Served& served : *exports) {
    const std::string& p = served.exp->nfs_path;
    bool matches = path == p || p == "/" || absl::StartsWith(path, p + "/");
    if (matches && (best == nullptr || p.size() > best->exp->nfs_path.size())) best = &served;
  }
  if (best == nullptr) return absl::NotFoundError(absl::StrCat("no export ", path));
  absl::StatusOr<NfsTarget> target = Admit(*best, call);
  if (!target.ok()) return target.status();
  target->inode = best->root;
  absl::string_view rest(path);
  rest.remove_prefix(
      std::min(rest.size(), best->exp->nfs_path == "/" ? size_t{0} : best->exp->nfs_path.size()));
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
