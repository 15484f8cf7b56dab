#include "lib/protocols/smb/smb2_negotiate.h"

#include <algorithm>

#include "lib/auth/nt_crypto.h"
#include "lib/protocols/smb/le_bytes.h"
#include "lib/protocols/smb/smb2_header.h"

namespace cfs::smb {

namespace {

void Pad8(std::string* out, size_t base) {
  while ((base + out->size()) % 8 != 0) out->push_back('\0');
}

absl::Status Malformed(absl::string_view why) { return absl::InvalidArgumentError(why); }

// A list of `count` 16-bit ids at `at` of `data`, or false when it does not fit.
bool ReadIds(absl::string_view data, size_t at, size_t count, std::vector<uint16_t>* out) {
  if (at + 2 * count > data.size()) return false;
  for (size_t i = 0; i < count; ++i) out->push_back(Le16(data, at + 2 * i));
  return true;
}

absl::Status ReadContext(uint16_t type, absl::string_view data, NegotiateRequest* r) {
  switch (type) {
    case kContextPreauthIntegrity: {
      if (data.size() < 4) return Malformed("short preauth integrity context");
      size_t count = Le16(data, 0), salt = Le16(data, 2);
      if (count == 0 || !ReadIds(data, 4, count, &r->hash_algorithms) ||
          4 + 2 * count + salt > data.size()) {
        return Malformed("malformed preauth integrity context");
      }
      r->preauth_salt = std::string(data.substr(4 + 2 * count, salt));
      return absl::OkStatus();
    }
    case kContextEncryption:
    case kContextSigning: {
      if (data.size() < 2) return Malformed("short capability context");
      std::vector<uint16_t>* ids =
          type == kContextEncryption ? &r->ciphers : &r->signing_algorithms;
      if (!ReadIds(data, 2, Le16(data, 0), ids)) return Malformed("malformed capability context");
      return absl::OkStatus();
    }
    case kContextNetname:
      if (!auth::Utf16LeToUtf8(data, &r->netname)) return Malformed("netname is not UTF-16");
      return absl::OkStatus();
    default:
      return absl::OkStatus();  // compression, transport, RDMA: not offered by this server
  }
}

void PutContext(std::string* body, size_t base, uint16_t type, const std::string& data) {
  Pad8(body, base);
  Put16(body, type);
  Put16(body, static_cast<uint16_t>(data.size()));
  Put32(body, 0);
  *body += data;
}

}  // namespace

absl::StatusOr<NegotiateRequest> DecodeNegotiateRequest(absl::string_view m) {
  if (m.size() < kSmb2HeaderSize + 36) return Malformed("short NEGOTIATE request");
  absl::string_view b = m.substr(kSmb2HeaderSize);
  if (Le16(b, 0) != 36) return Malformed("NEGOTIATE request structure size is not 36");
  NegotiateRequest r;
  size_t dialect_count = Le16(b, 2);
  r.security_mode = Le16(b, 4);
  r.capabilities = Le32(b, 8);
  r.client_guid = std::string(b.substr(12, 16));
  if (dialect_count == 0 || !ReadIds(b, 36, dialect_count, &r.dialects)) {
    return Malformed("NEGOTIATE request without (room for) its dialects");
  }
  if (std::find(r.dialects.begin(), r.dialects.end(), kDialect311) == r.dialects.end()) {
    return r;  // the context fields mean ClientStartTime before 3.1.1
  }
  size_t offset = Le32(b, 28);
  size_t count = Le16(b, 32);
  for (size_t i = 0; i < count; ++i) {
    offset = (offset + 7) & ~size_t{7};
    if (offset + 8 > m.size()) return Malformed("a negotiate context outside the message");
    uint16_t type = Le16(m, offset);
    size_t length = Le16(m, offset + 2);
    if (length > m.size() - offset - 8) return Malformed("a negotiate context overruns");
    absl::Status read = ReadContext(type, m.substr(offset + 8, length), &r);
    if (!read.ok()) return read;
    offset += 8 + length;
    ++r.context_count;
  }
  return r;
}

std::optional<uint16_t> ChooseDialect(const NegotiateRequest& request, uint16_t min_dialect,
                                      uint16_t max_dialect) {
  std::optional<uint16_t> best;
  for (uint16_t d : request.dialects) {
    bool known = d == kDialect202 || d == kDialect210 || d == kDialect300 || d == kDialect302 ||
                 d == kDialect311;
    if (known && d >= min_dialect && d <= max_dialect && (!best || d > *best)) best = d;
  }
  return best;
}

std::string EncodeNegotiateResponse(const NegotiateResponse& r) {
  constexpr size_t kFixed = 64;  // body bytes before the security buffer
  std::string body;
  Put16(&body, 65);
  Put16(&body, r.security_mode);
  Put16(&body, r.dialect);
  bool contexts = r.dialect == kDialect311;
  uint16_t context_count =
      contexts ? static_cast<uint16_t>(1 + (r.cipher != 0) + (r.signing_algorithm != 0xFFFF)) : 0;
  Put16(&body, context_count);
  std::string guid = r.server_guid;
  guid.resize(16, '\0');
  body += guid;
  Put32(&body, r.capabilities);
  Put32(&body, r.max_transact_size);
  Put32(&body, r.max_read_size);
  Put32(&body, r.max_write_size);
  Put64(&body, r.system_time);
  Put64(&body, 0);  // server start time
  Put16(&body, static_cast<uint16_t>(kSmb2HeaderSize + kFixed));
  Put16(&body, static_cast<uint16_t>(r.security_blob.size()));
  size_t context_offset_at = body.size();
  Put32(&body, 0);  // patched below
  body += r.security_blob;
  if (contexts) {
    Pad8(&body, kSmb2HeaderSize);
    uint32_t context_offset = static_cast<uint32_t>(kSmb2HeaderSize + body.size());
    for (int i = 0; i < 4; ++i)
      body[context_offset_at + i] = static_cast<char>(context_offset >> (8 * i));
    std::string preauth;
    Put16(&preauth, 1);
    Put16(&preauth, static_cast<uint16_t>(r.preauth_salt.size()));
    Put16(&preauth, kHashSha512);
    preauth += r.preauth_salt;
    PutContext(&body, kSmb2HeaderSize, kContextPreauthIntegrity, preauth);
    if (r.cipher != 0) {
      std::string cipher;
      Put16(&cipher, 1);
      Put16(&cipher, r.cipher);
      PutContext(&body, kSmb2HeaderSize, kContextEncryption, cipher);
    }
    if (r.signing_algorithm != 0xFFFF) {
      std::string signing;
      Put16(&signing, 1);
      Put16(&signing, r.signing_algorithm);
      PutContext(&body, kSmb2HeaderSize, kContextSigning, signing);
    }
  }
  return body;
}

}  // namespace cfs::smb
