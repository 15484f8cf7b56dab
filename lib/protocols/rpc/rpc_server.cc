#include "lib/protocols/rpc/rpc_server.h"

#include <utility>

#include "lib/common/logging.h"

namespace cfs::rpc {

class RpcDispatcher::Connection : public net::ConnectionHandler {
 public:
  Connection(RpcDispatcher* dispatcher, net::ConnectionInfo info)
      : dispatcher_(dispatcher), info_(std::move(info)) {}

  absl::StatusOr<size_t> OnData(absl::string_view input) override {
    size_t consumed = 0;
    while (info_.can_start_request()) {
      absl::StatusOr<std::optional<RecordSplit>> split =
          SplitRecord(input.substr(consumed), dispatcher_->max_record_);
      if (!split.ok()) return split.status();  // cannot resynchronise: close
      if (!split->has_value()) break;
      consumed += (*split)->consumed;
      HandleRecord((*split)->record);
    }
    return consumed;
  }

 private:
  void Answer(std::string reply) {
    info_.start_request();
    info_.ref.Send(FrameRecord(reply));
  }

  void HandleRecord(const std::string& record) {
    CallError error{CallError::kGarbage};
    std::optional<CallHeader> header = DecodeCall(record, &error);
    if (!header.has_value()) {
      switch (error.kind) {
        case CallError::kNotACall:
          return;  // a stray reply: ignore
        case CallError::kRpcMismatch:
          Answer(EncodeRpcMismatch(error.xid));
          return;
        case CallError::kGarbage:
          if (record.size() >= 8) Answer(EncodeAcceptedReply(error.xid, AcceptStat::kGarbageArgs));
          return;
      }
    }
    RpcProgram* program = dispatcher_->Find(header->program);
    if (program == nullptr) {
      Answer(EncodeAcceptedReply(header->xid, AcceptStat::kProgUnavail));
      return;
    }
    if (header->version < program->min_version() || header->version > program->max_version()) {
      Answer(EncodeProgMismatch(header->xid, program->min_version(), program->max_version()));
      return;
    }
    RpcCall call;
    call.xid = header->xid;
    call.version = header->version;
    call.procedure = header->procedure;
    call.flavor = header->flavor;
    call.client_address = info_.peer_address;
    if (header->flavor == AuthFlavor::kSys) {
      call.auth_sys = DecodeAuthSys(header->credential);
      if (!call.auth_sys.has_value()) {
        Answer(EncodeAuthError(header->xid, AuthStat::kBadCred));
        return;
      }
    } else if (header->flavor != AuthFlavor::kNone) {
      Answer(EncodeAuthError(header->xid, AuthStat::kTooWeak));
      return;
    }
    if (!call.auth_sys.has_value() && program->RequiresAuthSys(header->procedure)) {
      Answer(EncodeAuthError(header->xid, AuthStat::kTooWeak));
      return;
    }
    call.args = std::string(header->args);

    std::optional<RequestKey> key;
    if (program->IsNonIdempotent(call.version, call.procedure)) {
      key = RequestKey{call.client_address, call.xid,       header->program,
                       call.version,        call.procedure, DuplicateRequestCache::Hash(call.args)};
      std::string cached;
      switch (dispatcher_->cache_->Begin(*key, &cached)) {
        case DuplicateRequestCache::Lookup::kReplay:
          Answer(std::move(cached));
          return;
        case DuplicateRequestCache::Lookup::kInProgress:
          return;  // the first execution's reply answers the client
        case DuplicateRequestCache::Lookup::kNew:
          break;
      }
    }
    info_.start_request();
    net::ConnectionRef ref = info_.ref;
    DuplicateRequestCache* cache = dispatcher_->cache_;
    uint32_t xid = call.xid;
    program->Dispatch(std::move(call),
                      [ref, cache, key, xid](AcceptStat stat, std::string body) mutable {
                        std::string reply = EncodeAcceptedReply(xid, stat, body);
                        if (key.has_value()) cache->Finish(*key, reply);
                        ref.Send(FrameRecord(reply));
                      });
  }

  RpcDispatcher* dispatcher_;
  net::ConnectionInfo info_;
};

RpcDispatcher::RpcDispatcher(std::vector<RpcProgram*> programs, DuplicateRequestCache* cache,
                             size_t max_record)
    : programs_(std::move(programs)), cache_(cache), max_record_(max_record) {}

RpcProgram* RpcDispatcher::Find(uint32_t program) const {
  for (RpcProgram* p : programs_) {
    if (p->program() == program) return p;
  }
  return nullptr;
}

net::HandlerFactory RpcDispatcher::HandlerFactory() {
  return
      [this](const net::ConnectionInfo& info) { return std::make_unique<Connection>(this, info); };
}

}  // namespace cfs::rpc
