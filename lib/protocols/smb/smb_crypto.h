// The cryptography of SMB 2/3 sessions: NTLMv2 response checking and session keys
// (MS-NLMP 3.3.2, 3.4.5), the SMB 3.x key derivation (SP800-108 counter mode with HMAC-SHA256,
// MS-SMB2 3.1.4.2), message signing (HMAC-SHA256 for 2.x, AES-128-CMAC for 3.0/3.0.2,
// AES-128-GMAC for 3.1.1) and encryption (AES-128/256-CCM and -GCM for TRANSFORM_HEADER
// payloads). Pure functions over byte strings, on OpenSSL EVP; keys and outputs are raw bytes.
#ifndef CFS_LIB_PROTOCOLS_SMB_SMB_CRYPTO_H_
#define CFS_LIB_PROTOCOLS_SMB_SMB_CRYPTO_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cfs::smb {

// ---- NTLMv2 ----

// NTOWFv2: HMAC-MD5 keyed with the NT hash over UTF-16LE(uppercase(user) + domain).
// Errors: kInvalidArgument (user or domain not UTF-8).
absl::StatusOr<std::string> NtOwfV2(absl::string_view nt_hash, absl::string_view user,
                                    absl::string_view domain);

struct NtlmV2Check {
  bool valid = false;
  std::string session_base_key;  // HMAC-MD5(NTOWFv2, NTProofStr), 16 bytes
};
// Checks an NTLMv2 response (NTProofStr || temp) against the server challenge.
NtlmV2Check CheckNtlmV2Response(absl::string_view nt_owf_v2, absl::string_view server_challenge,
                                absl::string_view nt_response);

std::string HmacMd5(absl::string_view key, absl::string_view data);
// `n` bytes from OpenSSL's CSPRNG (challenges, salts, GUIDs).
std::string RandomBytes(size_t n);

// RC4 of `data` with `key` (NTLM key exchange: the exported session key is the encrypted
// random session key decrypted with the key exchange key).
absl::StatusOr<std::string> Rc4(absl::string_view key, absl::string_view data);

// ---- SMB 3.x keys ----

// SP800-108 KDF in counter mode, PRF HMAC-SHA256, r = 32, one iteration:
// HMAC(key, 00000001 || label || 00 || context || L) cut to `bits`/8 bytes (128 or 256).
std::string Smb3Kdf(absl::string_view key, absl::string_view label, absl::string_view context,
                    int bits = 128);

// ---- signing ----

// The 16-byte signature of `message` (its signature field already zeroed), given as its
// 64-byte header (a modified copy), the rest and a tail sent after it (views of the originals:
// no copy of the body). `rest` and `tail` may be empty.
std::string SignHmacSha256(absl::string_view key, absl::string_view message,
                           absl::string_view rest = {}, absl::string_view tail = {});
absl::StatusOr<std::string> SignAesCmac(absl::string_view key, absl::string_view message,
                                        absl::string_view rest = {}, absl::string_view tail = {});
// AES-128-GMAC with a 12-byte nonce (MS-SMB2 3.1.4.1: message id and role flags).
absl::StatusOr<std::string> SignAesGmac(absl::string_view key, absl::string_view nonce,
                                        absl::string_view message, absl::string_view rest = {},
                                        absl::string_view tail = {});

// ---- encryption (TRANSFORM_HEADER payloads) ----

enum class Cipher { kAes128Ccm = 1, kAes128Gcm = 2, kAes256Ccm = 3, kAes256Gcm = 4 };
// The nonce length the cipher uses from the header's 16-byte nonce field (CCM 11, GCM 12).
size_t NonceLength(Cipher cipher);
struct Sealed {
  std::string ciphertext;
  std::string tag;  // 16 bytes: the header's Signature field
};
// `aad` is the transform header from its Nonce field to its end (32 bytes).
absl::StatusOr<Sealed> Encrypt(Cipher cipher, absl::string_view key, absl::string_view nonce,
                               absl::string_view aad, absl::string_view plaintext);
// Errors: kPermissionDenied when the tag does not match (tampered or wrong key).
absl::StatusOr<std::string> Decrypt(Cipher cipher, absl::string_view key, absl::string_view nonce,
                                    absl::string_view aad, absl::string_view ciphertext,
                                    absl::string_view tag);

}  // namespace cfs::smb

#endif  // CFS_LIB_PROTOCOLS_SMB_SMB_CRYPTO_H_
