#include "lib/protocols/smb/spnego.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace cfs::smb {

namespace {

constexpr absl::string_view kSpnegoOid("\x06\x06\x2b\x06\x01\x05\x05\x02", 8);

absl::Status Malformed(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("SPNEGO: ", why));
}

// One DER element: tag, content, and the whole encoding.
struct Element {
  uint8_t tag = 0;
  absl::string_view content;
  absl::string_view encoded;
};

// Reads the element at the start of `in` and advances past it.
absl::StatusOr<Element> Read(absl::string_view* in) {
  absl::string_view s = *in;
  if (s.size() < 2) return Malformed("truncated element");
  Element e;
  e.tag = static_cast<uint8_t>(s[0]);
  size_t length = static_cast<uint8_t>(s[1]);
  size_t header = 2;
  if (length & 0x80) {
    size_t bytes = length & 0x7F;
    if (bytes == 0 || bytes > 4 || s.size() < 2 + bytes) return Malformed("bad length");
    length = 0;
    for (size_t i = 0; i < bytes; ++i) length = (length << 8) | static_cast<uint8_t>(s[2 + i]);
    header += bytes;
  }
  if (length > s.size() - header) return Malformed("element longer than its container");
  e.content = s.substr(header, length);
  e.encoded = s.substr(0, header + length);
  in->remove_prefix(header + length);
  return e;
}

std::string Encode(uint8_t tag, absl::string_view content) {
  std::string out(1, static_cast<char>(tag));
  size_t n = content.size();
  if (n < 0x80) {
    out.push_back(static_cast<char>(n));
  } else if (n < 0x100) {
    out += "\x81";
    out.push_back(static_cast<char>(n));
  } else if (n < 0x10000) {
    out += "\x82";
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xFF));
  } else {
    out += "\x83";
    out.push_back(static_cast<char>(n >> 16));
    out.push_back(static_cast<char>((n >> 8) & 0xFF));
    out.push_back(static_cast<char>(n & 0xFF));
  }
  out.append(content.data(), content.size());
  return out;
}

// The content of the single element `in` must be, with tag `tag`.
absl::StatusOr<absl::string_view> Only(absl::string_view in, uint8_t tag) {
  absl::StatusOr<Element> e = Read(&in);
  if (!e.ok()) return e.status();
  if (e->tag != tag || !in.empty()) return Malformed("unexpected element");
  return e->content;
}

absl::Status ReadNegTokenInit(absl::string_view seq, SpnegoToken* out) {
  while (!seq.empty()) {
    absl::StatusOr<Element> field = Read(&seq);
    if (!field.ok()) return field.status();
    if (field->tag == 0xA0) {  // mechTypes
      absl::StatusOr<absl::string_view> list = Only(field->content, 0x30);
      if (!list.ok()) return list.status();
      out->mech_types_der = std::string(field->content);
      absl::string_view oids = *list;
      while (!oids.empty()) {
        absl::StatusOr<Element> oid = Read(&oids);
        if (!oid.ok()) return oid.status();
        if (oid->tag != 0x06) return Malformed("a mechanism that is not an OID");
        out->mech_types.emplace_back(oid->encoded);
      }
    } else if (field->tag == 0xA2) {  // mechToken
      absl::StatusOr<absl::string_view> token = Only(field->content, 0x04);
      if (!token.ok()) return token.status();
      out->mech_token = std::string(*token);
    } else if (field->tag == 0xA3) {  // mechListMIC
      absl::StatusOr<absl::string_view> mic = Only(field->content, 0x04);
      if (!mic.ok()) return mic.status();
      out->mech_list_mic = std::string(*mic);
    }  // [1] reqFlags: ignored
  }
  return absl::OkStatus();
}

absl::Status ReadNegTokenResp(absl::string_view seq, SpnegoToken* out) {
  while (!seq.empty()) {
    absl::StatusOr<Element> field = Read(&seq);
    if (!field.ok()) return field.status();
    if (field->tag == 0xA2 || field->tag == 0xA3) {  // responseToken, mechListMIC
      absl::StatusOr<absl::string_view> octets = Only(field->content, 0x04);
      if (!octets.ok()) return octets.status();
      (field->tag == 0xA2 ? out->mech_token : out->mech_list_mic) = std::string(*octets);
    }  // [0] negState, [1] supportedMech: not needed from clients
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SpnegoToken> ParseSpnego(absl::string_view blob) {
  SpnegoToken out;
  if (absl::StartsWith(blob, absl::string_view("NTLMSSP\0", 8))) {
    out.raw_ntlmssp = true;
    out.mech_token = std::string(blob);
    return out;
  }
  absl::string_view in = blob;
  absl::StatusOr<Element> outer = Read(&in);
  if (!outer.ok()) return outer.status();
  if (outer->tag == 0x60) {  // [APPLICATION 0] InitialContextToken: OID, then NegTokenInit
    absl::string_view inner = outer->content;
    absl::StatusOr<Element> oid = Read(&inner);
    if (!oid.ok()) return oid.status();
    if (oid->encoded != kSpnegoOid) return Malformed("not the SPNEGO mechanism");
    absl::StatusOr<absl::string_view> init = Only(inner, 0xA0);
    if (!init.ok()) return init.status();
    absl::StatusOr<absl::string_view> seq = Only(*init, 0x30);
    if (!seq.ok()) return seq.status();
    absl::Status read = ReadNegTokenInit(*seq, &out);
    if (!read.ok()) return read;
    return out;
  }
  if (outer->tag == 0xA1) {  // NegTokenResp
    absl::StatusOr<absl::string_view> seq = Only(outer->content, 0x30);
    if (!seq.ok()) return seq.status();
    absl::Status read = ReadNegTokenResp(*seq, &out);
    if (!read.ok()) return read;
    return out;
  }
  return Malformed("neither NegTokenInit nor NegTokenResp");
}

std::string NegotiateHint() {
  std::string mech_types = Encode(0xA0, Encode(0x30, kNtlmsspOid));
  return Encode(0x60, std::string(kSpnegoOid) + Encode(0xA0, Encode(0x30, mech_types)));
}

std::string NegTokenResp(NegState state, bool with_mech, absl::string_view response_token,
                         absl::string_view mech_list_mic) {
  std::string fields = Encode(0xA0, Encode(0x0A, std::string(1, static_cast<char>(state))));
  if (with_mech) fields += Encode(0xA1, kNtlmsspOid);
  if (!response_token.empty()) fields += Encode(0xA2, Encode(0x04, response_token));
  if (!mech_list_mic.empty()) fields += Encode(0xA3, Encode(0x04, mech_list_mic));
  return Encode(0xA1, Encode(0x30, fields));
}

}  // namespace cfs::smb
