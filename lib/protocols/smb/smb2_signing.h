// SMB2 session keys and message signing (MS-SMB2 3.1.4.1, 3.2.5.3.1, 3.3.5.5.3): the keys each
// dialect derives from the session key (and, for 3.1.1, the preauth integrity hash), the
// SHA-512 preauth hash chain, and signing/verifying a whole SMB2 message in place.
#ifndef CFS_LIB_PROTOCOLS_SMB_SMB2_SIGNING_H_
#define CFS_LIB_PROTOCOLS_SMB_SMB2_SIGNING_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace cfs::smb {

inline constexpr uint16_t kSigningHmacSha256 = 0;
inline constexpr uint16_t kSigningAesCmac = 1;
inline constexpr uint16_t kSigningAesGmac = 2;

struct SessionKeys {
  std::string signing;
  std::string application;
  std::string server_out;  // encrypts what the server sends (3.x)
  std::string server_in;   // decrypts what clients send (3.x)
};
// `key_bits` is 256 for the AES-256 ciphers, else 128.
SessionKeys DeriveSessionKeys(uint16_t dialect, absl::string_view session_key,
                              absl::string_view preauth_hash, int key_bits = 128);

// The 3.1.1 preauth integrity hash: H = SHA-512(H || message), starting from 64 zero bytes.
class PreauthHash {
 public:
  void Update(absl::string_view message);
  const std::string& value() const { return value_; }

 private:
  std::string value_ = std::string(64, '\0');
};

// Signs `message` (a whole SMB2 message) in place: sets SMB2_FLAGS_SIGNED and writes the
// signature. `algorithm` is kSigning*. Errors: kInvalidArgument (not an SMB2 message).
// `tail`: bytes sent right after `message` as part of it (a READ's data, not copied in).
absl::Status SignMessage(uint16_t algorithm, absl::string_view key, std::string* message,
                         absl::string_view tail = {});
// True when `message`'s signature is right (it is not modified).
bool VerifyMessage(uint16_t algorithm, absl::string_view key, absl::string_view message);

}  // namespace cfs::smb

#endif  // CFS_LIB_PROTOCOLS_SMB_SMB2_SIGNING_H_
