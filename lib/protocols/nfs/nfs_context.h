// NfsContext: what the MOUNT and NFS programs of one frontend share: the backend, the file
// handle codec, the exports with their resolved root inodes, and the mapping of backend errors
// to NFS status codes (the protocol's one error table).
//
// Resolve() turns a call's file handle and AUTH_SYS credential into a backend request: it
// authenticates the handle (BADHANDLE), finds its export, applies the export's client rules
// (squash, read-only; ACCES when the client is not admitted). The exports can change while
// serving (Update): each call resolves against one immutable table, and a target keeps its
// export alive. Thread-safe after Init().
//
// Example:
//   absl::StatusOr<NfsTarget> t = context.Resolve(fh_bytes, call);
//   if (!t.ok()) reply NFS3ERR_* from StatusToNfs(t.status());

#ifndef CFS_LIB_PROTOCOLS_NFS_NFS_CONTEXT_H_
#define CFS_LIB_PROTOCOLS_NFS_NFS_CONTEXT_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/auth/export_policy.h"
#include "lib/backend/backend.h"
#include "lib/backend/file_handle.h"
#include "lib/protocols/nfs/nfs3_xdr.h"
#include "lib/protocols/rpc/rpc_server.h"

namespace cfs::nfs {

struct NfsTarget {
  std::shared_ptr<const auth::Export> export_;
  backend::InodeNumber root = 0;  // the export's root directory
  backend::InodeNumber inode = 0;
  uint64_t generation = 0;
  backend::RequestContext ctx;
  bool read_only = false;
  // MNT of a directory below the export's root: the names leading to it from the root.
  std::vector<std::string> subpath;
};

class NfsContext {
 public:
  NfsContext(backend::Backend& backend, const backend::FileHandleCodec& handles,
             std::vector<auth::Export> exports);

  // Resolves every export's path to its root inode (as root). Errors name the export.
  absl::Status Init();
  // Serves `exports` from now on (resolving their roots first; nothing changes on an error).
  // Errors: kFailedPrecondition naming the export whose path does not resolve.
  absl::Status Update(std::vector<auth::Export> exports);

  // The caller's identity from the call's credential (AUTH_NONE: nobody).
  static backend::Identity CallerOf(const rpc::RpcCall& call);

  absl::StatusOr<NfsTarget> Resolve(absl::string_view handle, const rpc::RpcCall& call) const;
  // The export `nfs_path` names (MOUNT), admitted for the caller. Errors: kNotFound, and
  // kPermissionDenied for a client outside the export's rules.
  absl::StatusOr<NfsTarget> ResolveExport(absl::string_view nfs_path,
                                          const rpc::RpcCall& call) const;

  std::string HandleFor(const auth::Export& exp, const backend::Attributes& attrs) const;
  backend::Backend& backend() const { return backend_; }
  // The exports served now (a copy).
  std::vector<auth::Export> exports() const;

  // The one table from backend errors to NFSv3 status codes.
  static Nfs3Status StatusToNfs(const absl::Status& status);

 private:
  struct Served {
    std::shared_ptr<const auth::Export> exp;
    backend::InodeNumber root = 0;
  };
  using Table = std::vector<Served>;

  absl::StatusOr<NfsTarget> Admit(const Served& served, const rpc::RpcCall& call) const;
  absl::StatusOr<std::shared_ptr<const Table>> BuildTable(std::vector<auth::Export> exports) const;
  std::shared_ptr<const Table> table() const;

  backend::Backend& backend_;
  const backend::FileHandleCodec& handles_;
  std::vector<auth::Export> initial_;
  mutable std::mutex mu_;
  std::shared_ptr<const Table> table_;  // guarded by mu_ (the pointer; the table is immutable)
};

}  // namespace cfs::nfs

#endif  // CFS_LIB_PROTOCOLS_NFS_NFS_CONTEXT_H_
