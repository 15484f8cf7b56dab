// RPC programs and the connection handler that serves them over TCP record marking.
//
// An RpcProgram (MOUNT, NFS) decodes its arguments and answers through RpcReply exactly once,
// from any thread. RpcConnectionHandler turns a connection's bytes into calls: it answers
// RPC_MISMATCH, PROG_UNAVAIL, PROG_MISMATCH (with the supported range), AUTH_BADCRED and
// AUTH_TOOWEAK itself, replays retransmitted non-idempotent calls from the duplicate request
// cache, and closes the connection for an oversized or undecodable record.
//
// Example:
//   RpcDispatcher dispatcher({&mount_program, &nfs_program}, &drc);
//   TcpServer server(options, dispatcher.HandlerFactory());

#ifndef CFS_LIB_PROTOCOLS_RPC_RPC_SERVER_H_
#define CFS_LIB_PROTOCOLS_RPC_RPC_SERVER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "lib/common/net/tcp_server.h"
#include "lib/observability/protocol_metrics.h"
#include "lib/protocols/rpc/duplicate_request_cache.h"
#include "lib/protocols/rpc/rpc_message.h"

namespace cfs::rpc {

// One decoded call handed to a program. Owns its bytes: `args` points into `record`, which
// stays alive as long as any copy of the call (no copy of large WRITE payloads).
struct RpcCall {
  uint32_t xid = 0;
  uint32_t version = 0;
  uint32_t procedure = 0;
  AuthFlavor flavor = AuthFlavor::kNone;
  std::optional<AuthSys> auth_sys;
  std::shared_ptr<const std::string> record;
  absl::string_view args;
  std::string client_address;
  // Arrived as one datagram (UDP): the reply must fit in one too.
  bool datagram = false;
};

// The largest reply a datagram transport carries (UDP payload limit, with room for headers).
inline constexpr size_t kMaxDatagramReply = 60 * 1024;

// Completes a call: kSuccess with the encoded result, or an RPC-level error (kProcUnavail,
// kGarbageArgs, kSystemErr). The result is `body` followed by `tail`: a large payload (READ
// data, already padded to 4 bytes) goes in `tail` and is sent without being copied. Call
// exactly once, from any thread.
using RpcReply = absl::AnyInvocable<void(AcceptStat stat, std::string body, std::string tail) &&>;

class RpcProgram {
 public:
  virtual ~RpcProgram() = default;
  virtual uint32_t program() const = 0;
  virtual uint32_t min_version() const = 0;
  virtual uint32_t max_version() const = 0;
  // Procedures whose retransmission must replay the first reply (CREATE, REMOVE, RENAME...).
  virtual bool IsNonIdempotent(uint32_t version, uint32_t procedure) const = 0;
  // Procedure 0 (NULL) may be called with AUTH_NONE; others need AUTH_SYS unless this says no.
  virtual bool RequiresAuthSys(uint32_t procedure) const { return procedure != 0; }
  virtual void Dispatch(RpcCall call, RpcReply reply) = 0;
  // For metrics: the procedure's name ("READ"), and the name of the status a successful
  // reply's result carries ("NFS3ERR_NOENT"; empty for OK or a result without one).
  virtual std::string ProcedureName(uint32_t procedure) const;
  virtual std::string ResultStatusName(uint32_t procedure, absl::string_view result) const {
    return "";
  }
};

class RpcDispatcher {
 public:
  RpcDispatcher(std::vector<RpcProgram*> programs, DuplicateRequestCache* cache,
                size_t max_record = kMaxRecordSize);

  // A factory for net::TcpServer: one RPC connection handler per connection.
  net::HandlerFactory HandlerFactory();

  // Sends one reply message (unframed), `head` then `tail`, back to the caller; any thread, at
  // most once.
  using ReplySink = std::function<void(std::string head, std::string tail)>;

  // Serves one call message from any transport. Returns false when no reply will ever be sent
  // (a stray reply message, an undecodable header, a retransmission still in progress).
  bool HandleRecord(std::string record, const std::string& client_address, ReplySink send,
                    bool datagram = false);

  // Counts every call to `program` that reaches it (and its replays) in `metrics`, which must
  // outlive the dispatcher. Call before serving.
  void SetMetrics(uint32_t program, observability::ProtocolMetrics* metrics);

 private:
  class Connection;
  RpcProgram* Find(uint32_t program) const;

  std::vector<RpcProgram*> programs_;
  std::map<uint32_t, observability::ProtocolMetrics*> metrics_;  // by program; set before use
  DuplicateRequestCache* cache_;
  size_t max_record_;
};

}  // namespace cfs::rpc

#endif  // CFS_LIB_PROTOCOLS_RPC_RPC_SERVER_H_
