// A4 frames: the binary protocol between the gateway's remote backend and the data service of
// a cfs-node (read, write, commit, truncate, remove, ping), as documented in
// docs/protocols/a4.md.
//
// Every frame is a 24-byte little-endian header and a payload of the length the header gives.
// Requests carry an id chosen by the client; the response to a request carries the same id, so
// many requests can be in flight on one connection and be answered in any order. Pure codec:
// no I/O, no globals; DecodeHeader/DecodeRequest/DecodeResponse accept any bytes and fail with
// kInvalidArgument (or kResourceExhausted for an oversized payload) on anything malformed.
//
// Large data (a WRITE's bytes, a READ response's bytes) is not copied into the encoded head:
// the sender writes the head, then the data, as two parts of one frame.
//
// Example:
//   a4::Request req{a4::Op::kRead, /*id=*/7};
//   req.inode = 42; req.count = 4096;
//   std::string head = a4::EncodeRequest(req);        // send head (+ req.data for kWrite)
//   absl::StatusOr<a4::Header> h = a4::DecodeHeader(first_24_bytes);
//   absl::StatusOr<a4::Request> back = a4::DecodeRequest(*h, payload);

#ifndef CFS_LIB_BACKENDS_REMOTE_A4_FRAME_H_
#define CFS_LIB_BACKENDS_REMOTE_A4_FRAME_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/backend/types.h"

namespace cfs::remote::a4 {

inline constexpr uint32_t kMagic = 0x34534643;  // "CFS4" as bytes on the wire
inline constexpr uint8_t kVersion = 1;
inline constexpr size_t kHeaderSize = 24;
// The largest payload a peer accepts: a 16 MiB data part plus its fixed fields. A header that
// announces more closes the connection (it cannot be resynchronised).
inline constexpr uint32_t kMaxData = 16u << 20;
inline constexpr uint32_t kMaxPayload = kMaxData + 64;

enum class Kind : uint8_t { kRequest = 1, kResponse = 2 };

enum class Op : uint8_t {
  kPing = 1,      // liveness and the node's write verifier
  kRead = 2,      // bytes of an inode's local stripe file
  kWrite = 3,     // bytes into it, with a stability
  kCommit = 4,    // make earlier unstable writes of the inode stable
  kTruncate = 5,  // set the local file's length
  kRemove = 6,    // drop the inode's local file
  kMap = 7,       // which ranges of the local file hold data (the rest are holes)
  kStat = 8,      // the space of the file system holding the node's stripes
};

// A range of a local stripe file that holds data (kMap responses).
struct DataRange {
  uint64_t offset = 0;
  uint64_t length = 0;
};
// At most this many ranges in one kMap response; a caller with more asks again after the last.
inline constexpr uint32_t kMaxRanges = 4096;

struct Header {
  Kind kind = Kind::kRequest;
  Op op = Op::kPing;
  uint8_t flags = 0;  // kWrite: the Stability asked (request) or reached (response)
  uint64_t request_id = 0;
  // Request: the caller's remaining time budget in milliseconds (0: none). Response: the
  // status word (EncodeStatus).
  uint32_t aux = 0;
  uint32_t payload_length = 0;
};

struct Request {
  Op op = Op::kPing;
  uint64_t request_id = 0;
  uint32_t timeout_ms = 0;
  backend::InodeNumber inode = 0;
  uint64_t offset = 0;  // kRead, kWrite, kMap
  uint64_t length = 0;  // kRead: bytes wanted (at most kMaxData); kTruncate: new size;
                        // kMap: bytes of the range asked about
  backend::Stability stability = backend::Stability::kUnstable;  // kWrite
  absl::string_view data;  // kWrite: a view into the decoded payload, or the caller's bytes
};

struct Response {
  Op op = Op::kPing;
  uint64_t request_id = 0;
  absl::Status status;
  backend::Stability stability = backend::Stability::kUnstable;  // kWrite
  uint64_t count = 0;                                            // kWrite: bytes written
  backend::WriteVerifier verifier = 0;                           // kPing, kWrite, kCommit
  bool eof = false;               // kRead: the local file ends within the range
  absl::string_view data;         // kRead
  std::vector<DataRange> ranges;  // kMap: data ranges in ascending order
  // kStat: bytes of the node's data file system, and that file system's id (statvfs f_fsid),
  // so nodes sharing one file system can be counted once.
  uint64_t total_bytes = 0;
  uint64_t free_bytes = 0;
  uint64_t available_bytes = 0;
  uint64_t filesystem_id = 0;
};

// The status word of a response: 0 for OK, else the canonical code in bits 0-7 and the
// FsError + 1 (0: none) in bits 8-15; the message travels as the payload.
uint32_t EncodeStatus(const absl::Status& status);
absl::Status DecodeStatus(uint32_t word, absl::string_view message);

// Exactly kHeaderSize bytes. Errors: kInvalidArgument (magic, version, kind, op, flags),
// kResourceExhausted (payload over kMaxPayload).
absl::StatusOr<Header> DecodeHeader(absl::string_view bytes);

// The header and fixed fields of `request`; for kWrite the header counts `request.data`, which
// the caller sends right after. Requires request.data.size() <= kMaxData.
std::string EncodeRequest(const Request& request);
// `payload` is the frame's payload (header.payload_length bytes); the result's data views it.
absl::StatusOr<Request> DecodeRequest(const Header& header, absl::string_view payload);

// As EncodeRequest: for an OK kRead response the header counts `response.data`, sent after.
std::string EncodeResponse(const Response& response);
absl::StatusOr<Response> DecodeResponse(const Header& header, absl::string_view payload);

}  // namespace cfs::remote::a4

#endif  // CFS_LIB_BACKENDS_REMOTE_A4_FRAME_H_
