#include "lib/protocols/nfs/mount_program.h"

#include "absl/strings/str_cat.h"
#include "lib/backend/errors.h"

namespace cfs::nfs {

using rpc::AcceptStat;
using rpc::XdrWriter;

namespace {
enum MountStat : uint32_t {
  kMntOk = 0,
  kMntNoEnt = 2,
  kMntAcces = 13,
  kMntNotDir = 20,
  kMntNameTooLong = 63,
  kMntServerFault = 10006,
};
}  // namespace

std::string MountProgram::ProcedureName(uint32_t procedure) const {
  static constexpr const char* kNames[] = {"NULL", "MNT", "DUMP", "UMNT", "UMNTALL", "EXPORT"};
  if (procedure < sizeof kNames / sizeof kNames[0]) return kNames[procedure];
  return rpc::RpcProgram::ProcedureName(procedure);
}

std::string MountProgram::ResultStatusName(uint32_t procedure, absl::string_view result) const {
  if (procedure != 1 || result.size() < 4) return "";  // only MNT answers with a status
  uint32_t status = (static_cast<uint32_t>(static_cast<uint8_t>(result[0])) << 24) |
                    (static_cast<uint32_t>(static_cast<uint8_t>(result[1])) << 16) |
                    (static_cast<uint32_t>(static_cast<uint8_t>(result[2])) << 8) |
                    static_cast<uint32_t>(static_cast<uint8_t>(result[3]));
  switch (status) {
    case kMntOk:
      return "";
    case kMntNoEnt:
      return "MNT3ERR_NOENT";
    case kMntAcces:
      return "MNT3ERR_ACCES";
    case kMntNotDir:
      return "MNT3ERR_NOTDIR";
    case kMntNameTooLong:
      return "MNT3ERR_NAMETOOLONG";
    case kMntServerFault:
      return "MNT3ERR_SERVERFAULT";
  }
  return "MNT3ERR_" + std::to_string(status);
}

void MountProgram::Dispatch(rpc::RpcCall call, rpc::RpcReply reply) {
  switch (call.procedure) {
    case 0:  // NULL
      std::move(reply)(AcceptStat::kSuccess, "", "");
      return;
    case 1:  // MNT
      Mount(std::move(call), std::move(reply));
      return;
    case 2: {  // DUMP
      XdrWriter out;
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (const auto& [client, path] : mounts_) {
          out.Bool(true);
          out.String(client);
          out.String(path);
        }
      }
      out.Bool(false);
      std::move(reply)(AcceptStat::kSuccess, out.Release(), "");
      return;
    }
    case 3: {  // UMNT
      std::optional<std::string> path = DecodeMountPath(call.args);
      if (!path.has_value()) return std::move(reply)(AcceptStat::kGarbageArgs, "", "");
      {
        std::lock_guard<std::mutex> lock(mu_);
        mounts_.erase({call.client_address, *path});
      }
      std::move(reply)(AcceptStat::kSuccess, "", "");
      return;
    }
    case 4: {  // UMNTALL
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (auto it = mounts_.begin(); it != mounts_.end();) {
          it = it->first == call.client_address ? mounts_.erase(it) : std::next(it);
        }
      }
      std::move(reply)(AcceptStat::kSuccess, "", "");
      return;
    }
    case 5: {  // EXPORT
      XdrWriter out;
      for (const auth::Export& exp : context_.exports()) {
        out.Bool(true);
        out.String(exp.nfs_path);
        std::vector<std::string> groups;
        for (const auth::ClientRule& rule : exp.rules) {
          for (const auth::Cidr& net : rule.clients) groups.push_back(net.text());
          if (rule.clients.empty()) groups.push_back("*");
        }
        if (exp.rules.empty()) groups.push_back("*");
        for (const std::string& g : groups) {
          out.Bool(true);
          out.String(g);
        }
        out.Bool(false);
      }
      out.Bool(false);
      std::move(reply)(AcceptStat::kSuccess, out.Release(), "");
      return;
    }
    default:
      std::move(reply)(AcceptStat::kProcUnavail, "", "");
  }
}

void MountProgram::Mount(rpc::RpcCall call, rpc::RpcReply reply) {
  std::optional<std::string> path = DecodeMountPath(call.args);
  if (!path.has_value()) return std::move(reply)(AcceptStat::kGarbageArgs, "", "");
  auto fail = [&reply](MountStat stat) {
    XdrWriter out;
    out.U32(stat);
    std::move(reply)(AcceptStat::kSuccess, out.Release(), "");
  };
  absl::StatusOr<NfsTarget> target = context_.ResolveExport(*path, call);
  if (!target.ok()) {
    return fail(target.status().code() == absl::StatusCode::kPermissionDenied ? kMntAcces
                                                                              : kMntNoEnt);
  }
  for (const std::string& name : target->subpath) {
    if (name == "." || name == "..") return fail(kMntNoEnt);  // no way out of the export
    if (name.size() > backend::kMaxNameLength) return fail(kMntNameTooLong);
  }
  auto walk = std::make_shared<MountWalk>();
  walk->exp = target->export_;
  walk->ctx = target->ctx;
  walk->subpath = std::move(target->subpath);
  walk->client = call.client_address;
  walk->mounted = *path;
  walk->reply = std::move(reply);
  context_.backend().GetAttr(walk->ctx, target->inode,
                             [this, walk](absl::StatusOr<backend::Attributes> root) mutable {
                               ContinueMount(std::move(walk), std::move(root));
                             });
}

// One step of MNT: `current` is the directory reached so far; looks up the next name of the
// mounted path below the export root, or answers with the handle once none is left.
void MountProgram::ContinueMount(std::shared_ptr<MountWalk> walk,
                                 absl::StatusOr<backend::Attributes> current) {
  XdrWriter out;
  if (!current.ok()) {
    std::optional<backend::FsError> error = backend::GetFsError(current.status());
    MountStat stat = kMntServerFault;
    if (error == backend::FsError::kNoEntry) stat = kMntNoEnt;
    if (error == backend::FsError::kAccess) stat = kMntAcces;
    if (error == backend::FsError::kNotDirectory) stat = kMntNotDir;
    out.U32(stat);
    std::move(walk->reply)(AcceptStat::kSuccess, out.Release(), "");
    return;
  }
  if (current->type != backend::FileType::kDirectory) {
    out.U32(kMntNotDir);
    std::move(walk->reply)(AcceptStat::kSuccess, out.Release(), "");
    return;
  }
  if (walk->next < walk->subpath.size()) {
    const std::string& name = walk->subpath[walk->next++];
    context_.backend().Lookup(walk->ctx, current->inode, name,
                              [this, walk](absl::StatusOr<backend::Attributes> entry) mutable {
                                ContinueMount(std::move(walk), std::move(entry));
                              });
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    mounts_.insert({walk->client, walk->mounted});
  }
  out.U32(kMntOk);
  out.Opaque(context_.HandleFor(*walk->exp, *current));
  out.U32(1);  // one flavor
  out.U32(static_cast<uint32_t>(rpc::AuthFlavor::kSys));
  std::move(walk->reply)(AcceptStat::kSuccess, out.Release(), "");
}

}  // namespace cfs::nfs
