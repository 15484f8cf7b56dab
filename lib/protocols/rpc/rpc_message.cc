#include "lib/protocols/rpc/rpc_message.h"

#include "absl/strings/str_cat.h"
#include "lib/protocols/rpc/xdr.h"

namespace cfs::rpc {
namespace {

constexpr uint32_t kCall = 0;
constexpr uint32_t kReply = 1;
constexpr uint32_t kMsgAccepted = 0;
constexpr uint32_t kMsgDenied = 1;
constexpr uint32_t kRpcVersion = 2;
constexpr uint32_t kLastFragment = 0x80000000u;
constexpr size_t kMaxAuthBody = 400;

void ReplyPrefix(XdrWriter& w, uint32_t xid, uint32_t reply_stat) {
  w.U32(xid);
  w.U32(kReply);
  w.U32(reply_stat);
}

void NullVerifier(XdrWriter& w) {
  w.U32(static_cast<uint32_t>(AuthFlavor::kNone));
  w.U32(0);
}

}  // namespace

absl::StatusOr<std::optional<RecordSplit>> SplitRecord(absl::string_view input, size_t max_record) {
  RecordSplit split;
  size_t pos = 0;
  while (true) {
    if (input.size() - pos < 4) return std::nullopt;
    const auto* p = reinterpret_cast<const uint8_t*>(input.data() + pos);
    uint32_t marker =
        (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
    bool last = (marker & kLastFragment) != 0;
    size_t length = marker & ~kLastFragment;
    if (length > max_record || split.record.size() + length > max_record) {
      return absl::ResourceExhaustedError(
          absl::StrCat("RPC record exceeds ", max_record, " bytes"));
    }
    if (input.size() - pos - 4 < length) return std::nullopt;
    split.record.append(input.data() + pos + 4, length);
    pos += 4 + length;
    if (last) {
      split.consumed = pos;
      return split;
    }
  }
}

std::string RecordMarker(size_t length) {
  std::string out;
  XdrWriter w(&out);
  w.U32(kLastFragment | static_cast<uint32_t>(length));
  return out;
}

std::string FrameRecord(absl::string_view payload) {
  std::string out;
  out.reserve(payload.size() + 4);
  XdrWriter w(&out);
  w.U32(kLastFragment | static_cast<uint32_t>(payload.size()));
  w.Raw(payload);
  return out;
}

std::optional<CallHeader> DecodeCall(absl::string_view record, CallError* error) {
  CallError ignored{CallError::kGarbage};
  if (error == nullptr) error = &ignored;
  XdrReader in(record);
  CallHeader call;
  call.xid = in.U32();
  uint32_t type = in.U32();
  if (!in.ok()) {
    error->kind = CallError::kGarbage;
    return std::nullopt;
  }
  error->xid = call.xid;
  if (type != kCall) {
    error->kind = CallError::kNotACall;
    return std::nullopt;
  }
  uint32_t rpcvers = in.U32();
  if (in.ok() && rpcvers != kRpcVersion) {
    error->kind = CallError::kRpcMismatch;
    return std::nullopt;
  }
  call.program = in.U32();
  call.version = in.U32();
  call.procedure = in.U32();
  call.flavor = static_cast<AuthFlavor>(in.U32());
  call.credential = in.Opaque(kMaxAuthBody);
  in.U32();                 // verifier flavor
  in.Opaque(kMaxAuthBody);  // verifier body (we use none)
  if (!in.ok()) {
    error->kind = CallError::kGarbage;
    return std::nullopt;
  }
  call.args = record.substr(in.position());
  return call;
}

std::optional<AuthSys> DecodeAuthSys(absl::string_view body) {
  XdrReader in(body);
  AuthSys cred;
  cred.stamp = in.U32();
  cred.machine_name = in.String(255);
  cred.uid = in.U32();
  cred.gid = in.U32();
  uint32_t count = in.U32();
  if (count > 16) return std::nullopt;
  for (uint32_t i = 0; i < count; ++i) cred.gids.push_back(in.U32());
  if (!in.ok() || in.remaining() != 0) return std::nullopt;
  return cred;
}

std::string EncodeAuthSys(const AuthSys& cred) {
  XdrWriter w;
  w.U32(cred.stamp);
  w.String(cred.machine_name);
  w.U32(cred.uid);
  w.U32(cred.gid);
  w.U32(static_cast<uint32_t>(cred.gids.size()));
  for (uint32_t g : cred.gids) w.U32(g);
  return w.Release();
}

std::string EncodeAcceptedReply(uint32_t xid, AcceptStat stat, absl::string_view body) {
  XdrWriter w;
  w.buffer().reserve(24 + body.size());
  ReplyPrefix(w, xid, kMsgAccepted);
  NullVerifier(w);
  w.U32(static_cast<uint32_t>(stat));
  if (stat == AcceptStat::kSuccess) w.Raw(body);
  return w.Release();
}

std::string EncodeProgMismatch(uint32_t xid, uint32_t low, uint32_t high) {
  XdrWriter w;
  ReplyPrefix(w, xid, kMsgAccepted);
  NullVerifier(w);
  w.U32(static_cast<uint32_t>(AcceptStat::kProgMismatch));
  w.U32(low);
  w.U32(high);
  return w.Release();
}

std::string EncodeRpcMismatch(uint32_t xid) {
  XdrWriter w;
  ReplyPrefix(w, xid, kMsgDenied);
  w.U32(0);  // RPC_MISMATCH
  w.U32(kRpcVersion);
  w.U32(kRpcVersion);
  return w.Release();
}

std::string EncodeAuthError(uint32_t xid, AuthStat stat) {
  XdrWriter w;
  ReplyPrefix(w, xid, kMsgDenied);
  w.U32(1);  // AUTH_ERROR
  w.U32(static_cast<uint32_t>(stat));
  return w.Release();
}

std::string EncodeCall(uint32_t xid, uint32_t program, uint32_t version, uint32_t procedure,
                       AuthFlavor flavor, absl::string_view credential, absl::string_view args) {
  XdrWriter w;
  w.U32(xid);
  w.U32(kCall);
  w.U32(kRpcVersion);
  w.U32(program);
  w.U32(version);
  w.U32(procedure);
  w.U32(static_cast<uint32_t>(flavor));
  w.Opaque(credential);
  NullVerifier(w);
  w.Raw(args);
  return w.Release();
}

}  // namespace cfs::rpc
