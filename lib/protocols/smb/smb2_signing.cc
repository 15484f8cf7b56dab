#include "lib/protocols/smb/smb2_signing.h"

#include <openssl/crypto.h>

#include "lib/protocols/smb/digest_sha512.h"
#include "lib/protocols/smb/smb2_header.h"
#include "lib/protocols/smb/smb2_negotiate.h"
#include "lib/protocols/smb/smb_crypto.h"

namespace cfs::smb {

namespace {

std::string Label(absl::string_view text) { return std::string(text) + std::string(1, '\0'); }

// The signature of `message` with its signature field zeroed and the signed flag set. Only
// the 64-byte header is copied (to change those fields); the body is signed in place.
std::string Compute(uint16_t algorithm, absl::string_view key, absl::string_view message,
                    absl::string_view tail = {}) {
  std::string header(message.substr(0, kSmb2HeaderSize));
  absl::string_view rest = message.substr(kSmb2HeaderSize);
  header[16] = static_cast<char>(static_cast<uint8_t>(header[16]) | kFlagSigned);
  header.replace(48, 16, 16, '\0');
  switch (algorithm) {
    case kSigningHmacSha256:
      return SignHmacSha256(key, header, rest, tail);
    case kSigningAesCmac: {
      absl::StatusOr<std::string> mac = SignAesCmac(key, header, rest, tail);
      return mac.ok() ? *mac : std::string();
    }
    case kSigningAesGmac: {
      // Nonce: the message id, then a word whose bit 0 says server-to-client and bit 1 CANCEL.
      std::string nonce = header.substr(24, 8);
      uint32_t flags = static_cast<uint8_t>(header[16]);
      uint16_t command = static_cast<uint8_t>(header[12]) | (static_cast<uint8_t>(header[13]) << 8);
      uint32_t role = (flags & kFlagServerToRedir) ? 1 : 0;
      if (command == 0x000C) role |= 2;  // CANCEL
      for (int i = 0; i < 4; ++i) nonce.push_back(static_cast<char>((role >> (8 * i)) & 0xFF));
      absl::StatusOr<std::string> mac = SignAesGmac(key, nonce, header, rest, tail);
      return mac.ok() ? *mac : std::string();
    }
    default:
      return std::string();
  }
}

}  // namespace

SessionKeys DeriveSessionKeys(uint16_t dialect, absl::string_view session_key,
                              absl::string_view preauth_hash, int key_bits) {
  SessionKeys keys;
  if (dialect < kDialect300) {
    keys.signing = std::string(session_key.substr(0, 16));
    return keys;
  }
  std::string sk(session_key.substr(0, 16));
  if (dialect == kDialect311) {
    keys.signing = Smb3Kdf(sk, Label("SMBSigningKey"), preauth_hash);
    keys.application = Smb3Kdf(sk, Label("SMBAppKey"), preauth_hash);
    keys.server_out = Smb3Kdf(sk, Label("SMBS2CCipherKey"), preauth_hash, key_bits);
    keys.server_in = Smb3Kdf(sk, Label("SMBC2SCipherKey"), preauth_hash, key_bits);
  } else {
    keys.signing = Smb3Kdf(sk, Label("SMB2AESCMAC"), Label("SmbSign"));
    keys.application = Smb3Kdf(sk, Label("SMB2APP"), Label("SmbRpc"));
    keys.server_out = Smb3Kdf(sk, Label("SMB2AESCCM"), Label("ServerOut"));
    keys.server_in = Smb3Kdf(sk, Label("SMB2AESCCM"), Label("ServerIn "));
  }
  return keys;
}

void PreauthHash::Update(absl::string_view message) {
  value_ = Sha512(value_ + std::string(message));
}

absl::Status SignMessage(uint16_t algorithm, absl::string_view key, std::string* message,
                         absl::string_view tail) {
  if (KindOf(*message) != MessageKind::kSmb2 || message->size() < kSmb2HeaderSize) {
    return absl::InvalidArgumentError("not an SMB2 message");
  }
  std::string signature = Compute(algorithm, key, *message, tail);
  if (signature.size() != 16) return absl::InvalidArgumentError("unknown signing algorithm");
  (*message)[16] = static_cast<char>(static_cast<uint8_t>((*message)[16]) | kFlagSigned);
  message->replace(48, 16, signature);
  return absl::OkStatus();
}

bool VerifyMessage(uint16_t algorithm, absl::string_view key, absl::string_view message) {
  if (KindOf(message) != MessageKind::kSmb2 || message.size() < kSmb2HeaderSize) return false;
  std::string expected = Compute(algorithm, key, message);
  return expected.size() == 16 && CRYPTO_memcmp(expected.data(), message.data() + 48, 16) == 0;
}

}  // namespace cfs::smb
