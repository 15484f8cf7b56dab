// NTLMSSP for the SMB server (MS-NLMP 2.2, 3.2): reads NEGOTIATE and AUTHENTICATE messages,
// builds the CHALLENGE, and verifies an AUTHENTICATE against the user's NT hash: the NTLMv2
// response (NTLMv1 and LM are refused), the MIC over all three messages, and the exported
// session key (with key exchange). Pure functions over byte strings; the parsers are fuzzed.
#ifndef CFS_LIB_PROTOCOLS_SMB_NTLMSSP_H_
#define CFS_LIB_PROTOCOLS_SMB_NTLMSSP_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cfs::smb {

inline constexpr uint32_t kNtlmNegotiateUnicode = 0x00000001;
inline constexpr uint32_t kNtlmRequestTarget = 0x00000004;
inline constexpr uint32_t kNtlmNegotiateSign = 0x00000010;
inline constexpr uint32_t kNtlmNegotiateSeal = 0x00000020;
inline constexpr uint32_t kNtlmNegotiateNtlm = 0x00000200;
inline constexpr uint32_t kNtlmNegotiateAlwaysSign = 0x00008000;
inline constexpr uint32_t kNtlmTargetTypeServer = 0x00020000;
inline constexpr uint32_t kNtlmExtendedSessionSecurity = 0x00080000;
inline constexpr uint32_t kNtlmNegotiateTargetInfo = 0x00800000;
inline constexpr uint32_t kNtlmNegotiateVersion = 0x02000000;
inline constexpr uint32_t kNtlmNegotiate128 = 0x20000000;
inline constexpr uint32_t kNtlmNegotiateKeyExchange = 0x40000000;
inline constexpr uint32_t kNtlmNegotiate56 = 0x80000000;

// Errors: kInvalidArgument (not an NTLMSSP NEGOTIATE message).
absl::StatusOr<uint32_t> ParseNegotiateFlags(absl::string_view message);

struct NtlmAuthenticate {
  std::string lm_response;
  std::string nt_response;
  std::string domain;  // UTF-8
  std::string user;    // UTF-8
  std::string workstation;
  std::string encrypted_random_session_key;
  uint32_t flags = 0;
  bool has_mic = false;  // the client's target info says a MIC is at offset 72
  std::string mic;
};
// Errors: kInvalidArgument (not an AUTHENTICATE message, a field outside the message, names
// that are not UTF-16).
absl::StatusOr<NtlmAuthenticate> ParseAuthenticate(absl::string_view message);

// The CHALLENGE: `flags` as negotiated, the 8-byte server challenge, the NetBIOS names and a
// timestamp (FILETIME) in the target info.
std::string BuildChallenge(uint32_t flags, absl::string_view server_challenge,
                           absl::string_view domain, absl::string_view computer, uint64_t filetime);

struct NtlmResult {
  std::string user;
  std::string domain;
  std::string session_key;  // the exported session key (16 bytes)
  uint32_t flags = 0;       // as the AUTHENTICATE message negotiated them
};
// Verifies `authenticate` for the exchange (`negotiate`, `challenge` as sent). `nt_hash_of`
// gives a user's NT hash, or nullopt for an unknown or disabled user.
// Errors: kPermissionDenied (unknown user, wrong password, NTLMv1/LM, MIC mismatch),
// kInvalidArgument (malformed).
absl::StatusOr<NtlmResult> VerifyAuthenticate(
    absl::string_view negotiate, absl::string_view challenge, absl::string_view authenticate,
    absl::string_view server_challenge,
    const std::function<std::optional<std::string>(const std::string& user)>& nt_hash_of);

// The NTLMSSP message signature (MS-NLMP 3.4.4.2, extended session security) of `message` with
// sequence number `seq`, by the keys of one direction derived from the exported session key:
// version 1, the first 8 bytes of HMAC-MD5(SignKey, seq || message) (RC4-sealed with the
// SealKey under key exchange), `seq`. 16 bytes. SPNEGO's mechListMIC is this with seq 0.
std::string NtlmSignature(uint32_t flags, absl::string_view session_key, bool server_to_client,
                          uint32_t seq, absl::string_view message);

}  // namespace cfs::smb

#endif  // CFS_LIB_PROTOCOLS_SMB_NTLMSSP_H_
