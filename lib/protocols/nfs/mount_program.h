// MOUNT v3 (RFC 1813 appendix I): NULL, MNT, DUMP, UMNT, UMNTALL, EXPORT over the exports of an
// NfsContext. MNT answers the handle of the export's root, or of a directory below it when the
// path goes further (nfs://host/export/dir as clients like libnfs ask), and AUTH_SYS; a client
// outside the export's rules gets MNT3ERR_ACCES. Thread-safe.
//
// Example:
//   MountProgram mount(context);
//   RpcDispatcher dispatcher({&mount, &nfs}, &cache);

#ifndef CFS_LIB_PROTOCOLS_NFS_MOUNT_PROGRAM_H_
#define CFS_LIB_PROTOCOLS_NFS_MOUNT_PROGRAM_H_

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "lib/protocols/nfs/nfs_context.h"
#include "lib/protocols/rpc/rpc_server.h"

namespace cfs::nfs {

class MountProgram : public rpc::RpcProgram {
 public:
  explicit MountProgram(const NfsContext& context) : context_(context) {}

  uint32_t program() const override { return kMountProgram; }
  uint32_t min_version() const override { return 3; }
  uint32_t max_version() const override { return 3; }
  bool IsNonIdempotent(uint32_t, uint32_t) const override { return false; }
  bool RequiresAuthSys(uint32_t) const override { return false; }
  void Dispatch(rpc::RpcCall call, rpc::RpcReply reply) override;
  std::string ProcedureName(uint32_t procedure) const override;
  std::string ResultStatusName(uint32_t procedure, absl::string_view result) const override;

 private:
  // The state of one MNT while it walks down from the export root.
  struct MountWalk {
    std::shared_ptr<const auth::Export> exp;
    backend::RequestContext ctx;
    std::vector<std::string> subpath;
    size_t next = 0;
    std::string client;
    std::string mounted;
    rpc::RpcReply reply;
  };
  void Mount(rpc::RpcCall call, rpc::RpcReply reply);
  void ContinueMount(std::shared_ptr<MountWalk> walk, absl::StatusOr<backend::Attributes> current);

  const NfsContext& context_;
  std::mutex mu_;
  std::set<std::pair<std::string, std::string>> mounts_;  // (client, path); guarded by mu_
};

}  // namespace cfs::nfs

#endif  // CFS_LIB_PROTOCOLS_NFS_MOUNT_PROGRAM_H_
