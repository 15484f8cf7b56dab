// SMB2 NEGOTIATE (MS-SMB2 2.2.3, 2.2.4): the request's dialects and 3.1.1 negotiate contexts
// (preauth integrity, encryption, signing, netname), the server's choice, and the response.
// Pure codecs; offsets are relative to the start of the SMB2 header, as on the wire.
#ifndef CFS_LIB_PROTOCOLS_SMB_SMB2_NEGOTIATE_H_
#define CFS_LIB_PROTOCOLS_SMB_SMB2_NEGOTIATE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cfs::smb {

inline constexpr uint16_t kDialect202 = 0x0202;
inline constexpr uint16_t kDialect210 = 0x0210;
inline constexpr uint16_t kDialect300 = 0x0300;
inline constexpr uint16_t kDialect302 = 0x0302;
inline constexpr uint16_t kDialect311 = 0x0311;
inline constexpr uint16_t kDialectWildcard = 0x02FF;

inline constexpr uint16_t kContextPreauthIntegrity = 0x0001;
inline constexpr uint16_t kContextEncryption = 0x0002;
inline constexpr uint16_t kContextCompression = 0x0003;
inline constexpr uint16_t kContextNetname = 0x0005;
inline constexpr uint16_t kContextSigning = 0x0008;
inline constexpr uint16_t kHashSha512 = 0x0001;

struct NegotiateRequest {
  uint16_t security_mode = 0;  // bit 0: signing enabled, bit 1: signing required
  uint32_t capabilities = 0;
  std::string client_guid;  // 16 bytes
  std::vector<uint16_t> dialects;
  // 3.1.1 negotiate contexts (empty when absent).
  std::vector<uint16_t> hash_algorithms;
  std::string preauth_salt;
  std::vector<uint16_t> ciphers;
  std::vector<uint16_t> signing_algorithms;
  std::string netname;  // UTF-8
  int context_count = 0;
};

// `message` is the whole SMB2 message (header included). Errors: kInvalidArgument (short,
// wrong structure size, no dialects, a context outside the message).
absl::StatusOr<NegotiateRequest> DecodeNegotiateRequest(absl::string_view message);

// The highest dialect both sides speak within [min, max]; nullopt when none.
std::optional<uint16_t> ChooseDialect(const NegotiateRequest& request, uint16_t min_dialect,
                                      uint16_t max_dialect);

struct NegotiateResponse {
  uint16_t security_mode = 1;
  uint16_t dialect = kDialect311;
  std::string server_guid = std::string(16, '\0');
  uint32_t capabilities = 0;
  uint32_t max_transact_size = 8 << 20;
  uint32_t max_read_size = 8 << 20;
  uint32_t max_write_size = 8 << 20;
  uint64_t system_time = 0;   // FILETIME
  std::string security_blob;  // SPNEGO hint
  // 3.1.1 only: the server's choices (one each).
  std::string preauth_salt;             // 32 random bytes
  uint16_t cipher = 0;                  // 0: no encryption context
  uint16_t signing_algorithm = 0xFFFF;  // 0xFFFF: no signing context
};

// The response body (after the SMB2 header), with contexts for dialect 3.1.1.
std::string EncodeNegotiateResponse(const NegotiateResponse& response);

}  // namespace cfs::smb

#endif  // CFS_LIB_PROTOCOLS_SMB_SMB2_NEGOTIATE_H_
