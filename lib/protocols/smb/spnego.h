// SPNEGO (RFC 4178) as SMB carries it in NEGOTIATE and SESSION_SETUP: the server's
// NegTokenInit hint (NTLMSSP as the one mechanism), client NegTokenInit / NegTokenResp tokens,
// and the server's NegTokenResp. A minimal DER reader and writer, bounds-checked and fuzzed.
// Raw NTLMSSP tokens (clients that skip SPNEGO) are accepted as they are.
#ifndef CFS_LIB_PROTOCOLS_SMB_SPNEGO_H_
#define CFS_LIB_PROTOCOLS_SMB_SPNEGO_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cfs::smb {

// DER of the NTLMSSP mechanism OID 1.3.6.1.4.1.311.2.2.10 (tag and length included).
inline constexpr absl::string_view kNtlmsspOid("\x06\x0a\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a",
                                               12);

struct SpnegoToken {
  bool raw_ntlmssp = false;             // not wrapped at all
  std::vector<std::string> mech_types;  // NegTokenInit: DER OIDs in the client's order
  std::string mech_types_der;           // the encoded MechTypeList (for a mechListMIC)
  std::string mech_token;               // the inner (NTLMSSP) token
  std::string mech_list_mic;
};

// Errors: kInvalidArgument (malformed DER, or neither NegTokenInit nor NegTokenResp).
absl::StatusOr<SpnegoToken> ParseSpnego(absl::string_view blob);

// The security buffer of the NEGOTIATE response: NegTokenInit with NTLMSSP as the mechanism.
std::string NegotiateHint();

enum class NegState { kAcceptCompleted = 0, kAcceptIncomplete = 1, kReject = 2 };
// The server's NegTokenResp; `with_mech` adds supportedMech NTLMSSP (the first response).
std::string NegTokenResp(NegState state, bool with_mech, absl::string_view response_token,
                         absl::string_view mech_list_mic = "");

}  // namespace cfs::smb

#endif  // CFS_LIB_PROTOCOLS_SMB_SPNEGO_H_
