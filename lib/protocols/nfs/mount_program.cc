#include "lib/protocols/nfs/mount_program.h"

#include "absl/strings/str_cat.h"

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
  const auth::Export* exp = target->export_;
  std::string client = call.client_address;
  std::string mounted = *path;
  context_.backend().GetAttr(target->ctx, target->inode,
                             [this, exp, client, mounted, reply = std::move(reply)](
                                 absl::StatusOr<backend::Attributes> root) mutable {
                               XdrWriter out;
                               if (!root.ok()) {
                                 out.U32(kMntServerFault);
                                 std::move(reply)(AcceptStat::kSuccess, out.Release(), "");
                                 return;
                               }
                               {
                                 std::lock_guard<std::mutex> lock(mu_);
                                 mounts_.insert({client, mounted});
                               }
                               out.U32(kMntOk);
                               out.Opaque(context_.HandleFor(*exp, *root));
                               out.U32(1);  // one flavor
                               out.U32(static_cast<uint32_t>(rpc::AuthFlavor::kSys));
                               std::move(reply)(AcceptStat::kSuccess, out.Release(), "");
                             });
}

}  // namespace cfs::nfs
