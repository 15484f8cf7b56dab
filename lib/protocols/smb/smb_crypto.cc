#include "lib/protocols/smb/smb_crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/rand.h>

#include "absl/strings/str_cat.h"
#if OPENSSL_VERSION_MAJOR >= 3
#include <openssl/core_names.h>
#else
#include <openssl/cmac.h>
#endif

#include <memory>

#include "absl/strings/ascii.h"
#include "lib/auth/nt_crypto.h"
#include "lib/common/hmac.h"

namespace cfs::smb {

namespace {

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

const EVP_CIPHER* CipherOf(Cipher cipher) {
  switch (cipher) {
    case Cipher::kAes128Ccm:
      return EVP_aes_128_ccm();
    case Cipher::kAes128Gcm:
      return EVP_aes_128_gcm();
    case Cipher::kAes256Ccm:
      return EVP_aes_256_ccm();
    case Cipher::kAes256Gcm:
      return EVP_aes_256_gcm();
  }
  return nullptr;
}

bool IsCcm(Cipher cipher) { return cipher == Cipher::kAes128Ccm || cipher == Cipher::kAes256Ccm; }

size_t KeyLength(Cipher cipher) {
  return cipher == Cipher::kAes256Ccm || cipher == Cipher::kAes256Gcm ? 32 : 16;
}

}  // namespace

absl::StatusOr<std::string> NtOwfV2(absl::string_view nt_hash, absl::string_view user,
                                    absl::string_view domain) {
  std::string identity;
  // Upper-casing covers ASCII names; others are hashed as the client sent them.
  if (!auth::Utf8ToUtf16Le(absl::AsciiStrToUpper(user), &identity) ||
      !auth::Utf8ToUtf16Le(domain, &identity)) {
    return absl::InvalidArgumentError("user or domain is not valid UTF-8");
  }
  return cfs::Hmac(EVP_md5(), nt_hash, identity);
}

NtlmV2Check CheckNtlmV2Response(absl::string_view nt_owf_v2, absl::string_view server_challenge,
                                absl::string_view nt_response) {
  NtlmV2Check check;
  // NTProofStr (16) || temp, where temp starts with 0x01 0x01 and holds at least the
  // reserved fields, the timestamp and the client challenge (28 bytes).
  if (nt_response.size() < 16 + 28 || server_challenge.size() != 8) return check;
  absl::string_view proof = nt_response.substr(0, 16);
  absl::string_view temp = nt_response.substr(16);
  std::string expected =
      cfs::Hmac(EVP_md5(), nt_owf_v2, std::string(server_challenge) + std::string(temp));
  check.valid = CRYPTO_memcmp(expected.data(), proof.data(), 16) == 0;
  if (check.valid) check.session_base_key = cfs::Hmac(EVP_md5(), nt_owf_v2, proof);
  return check;
}

std::string HmacMd5(absl::string_view key, absl::string_view data) {
  return cfs::Hmac(EVP_md5(), key, data);
}

absl::StatusOr<std::string> Rc4(absl::string_view key, absl::string_view data) {
  auth::LoadLegacyCryptoProviders();
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  const EVP_CIPHER* rc4 = EVP_rc4();
  std::string out(data.size(), '\0');
  int len = 0;
  if (!ctx || rc4 == nullptr ||
      EVP_EncryptInit_ex(ctx.get(), rc4, nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_set_key_length(ctx.get(), static_cast<int>(key.size())) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, Bytes(key), nullptr) != 1 ||
      EVP_EncryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, Bytes(data),
                        static_cast<int>(data.size())) != 1) {
    return absl::InternalError("RC4 is not available from the crypto library");
  }
  return out;
}

std::string Smb3Kdf(absl::string_view key, absl::string_view label, absl::string_view context,
                    int bits) {
  std::string input("\x00\x00\x00\x01", 4);
  input.append(label.data(), label.size());
  input.push_back('\0');
  input.append(context.data(), context.size());
  input.push_back(static_cast<char>((bits >> 24) & 0xFF));
  input.push_back(static_cast<char>((bits >> 16) & 0xFF));
  input.push_back(static_cast<char>((bits >> 8) & 0xFF));
  input.push_back(static_cast<char>(bits & 0xFF));
  return cfs::Hmac(EVP_sha256(), key, input).substr(0, static_cast<size_t>(bits / 8));
}

std::string SignHmacSha256(absl::string_view key, absl::string_view message, absl::string_view rest,
                           absl::string_view tail) {
  // SMB 2.x only; one-shot HMAC (the API OpenSSL 3 and BoringSSL share undeprecated).
  if (rest.empty() && tail.empty()) return cfs::Hmac(EVP_sha256(), key, message).substr(0, 16);
  std::string whole = absl::StrCat(message, rest, tail);
  return cfs::Hmac(EVP_sha256(), key, whole).substr(0, 16);
}

absl::StatusOr<std::string> SignAesCmac(absl::string_view key, absl::string_view message,
                                        absl::string_view rest, absl::string_view tail) {
  unsigned char out[16];
  size_t len = 0;
#if OPENSSL_VERSION_MAJOR >= 3
  std::unique_ptr<EVP_MAC, decltype(&EVP_MAC_free)> mac(EVP_MAC_fetch(nullptr, "CMAC", nullptr),
                                                        EVP_MAC_free);
  if (!mac) return absl::InternalError("CMAC is not available");
  std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> ctx(EVP_MAC_CTX_new(mac.get()),
                                                                EVP_MAC_CTX_free);
  char cipher_name[] = "aes-128-cbc";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher_name, 0),
                         OSSL_PARAM_construct_end()};
  if (!ctx || EVP_MAC_init(ctx.get(), Bytes(key), key.size(), params) != 1 ||
      EVP_MAC_update(ctx.get(), Bytes(message), message.size()) != 1 ||
      (!rest.empty() && EVP_MAC_update(ctx.get(), Bytes(rest), rest.size()) != 1) ||
      (!tail.empty() && EVP_MAC_update(ctx.get(), Bytes(tail), tail.size()) != 1) ||
      EVP_MAC_final(ctx.get(), out, &len, sizeof(out)) != 1) {
    return absl::InternalError("AES-CMAC failed");
  }
#else
  std::unique_ptr<CMAC_CTX, decltype(&CMAC_CTX_free)> ctx(CMAC_CTX_new(), CMAC_CTX_free);
  if (!ctx || CMAC_Init(ctx.get(), key.data(), key.size(), EVP_aes_128_cbc(), nullptr) != 1 ||
      CMAC_Update(ctx.get(), message.data(), message.size()) != 1 ||
      (!rest.empty() && CMAC_Update(ctx.get(), rest.data(), rest.size()) != 1) ||
      (!tail.empty() && CMAC_Update(ctx.get(), tail.data(), tail.size()) != 1) ||
      CMAC_Final(ctx.get(), out, &len) != 1) {
    return absl::InternalError("AES-CMAC failed");
  }
#endif
  return std::string(reinterpret_cast<char*>(out), len);
}

absl::StatusOr<std::string> SignAesGmac(absl::string_view key, absl::string_view nonce,
                                        absl::string_view message, absl::string_view rest,
                                        absl::string_view tail) {
  // GMAC: AES-GCM over additional data only, fed in parts.
  if (key.size() != 16 || nonce.size() != 12) {
    return absl::InvalidArgumentError("wrong GMAC key or nonce length");
  }
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  unsigned char tag[16];
  int len = 0;
  bool ok = ctx &&
            EVP_EncryptInit_ex(ctx.get(), EVP_aes_128_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, 12, nullptr) == 1 &&
            EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, Bytes(key), Bytes(nonce)) == 1;
  for (absl::string_view part : {message, rest, tail}) {
    if (!ok || part.empty()) continue;
    ok = EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(part), static_cast<int>(part.size())) ==
         1;
  }
  ok = ok && EVP_EncryptFinal_ex(ctx.get(), tag, &len) == 1 &&
       EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
  if (!ok) return absl::InternalError("AES-GMAC failed");
  return std::string(reinterpret_cast<char*>(tag), 16);
}

size_t NonceLength(Cipher cipher) { return IsCcm(cipher) ? 11 : 12; }

absl::StatusOr<Sealed> Encrypt(Cipher cipher, absl::string_view key, absl::string_view nonce,
                               absl::string_view aad, absl::string_view plaintext) {
  if (key.size() != KeyLength(cipher) || nonce.size() != NonceLength(cipher)) {
    return absl::InvalidArgumentError("wrong key or nonce length for the cipher");
  }
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  bool ccm = IsCcm(cipher);
  int ivlen_ctrl = ccm ? EVP_CTRL_CCM_SET_IVLEN : EVP_CTRL_GCM_SET_IVLEN;
  Sealed out;
  out.ciphertext.resize(plaintext.size());
  unsigned char tag[16];
  int len = 0;
  bool ok =
      ctx && EVP_EncryptInit_ex(ctx.get(), CipherOf(cipher), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), ivlen_ctrl, static_cast<int>(nonce.size()), nullptr) == 1 &&
      (!ccm || EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_CCM_SET_TAG, 16, nullptr) == 1) &&
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, Bytes(key), Bytes(nonce)) == 1 &&
      (!ccm || EVP_EncryptUpdate(ctx.get(), nullptr, &len, nullptr,
                                 static_cast<int>(plaintext.size())) == 1) &&
      (aad.empty() || EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(aad),
                                        static_cast<int>(aad.size())) == 1) &&
      (plaintext.empty() ||
       EVP_EncryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.ciphertext.data()), &len,
                         Bytes(plaintext), static_cast<int>(plaintext.size())) == 1) &&
      EVP_EncryptFinal_ex(ctx.get(), tag, &len) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), ccm ? EVP_CTRL_CCM_GET_TAG : EVP_CTRL_GCM_GET_TAG, 16, tag) ==
          1;
  if (!ok) return absl::InternalError("encryption failed");
  out.tag.assign(reinterpret_cast<char*>(tag), 16);
  return out;
}

absl::StatusOr<std::string> Decrypt(Cipher cipher, absl::string_view key, absl::string_view nonce,
                                    absl::string_view aad, absl::string_view ciphertext,
                                    absl::string_view tag) {
  if (key.size() != KeyLength(cipher) || nonce.size() != NonceLength(cipher) || tag.size() != 16) {
    return absl::InvalidArgumentError("wrong key, nonce or tag length for the cipher");
  }
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  bool ccm = IsCcm(cipher);
  std::string plain(ciphertext.size(), '\0');
  std::string tag_copy(tag);
  int len = 0;
  bool setup =
      ctx && EVP_DecryptInit_ex(ctx.get(), CipherOf(cipher), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), ccm ? EVP_CTRL_CCM_SET_IVLEN : EVP_CTRL_GCM_SET_IVLEN,
                          static_cast<int>(nonce.size()), nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), ccm ? EVP_CTRL_CCM_SET_TAG : EVP_CTRL_GCM_SET_TAG, 16,
                          tag_copy.data()) == 1 &&
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, Bytes(key), Bytes(nonce)) == 1 &&
      (!ccm || EVP_DecryptUpdate(ctx.get(), nullptr, &len, nullptr,
                                 static_cast<int>(ciphertext.size())) == 1) &&
      (aad.empty() ||
       EVP_DecryptUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) == 1);
  if (!setup) return absl::InternalError("decryption set-up failed");
  // CCM checks the tag in the update; GCM in the final step.
  bool body_ok =
      ciphertext.empty() && !ccm
          ? true
          : EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &len,
                              Bytes(ciphertext), static_cast<int>(ciphertext.size())) == 1;
  bool final_ok =
      ccm ? body_ok
          : body_ok && EVP_DecryptFinal_ex(
                           ctx.get(), reinterpret_cast<unsigned char*>(plain.data()) + plain.size(),
                           &len) == 1;
  if (!final_ok) return absl::PermissionDeniedError("the message does not authenticate");
  return plain;
}

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n));
  return out;
}

}  // namespace cfs::smb
