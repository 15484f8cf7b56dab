// NFSv3 (RFC 1813): all 22 procedures over the backend SPI.
//
// Every handler decodes its arguments (GARBAGE_ARGS when malformed), resolves the file handle
// through the NfsContext (BADHANDLE, ACCES, ROFS for changes on read-only exports), makes the
// backend call(s) and encodes the result with weak cache consistency data on every modifying
// reply. Backend errors map to NFS3ERR_* through NfsContext::StatusToNfs. MKNOD makes real fifos
// and sockets (devices for root only). Thread-safe.
//
// Example:
//   Nfs3Program nfs(context);
//   RpcDispatcher dispatcher({&mount, &nfs}, &cache);

#ifndef CFS_LIB_PROTOCOLS_NFS_NFS3_PROGRAM_H_
#define CFS_LIB_PROTOCOLS_NFS_NFS3_PROGRAM_H_

#include "lib/protocols/nfs/nfs_context.h"
#include "lib/protocols/rpc/rpc_server.h"

namespace cfs::nfs {

class Nfs3Program : public rpc::RpcProgram {
 public:
  explicit Nfs3Program(const NfsContext& context) : context_(context) {}

  uint32_t program() const override { return kNfsProgram; }
  uint32_t min_version() const override { return 3; }
  uint32_t max_version() const override { return 3; }
  bool IsNonIdempotent(uint32_t version, uint32_t procedure) const override;
  void Dispatch(rpc::RpcCall call, rpc::RpcReply reply) override;
  std::string ProcedureName(uint32_t procedure) const override;
  std::string ResultStatusName(uint32_t procedure, absl::string_view result) const override;

 private:
  using Call = rpc::RpcCall;
  using Reply = rpc::RpcReply;

  void GetAttr(Call call, Reply reply);
  void SetAttr(Call call, Reply reply);
  void Lookup(Call call, Reply reply);
  void Access(Call call, Reply reply);
  void ReadLink(Call call, Reply reply);
  void Read(Call call, Reply reply);
  void Write(Call call, Reply reply);
  void Create(Call call, Reply reply);
  void Mkdir(Call call, Reply reply);
  void Symlink(Call call, Reply reply);
  void Mknod(Call call, Reply reply);
  void Remove(Call call, Reply reply, bool directory);
  void Rename(Call call, Reply reply);
  void Link(Call call, Reply reply);
  void ReadDir(Call call, Reply reply, bool plus);
  void FsStat(Call call, Reply reply);
  void FsInfo(Call call, Reply reply, bool pathconf);
  void Commit(Call call, Reply reply);

  const NfsContext& context_;
};

}  // namespace cfs::nfs

#endif  // CFS_LIB_PROTOCOLS_NFS_NFS3_PROGRAM_H_
