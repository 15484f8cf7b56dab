// SMB2 framing (MS-SMB2 2.1, 2.2.1, 2.2.41): the 4-byte Direct TCP transport header, the
// 64-byte SMB2 header (sync and async forms), compound chains and the 52-byte
// TRANSFORM_HEADER of encrypted messages. Pure codecs over byte strings; fuzzed.
#ifndef CFS_LIB_PROTOCOLS_SMB_SMB2_HEADER_H_
#define CFS_LIB_PROTOCOLS_SMB_SMB2_HEADER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cfs::smb {

inline constexpr size_t kSmb2HeaderSize = 64;
inline constexpr size_t kTransformHeaderSize = 52;
inline constexpr uint32_t kFlagServerToRedir = 0x00000001;
inline constexpr uint32_t kFlagAsyncCommand = 0x00000002;
inline constexpr uint32_t kFlagRelatedOperations = 0x00000004;
inline constexpr uint32_t kFlagSigned = 0x00000008;

// What the first bytes of a transport message are.
enum class MessageKind { kSmb2, kTransform, kSmb1, kUnknown };
MessageKind KindOf(absl::string_view message);

// Direct TCP transport (MS-SMB2 2.1): a zero byte, then a 24-bit big-endian length.
// Returns the whole frame's size (header included) once the 4 header bytes are there, nullopt
// before. Errors: kInvalidArgument (not a session message, or longer than `max_message`).
absl::StatusOr<std::optional<size_t>> FrameSize(absl::string_view buffer, size_t max_message);
// The 4-byte Direct TCP header of a message of `size` bytes, and a whole framed message.
std::string FrameHeader(size_t size);
std::string FrameMessage(absl::string_view message);

struct Smb2Header {
  uint16_t credit_charge = 0;
  uint32_t status = 0;  // NTSTATUS in responses; ChannelSequence/Reserved in requests
  uint16_t command = 0;
  uint16_t credits = 0;  // requested or granted
  uint32_t flags = 0;
  uint32_t next_command = 0;  // offset of the next message of a compound, 0 for the last
  uint64_t message_id = 0;
  uint32_t process_id = 0;  // sync form
  uint32_t tree_id = 0;     // sync form
  uint64_t async_id = 0;    // async form (kFlagAsyncCommand)
  uint64_t session_id = 0;
  std::string signature = std::string(16, '\0');

  bool async() const { return (flags & kFlagAsyncCommand) != 0; }
};

// Errors: kInvalidArgument (short, wrong protocol id, structure size not 64).
absl::StatusOr<Smb2Header> DecodeSmb2Header(absl::string_view message);
std::string EncodeSmb2Header(const Smb2Header& header);

// The messages of a compound chain, each from its header to the next NextCommand offset (or
// the end). Errors: kInvalidArgument (an offset that is not 8-byte aligned, points outside the
// packet or leaves less than a header).
absl::StatusOr<std::vector<absl::string_view>> SplitCompound(absl::string_view packet);

struct TransformHeader {
  std::string signature = std::string(16, '\0');  // the AEAD tag
  std::string nonce = std::string(16, '\0');      // 11 (CCM) or 12 (GCM) bytes used
  uint32_t original_message_size = 0;
  uint16_t flags = 1;  // Encrypted (3.1.1) / EncryptionAlgorithm AES-128-CCM (3.0)
  uint64_t session_id = 0;
};
// Errors: kInvalidArgument (short, wrong protocol id).
absl::StatusOr<TransformHeader> DecodeTransformHeader(absl::string_view message);
std::string EncodeTransformHeader(const TransformHeader& header);
// The bytes the AEAD authenticates: the header from its Nonce field on (32 bytes).
absl::string_view TransformAad(absl::string_view encoded_header);

}  // namespace cfs::smb

#endif  // CFS_LIB_PROTOCOLS_SMB_SMB2_HEADER_H_
