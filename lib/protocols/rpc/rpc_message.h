// ONC RPC v2 messages (RFC 5531): record marking over TCP, call headers, AUTH_SYS credentials
// and every reply form. Pure functions over byte spans; fuzzed.
//
// Example:
//   absl::StatusOr<RecordSplit> rec = SplitRecord(input, kMaxRecord);
//   absl::StatusOr<CallHeader> call = DecodeCall(rec->record);
//   std::string reply = FrameRecord(EncodeAcceptedReply(call->xid, AcceptStat::kSuccess, body));

#ifndef CFS_LIB_PROTOCOLS_RPC_RPC_MESSAGE_H_
#define CFS_LIB_PROTOCOLS_RPC_RPC_MESSAGE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cfs::rpc {

enum class AuthFlavor : uint32_t { kNone = 0, kSys = 1, kShort = 2, kDh = 3, kGss = 6 };

enum class AcceptStat : uint32_t {
  kSuccess = 0,
  kProgUnavail = 1,
  kProgMismatch = 2,
  kProcUnavail = 3,
  kGarbageArgs = 4,
  kSystemErr = 5,
};

enum class AuthStat : uint32_t {
  kOk = 0,
  kBadCred = 1,
  kRejectedCred = 2,
  kBadVerf = 3,
  kRejectedVerf = 4,
  kTooWeak = 5,
};

struct AuthSys {
  uint32_t stamp = 0;
  std::string machine_name;  // at most 255 bytes
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> gids;  // at most 16
};

struct CallHeader {
  uint32_t xid = 0;
  uint32_t program = 0;
  uint32_t version = 0;
  uint32_t procedure = 0;
  AuthFlavor flavor = AuthFlavor::kNone;
  std::string credential;  // the raw body (at most 400 bytes)
  absl::string_view args;  // into the decoded record
};

// Why a call could not be decoded, and what to answer.
struct CallError {
  enum Kind {
    kNotACall,     // not an RPC call: drop the record silently
    kRpcMismatch,  // rpcvers != 2: MSG_DENIED RPC_MISMATCH
    kGarbage,      // truncated header: close the connection (no xid we can trust)
  } kind;
  uint32_t xid = 0;
};

// A complete record found at the start of `input`.
struct RecordSplit {
  std::string record;   // the fragments' bytes joined
  size_t consumed = 0;  // bytes of `input` the record took, markers included
};

inline constexpr size_t kMaxRecordSize = 4 << 20;  // 1 MiB of WRITE data plus headers, with room

// The first complete record of a TCP stream. nullopt: more bytes are needed. Errors:
// kResourceExhausted when a fragment or the record would exceed `max_record` (the connection is
// then closed: the stream cannot be resynchronised).
absl::StatusOr<std::optional<RecordSplit>> SplitRecord(absl::string_view input,
                                                       size_t max_record = kMaxRecordSize);

// One last-fragment record marker and `payload`.
std::string FrameRecord(absl::string_view payload);
// Just the marker of a last fragment of `length` bytes (the payload follows separately).
std::string RecordMarker(size_t length);

// Decodes a call message. On failure, `error` (when not null) says how to answer.
std::optional<CallHeader> DecodeCall(absl::string_view record, CallError* error);

// Decodes an AUTH_SYS credential body; nullopt for a malformed one (AUTH_BADCRED).
std::optional<AuthSys> DecodeAuthSys(absl::string_view body);
std::string EncodeAuthSys(const AuthSys& cred);

// Replies. `body` is the procedure's XDR-encoded result (kSuccess only).
std::string EncodeAcceptedReply(uint32_t xid, AcceptStat stat, absl::string_view body = "");
std::string EncodeProgMismatch(uint32_t xid, uint32_t low, uint32_t high);
std::string EncodeRpcMismatch(uint32_t xid);
std::string EncodeAuthError(uint32_t xid, AuthStat stat);

// A call (for clients and tests).
std::string EncodeCall(uint32_t xid, uint32_t program, uint32_t version, uint32_t procedure,
                       AuthFlavor flavor, absl::string_view credential, absl::string_view args);

}  // namespace cfs::rpc

#endif  // CFS_LIB_PROTOCOLS_RPC_RPC_MESSAGE_H_
