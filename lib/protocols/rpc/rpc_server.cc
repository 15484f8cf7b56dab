#include "lib/protocols/rpc/rpc_server.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/common/logging.h"

namespace cfs::rpc {
namespace {

// RPC-level failures as metrics name them.
std::string AcceptStatName(AcceptStat stat) {
  switch (stat) {
    case AcceptStat::kSuccess:
      return "";
    case AcceptStat::kProgUnavail:
      return "PROG_UNAVAIL";
    case AcceptStat::kProgMismatch:
      return "PROG_MISMATCH";
    case AcceptStat::kProcUnavail:
      return "PROC_UNAVAIL";
    case AcceptStat::kGarbageArgs:
      return "GARBAGE_ARGS";
    case AcceptStat::kSystemErr:
      return "SYSTEM_ERR";
  }
  return "RPC_ERROR";
}

}  // namespace

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
      info_.start_request();
      net::ConnectionRef ref = info_.ref;
      bool answered = dispatcher_->HandleRecord(std::move((*split)->record), info_.peer_address,
                                                [ref](std::string head, std::string tail) {
                                                  std::string framed =
                                                      RecordMarker(head.size() + tail.size());
                                                  framed += head;
                                                  std::vector<std::string> parts;
                                                  parts.push_back(std::move(framed));
                                                  parts.push_back(std::move(tail));
                                                  ref.SendParts(std::move(parts));
                                                });
      if (!answered) ref.Send("");  // nothing to send: just end the request
    }
    return consumed;
  }

 private:
  RpcDispatcher* dispatcher_;
  net::ConnectionInfo info_;
};

bool RpcDispatcher::HandleRecord(std::string record_bytes, const std::string& client_address,
                                 ReplySink send, bool datagram) {
  auto record_ptr = std::make_shared<const std::string>(std::move(record_bytes));
  const std::string& record = *record_ptr;
  CallError error{CallError::kGarbage};
  std::optional<CallHeader> header = DecodeCall(record, &error);
  if (!header.has_value()) {
    switch (error.kind) {
      case CallError::kNotACall:
        return false;  // a stray reply: ignore
      case CallError::kRpcMismatch:
        send(EncodeRpcMismatch(error.xid), "");
        return true;
      case CallError::kGarbage:
        if (record.size() < 8) return false;
        send(EncodeAcceptedReply(error.xid, AcceptStat::kGarbageArgs), "");
        return true;
    }
  }
  RpcProgram* program = Find(header->program);
  if (program == nullptr) {
    send(EncodeAcceptedReply(header->xid, AcceptStat::kProgUnavail), "");
    return true;
  }
  if (header->version < program->min_version() || header->version > program->max_version()) {
    send(EncodeProgMismatch(header->xid, program->min_version(), program->max_version()), "");
    return true;
  }
  RpcCall call;
  call.xid = header->xid;
  call.version = header->version;
  call.procedure = header->procedure;
  call.flavor = header->flavor;
  call.client_address = client_address;
  call.datagram = datagram;
  if (header->flavor == AuthFlavor::kSys) {
    call.auth_sys = DecodeAuthSys(header->credential);
    if (!call.auth_sys.has_value()) {
      send(EncodeAuthError(header->xid, AuthStat::kBadCred), "");
      return true;
    }
  } else if (header->flavor != AuthFlavor::kNone) {
    send(EncodeAuthError(header->xid, AuthStat::kTooWeak), "");
    return true;
  }
  if (!call.auth_sys.has_value() && program->RequiresAuthSys(header->procedure)) {
    send(EncodeAuthError(header->xid, AuthStat::kTooWeak), "");
    return true;
  }
  call.args = header->args;
  call.record = record_ptr;

  std::optional<RequestKey> key;
  if (program->IsNonIdempotent(call.version, call.procedure)) {
    key = RequestKey{call.client_address, call.xid,       header->program,
                     call.version,        call.procedure, DuplicateRequestCache::Hash(call.args)};
    std::string cached;
    switch (cache_->Begin(*key, &cached)) {
      case DuplicateRequestCache::Lookup::kReplay:
        send(std::move(cached), "");
        return true;
      case DuplicateRequestCache::Lookup::kInProgress:
        return false;  // the first execution's reply answers the client
      case DuplicateRequestCache::Lookup::kNew:
        break;
    }
  }
  DuplicateRequestCache* cache = cache_;
  uint32_t xid = call.xid;
  uint32_t procedure = call.procedure;
  auto metrics_it = metrics_.find(header->program);
  observability::ProtocolMetrics* metrics =
      metrics_it == metrics_.end() ? nullptr : metrics_it->second;
  absl::Time arrived = absl::Now();
  size_t received = record.size();
  program->Dispatch(std::move(call), [send = std::move(send), cache, key, xid, program, procedure,
                                      metrics, arrived, received](AcceptStat stat, std::string body,
                                                                  std::string tail) mutable {
    if (metrics != nullptr || MinLogLevel() <= LogLevel::kDebug) {
      std::string error = stat == AcceptStat::kSuccess ? program->ResultStatusName(procedure, body)
                                                       : AcceptStatName(stat);
      if (metrics != nullptr) {
        metrics->Record(program->ProcedureName(procedure), error, absl::Now() - arrived, received,
                        body.size() + tail.size());
      }
      if (!error.empty()) {
        CFS_LOG_REQUEST(DEBUG, "rpc", absl::StrCat("xid ", xid))
            << program->ProcedureName(procedure) << ": " << error;
      }
    }
    std::string head = EncodeAcceptedReply(xid, stat, body);
    if (key.has_value()) cache->Finish(*key, head + tail);
    send(std::move(head), std::move(tail));
  });
  return true;
}

std::string RpcProgram::ProcedureName(uint32_t procedure) const {
  return absl::StrCat("proc", procedure);
}

void RpcDispatcher::SetMetrics(uint32_t program, observability::ProtocolMetrics* metrics) {
  metrics_[program] = metrics;
}

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
