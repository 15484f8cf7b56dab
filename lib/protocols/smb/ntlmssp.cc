#include "lib/protocols/smb/ntlmssp.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "absl/strings/str_cat.h"
#include "lib/auth/nt_crypto.h"
#include "lib/protocols/smb/le_bytes.h"
#include "lib/protocols/smb/smb_crypto.h"

namespace cfs::smb {

namespace {

constexpr absl::string_view kSignature("NTLMSSP\0", 8);
constexpr size_t kMicOffset = 72;
constexpr uint16_t kAvEol = 0;
constexpr uint16_t kAvNbComputerName = 1;
constexpr uint16_t kAvNbDomainName = 2;
constexpr uint16_t kAvFlags = 6;
constexpr uint16_t kAvTimestamp = 7;
constexpr uint32_t kAvFlagMicPresent = 0x2;

absl::Status Malformed(absl::string_view why) { return absl::InvalidArgumentError(why); }

// A security buffer (length, max length, offset) at `at`: the bytes it names.
absl::StatusOr<absl::string_view> Field(absl::string_view message, size_t at) {
  if (at + 8 > message.size()) return Malformed("NTLM message too short for its fields");
  uint16_t length = Le16(message, at);
  uint32_t offset = Le32(message, at + 4);
  if (offset > message.size() || length > message.size() - offset) {
    return Malformed("an NTLM field points outside the message");
  }
  return message.substr(offset, length);
}

absl::Status Utf16Field(absl::string_view message, size_t at, std::string* out) {
  absl::StatusOr<absl::string_view> raw = Field(message, at);
  if (!raw.ok()) return raw.status();
  if (!auth::Utf16LeToUtf8(*raw, out)) return Malformed("an NTLM name is not UTF-16");
  return absl::OkStatus();
}

void PutAv(std::string* out, uint16_t id, absl::string_view value) {
  Put16(out, id);
  Put16(out, static_cast<uint16_t>(value.size()));
  out->append(value.data(), value.size());
}

std::string Utf16(absl::string_view utf8) {
  std::string out;
  auth::Utf8ToUtf16Le(utf8, &out);
  return out;
}

// The MsvAvFlags of the client's target info inside an NTLMv2 response (0 when absent).
uint32_t AvFlagsOf(absl::string_view nt_response) {
  if (nt_response.size() < 16 + 28) return 0;
  absl::string_view pairs = nt_response.substr(16 + 28);
  while (pairs.size() >= 4) {
    uint16_t id = Le16(pairs, 0);
    uint16_t length = Le16(pairs, 2);
    if (id == kAvEol || length > pairs.size() - 4) return 0;
    if (id == kAvFlags && length == 4) return Le32(pairs, 4);
    pairs.remove_prefix(4 + length);
  }
  return 0;
}

// Whether the AV pair list of an NTLMv2 response's client challenge (after the 16-byte proof
// and the 28-byte fixed part) stays inside the response and ends with MsvAvEOL (MS-NLMP
// 2.2.2.7). Bytes after MsvAvEOL are padding and allowed.
bool AvPairsWellFormed(absl::string_view nt_response) {
  if (nt_response.size() < 16 + 28) return false;
  absl::string_view pairs = nt_response.substr(16 + 28);
  while (pairs.size() >= 4) {
    uint16_t id = Le16(pairs, 0);
    uint16_t length = Le16(pairs, 2);
    if (length > pairs.size() - 4) return false;
    if (id == kAvEol) return length == 0;
    pairs.remove_prefix(4 + length);
  }
  return false;
}

}  // namespace

absl::StatusOr<uint32_t> ParseNegotiateFlags(absl::string_view message) {
  if (message.size() < 16 || message.substr(0, 8) != kSignature || Le32(message, 8) != 1) {
    return Malformed("not an NTLMSSP NEGOTIATE message");
  }
  return Le32(message, 12);
}

absl::StatusOr<NtlmAuthenticate> ParseAuthenticate(absl::string_view message) {
  if (message.size() < 64 || message.substr(0, 8) != kSignature || Le32(message, 8) != 3) {
    return Malformed("not an NTLMSSP AUTHENTICATE message");
  }
  NtlmAuthenticate out;
  absl::StatusOr<absl::string_view> lm = Field(message, 12);
  absl::StatusOr<absl::string_view> nt = Field(message, 20);
  absl::StatusOr<absl::string_view> key = Field(message, 52);
  for (const auto* field : {&lm, &nt, &key}) {
    if (!field->ok()) return field->status();
  }
  out.lm_response = std::string(*lm);
  out.nt_response = std::string(*nt);
  out.encrypted_random_session_key = std::string(*key);
  absl::Status names = Utf16Field(message, 28, &out.domain);
  if (names.ok()) names = Utf16Field(message, 36, &out.user);
  if (names.ok()) names = Utf16Field(message, 44, &out.workstation);
  if (!names.ok()) return names;
  out.flags = Le32(message, 60);
  if (out.nt_response.size() > 24 && !AvPairsWellFormed(out.nt_response)) {
    return Malformed("the NTLMv2 response's AV pair list is not terminated by MsvAvEOL");
  }
  out.has_mic = (AvFlagsOf(out.nt_response) & kAvFlagMicPresent) != 0;
  if (out.has_mic) {
    if (message.size() < kMicOffset + 16) return Malformed("the MIC is missing");
    out.mic = std::string(message.substr(kMicOffset, 16));
  }
  return out;
}

std::string BuildChallenge(uint32_t flags, absl::string_view server_challenge,
                           absl::string_view domain, absl::string_view computer,
                           uint64_t filetime) {
  std::string target_name = Utf16(domain);
  std::string info;
  PutAv(&info, kAvNbDomainName, target_name);
  PutAv(&info, kAvNbComputerName, Utf16(computer));
  std::string time;
  for (int i = 0; i < 8; ++i) time.push_back(static_cast<char>((filetime >> (8 * i)) & 0xFF));
  PutAv(&info, kAvTimestamp, time);
  PutAv(&info, kAvEol, "");
  constexpr uint32_t kHeader = 56;  // fixed part with the version field
  std::string out(kSignature);
  Put32(&out, 2);
  Put16(&out, static_cast<uint16_t>(target_name.size()));
  Put16(&out, static_cast<uint16_t>(target_name.size()));
  Put32(&out, kHeader);
  Put32(&out, flags | kNtlmNegotiateTargetInfo | kNtlmTargetTypeServer);
  out.append(server_challenge.data(), 8);
  out.append(8, '\0');  // reserved
  Put16(&out, static_cast<uint16_t>(info.size()));
  Put16(&out, static_cast<uint16_t>(info.size()));
  Put32(&out, kHeader + static_cast<uint32_t>(target_name.size()));
  out.append("\x06\x01\xb1\x1d\x00\x00\x00\x0f", 8);  // version 6.1.7601, NTLM revision 15
  out += target_name;
  out += info;
  return out;
}

absl::StatusOr<NtlmResult> VerifyAuthenticate(
    absl::string_view negotiate, absl::string_view challenge, absl::string_view authenticate,
    absl::string_view server_challenge,
    const std::function<std::optional<std::string>(const std::string& user)>& nt_hash_of) {
  absl::StatusOr<NtlmAuthenticate> auth = ParseAuthenticate(authenticate);
  if (!auth.ok()) return auth.status();
  if (auth->nt_response.size() <= 24) {
    return absl::PermissionDeniedError("NTLMv1 and LM responses are refused; NTLMv2 only");
  }
  std::optional<std::string> nt_hash = nt_hash_of(auth->user);
  if (!nt_hash.has_value()) return absl::PermissionDeniedError("unknown user");
  absl::StatusOr<std::string> owf = NtOwfV2(*nt_hash, auth->user, auth->domain);
  if (!owf.ok()) return owf.status();
  NtlmV2Check check = CheckNtlmV2Response(*owf, server_challenge, auth->nt_response);
  if (!check.valid) return absl::PermissionDeniedError("wrong password");
  NtlmResult result;
  result.user = auth->user;
  result.domain = auth->domain;
  result.flags = auth->flags;
  result.session_key = check.session_base_key;  // the key exchange key for NTLMv2
  if ((auth->flags & kNtlmNegotiateKeyExchange) != 0 &&
      auth->encrypted_random_session_key.size() == 16) {
    absl::StatusOr<std::string> exported =
        Rc4(result.session_key, auth->encrypted_random_session_key);
    if (!exported.ok()) return exported.status();
    result.session_key = *exported;
  }
  if (auth->has_mic) {
    std::string zeroed(authenticate);
    zeroed.replace(kMicOffset, 16, 16, '\0');
    std::string expected = HmacMd5(result.session_key, absl::StrCat(negotiate, challenge, zeroed));
    if (CRYPTO_memcmp(expected.data(), auth->mic.data(), 16) != 0) {
      return absl::PermissionDeniedError("the NTLM message integrity check does not match");
    }
  }
  return result;
}

namespace {

std::string Md5(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_md5(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

}  // namespace

std::string NtlmSignature(uint32_t flags, absl::string_view session_key, bool server_to_client,
                          uint32_t seq, absl::string_view message) {
  absl::string_view sign_magic =
      server_to_client
          ? absl::string_view("session key to server-to-client signing key magic constant\0", 59)
          : absl::string_view("session key to client-to-server signing key magic constant\0", 59);
  absl::string_view seal_magic =
      server_to_client
          ? absl::string_view("session key to server-to-client sealing key magic constant\0", 59)
          : absl::string_view("session key to client-to-server sealing key magic constant\0", 59);
  std::string sign_key = Md5(absl::StrCat(session_key, sign_magic));
  absl::string_view seal_base = session_key;
  if ((flags & kNtlmNegotiate128) == 0) {
    seal_base = seal_base.substr(0, (flags & kNtlmNegotiate56) != 0 ? 7 : 5);
  }
  std::string seal_key = Md5(absl::StrCat(seal_base, seal_magic));
  std::string seq_bytes;
  Put32(&seq_bytes, seq);
  std::string checksum = HmacMd5(sign_key, absl::StrCat(seq_bytes, message)).substr(0, 8);
  if ((flags & kNtlmNegotiateKeyExchange) != 0) {
    absl::StatusOr<std::string> sealed = Rc4(seal_key, checksum);
    if (sealed.ok()) checksum = *sealed;
  }
  std::string out;
  Put32(&out, 1);
  out += checksum;
  out += seq_bytes;
  return out;
}

}  // namespace cfs::smb
