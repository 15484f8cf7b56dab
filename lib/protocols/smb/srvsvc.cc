#include "lib/protocols/smb/srvsvc.h"

#include <algorithm>
#include <optional>

#include "absl/strings/match.h"
#include "lib/auth/nt_crypto.h"
#include "lib/protocols/smb/le_bytes.h"

namespace cfs::smb {

namespace {

constexpr uint8_t kPtypeRequest = 0;
constexpr uint8_t kPtypeResponse = 2;
constexpr uint8_t kPtypeFault = 3;
constexpr uint8_t kPtypeBind = 11;
constexpr uint8_t kPtypeBindAck = 12;
constexpr uint8_t kPtypeAlterContext = 14;
constexpr uint8_t kPtypeAlterContextResp = 15;
constexpr uint32_t kFaultOpRange = 0x1C010002;
constexpr uint32_t kFaultProtocol = 0x1C01000B;
constexpr uint32_t kWerrInvalidLevel = 124;
constexpr uint32_t kWerrNetNameNotFound = 2310;
constexpr size_t kHeaderSize = 16;

// 4b324fc8-1670-01d3-1278-5a47bf6ee188 version 3.0, in its wire (little-endian fields) form.
constexpr absl::string_view kSrvsvcUuid(
    "\xc8\x4f\x32\x4b\x70\x16\xd3\x01\x12\x78\x5a\x47\xbf\x6e\xe1\x88", 16);
// NDR 8a885d04-1ceb-11c9-9fe8-08002b104860 version 2.
constexpr absl::string_view kNdrUuid(
    "\x04\x5d\x88\x8a\xeb\x1c\xc9\x11\x9f\xe8\x08\x00\x2b\x10\x48\x60", 16);
// Bind time feature negotiation: 6cb71c2c-9812-4540-xxxx-...
constexpr absl::string_view kBtfnPrefix("\x2c\x1c\xb7\x6c\x12\x98\x40\x45", 8);

std::string Header(uint8_t type, uint32_t call_id, uint8_t flags = 0x03) {
  std::string out;
  out.push_back(5);
  out.push_back(0);
  out.push_back(static_cast<char>(type));
  out.push_back(static_cast<char>(flags));
  out.append("\x10\x00\x00\x00", 4);
  Put16(&out, 0);  // frag_length, patched by Finish
  Put16(&out, 0);
  Put32(&out, call_id);
  return out;
}

void Finish(std::string* pdu) {
  uint16_t length = static_cast<uint16_t>(pdu->size());
  (*pdu)[8] = static_cast<char>(length & 0xFF);
  (*pdu)[9] = static_cast<char>(length >> 8);
}

void Align(std::string* out, size_t to) {
  while (out->size() % to != 0) out->push_back(0);
}

// NDR conformant varying string of UTF-16 with its terminating NUL.
void PutString(std::string* out, absl::string_view utf8) {
  Align(out, 4);
  std::string utf16;
  if (!auth::Utf8ToUtf16Le(utf8, &utf16)) utf16.clear();
  utf16.append(2, '\0');
  uint32_t chars = static_cast<uint32_t>(utf16.size() / 2);
  Put32(out, chars);
  Put32(out, 0);
  Put32(out, chars);
  *out += utf16;
  Align(out, 4);
}

// Reads NDR from a request stub; every read is bounds-checked.
class NdrReader {
 public:
  explicit NdrReader(absl::string_view s) : s_(s) {}
  std::optional<uint32_t> U32() {
    at_ = (at_ + 3) & ~size_t{3};
    if (at_ + 4 > s_.size()) return std::nullopt;
    uint32_t v = Le32(s_, at_);
    at_ += 4;
    return v;
  }
  // A conformant varying UTF-16 string (the referent, if any, already read).
  std::optional<std::string> String() {
    std::optional<uint32_t> max = U32();
    std::optional<uint32_t> offset = U32();
    std::optional<uint32_t> actual = U32();
    if (!max || !offset || !actual || *actual > 4096 || at_ + size_t{*actual} * 2 > s_.size()) {
      return std::nullopt;
    }
    absl::string_view raw = s_.substr(at_, size_t{*actual} * 2);
    at_ += raw.size();
    while (raw.size() >= 2 && raw[raw.size() - 1] == 0 && raw[raw.size() - 2] == 0) {
      raw.remove_suffix(2);
    }
    std::string out;
    if (!auth::Utf16LeToUtf8(raw, &out)) return std::nullopt;
    return out;
  }
  std::optional<std::string> UniqueString() {
    std::optional<uint32_t> referent = U32();
    if (!referent) return std::nullopt;
    if (*referent == 0) return std::string();
    return String();
  }

 private:
  absl::string_view s_;
  size_t at_ = 0;
};

}  // namespace

absl::Status SrvsvcPipe::Write(absl::string_view bytes) {
  input_.append(bytes.data(), bytes.size());
  while (input_.size() >= kHeaderSize) {
    if (input_[0] != 5 || input_[1] != 0 || (input_[4] & 0xF0) != 0x10) {
      input_.clear();
      return absl::InvalidArgumentError("not a little-endian DCE/RPC v5.0 PDU");
    }
    uint16_t length = Le16(input_, 8);
    if (length < kHeaderSize) {
      input_.clear();
      return absl::InvalidArgumentError("DCE/RPC fragment length out of range");
    }
    if (input_.size() < length) break;
    std::string pdu = input_.substr(0, length);
    input_.erase(0, length);
    Answer(pdu);
  }
  return absl::OkStatus();
}

std::string SrvsvcPipe::Read(size_t max) {
  size_t n = std::min(max, output_.size());
  std::string out = output_.substr(0, n);
  output_.erase(0, n);
  return out;
}

void SrvsvcPipe::Answer(absl::string_view pdu) {
  uint8_t type = static_cast<uint8_t>(pdu[2]);
  uint32_t call_id = Le32(pdu, 12);
  if (type == kPtypeBind || type == kPtypeAlterContext) {
    Bind(pdu, type, call_id);
  } else if (type == kPtypeRequest && bound_) {
    Request(pdu, call_id);
  } else {
    Fault(call_id, kFaultProtocol);
  }
}

void SrvsvcPipe::Bind(absl::string_view pdu, uint8_t type, uint32_t call_id) {
  if (pdu.size() < kHeaderSize + 12) {
    Fault(call_id, kFaultProtocol);
    return;
  }
  uint16_t max_xmit = Le16(pdu, 16);
  uint16_t max_recv = Le16(pdu, 18);
  max_xmit_ = std::clamp<uint16_t>(std::min(max_xmit, max_recv), 1024, 4280);
  size_t contexts = static_cast<uint8_t>(pdu[24]);
  size_t at = 28;
  std::string results;
  for (size_t i = 0; i < contexts; ++i) {
    if (at + 24 > pdu.size()) {
      Fault(call_id, kFaultProtocol);
      return;
    }
    absl::string_view abstract = pdu.substr(at + 4, 20);
    size_t syntaxes = static_cast<uint8_t>(pdu[at + 2]);
    at += 24;
    bool srvsvc = abstract.substr(0, 16) == kSrvsvcUuid && Le16(abstract, 16) == 3;
    std::string result;
    for (size_t k = 0; k < syntaxes; ++k) {
      if (at + 20 > pdu.size()) {
        Fault(call_id, kFaultProtocol);
        return;
      }
      absl::string_view syntax = pdu.substr(at, 20);
      at += 20;
      if (!result.empty()) continue;
      if (syntax.substr(0, 8) == kBtfnPrefix) {
        Put16(&result, 3);  // negotiate_ack
        Put16(&result, 0);  // no optional features
        result.append(20, '\0');
      } else if (srvsvc && syntax.substr(0, 16) == kNdrUuid && Le32(syntax, 16) == 2) {
        Put16(&result, 0);  // acceptance
        Put16(&result, 0);
        result += std::string(syntax);
        bound_ = true;
      }
    }
    if (result.empty()) {
      Put16(&result, 2);               // provider rejection
      Put16(&result, srvsvc ? 2 : 1);  // transfer syntaxes / abstract syntax not supported
      result.append(20, '\0');
    }
    results += result;
  }
  std::string out = Header(type == kPtypeBind ? kPtypeBindAck : kPtypeAlterContextResp, call_id);
  Put16(&out, max_xmit_);
  Put16(&out, max_xmit_);
  Put32(&out, 0x12345);  // assoc_group_id
  if (type == kPtypeBind) {
    std::string port = "\\PIPE\\srvsvc";
    Put16(&out, static_cast<uint16_t>(port.size() + 1));
    out += port;
    out.push_back(0);
  } else {
    Put16(&out, 0);
  }
  Align(&out, 4);
  out.push_back(static_cast<char>(contexts));
  out.append(3, '\0');
  out += results;
  Finish(&out);
  output_ += out;
}

void SrvsvcPipe::Request(absl::string_view pdu, uint32_t call_id) {
  if (pdu.size() < kHeaderSize + 8 || (pdu[3] & 0x03) != 0x03) {
    // Fragmented requests are not needed by anything this pipe answers.
    Fault(call_id, kFaultProtocol);
    return;
  }
  uint16_t context = Le16(pdu, 20);
  uint16_t opnum = Le16(pdu, 22);
  NdrReader in(pdu.substr(24));
  std::string stub;
  auto share_info = [&](std::string* fixed, std::string* deferred, const ShareListing& share,
                        uint32_t level) {
    Put32(fixed, 0x00020000);  // netname referent
    PutString(deferred, share.name);
    if (level == 1) {
      Put32(fixed, share.type);
      Put32(fixed, 0x00020004);  // remark referent
      PutString(deferred, share.remark);
    }
  };
  if (opnum == 15) {  // NetShareEnumAll
    std::optional<std::string> server = in.UniqueString();
    std::optional<uint32_t> level = in.U32();
    if (!server || !level) {
      Fault(call_id, kFaultProtocol);
      return;
    }
    if (*level != 0 && *level != 1) {
      Put32(&stub, *level);
      Put32(&stub, *level);
      Put32(&stub, 0);  // null container
      Put32(&stub, 0);  // total entries
      Put32(&stub, 0);  // null resume handle
      Put32(&stub, kWerrInvalidLevel);
    } else {
      Put32(&stub, *level);
      Put32(&stub, *level);
      Put32(&stub, 0x00020000);  // container referent
      Put32(&stub, static_cast<uint32_t>(shares_.size()));
      Put32(&stub, 0x00020004);                             // array referent
      Put32(&stub, static_cast<uint32_t>(shares_.size()));  // conformance
      std::string fixed;
      std::string deferred;
      for (const ShareListing& share : shares_) {
        std::string strings;
        share_info(&fixed, &strings, share, *level);
        deferred += strings;
      }
      stub += fixed;
      stub += deferred;
      Align(&stub, 4);
      Put32(&stub, static_cast<uint32_t>(shares_.size()));  // total entries
      Put32(&stub, 0x00020008);                             // resume handle referent
      Put32(&stub, 0);
      Put32(&stub, 0);  // WERR_OK
    }
  } else if (opnum == 16) {  // NetShareGetInfo
    std::optional<std::string> server = in.UniqueString();
    std::optional<std::string> name = in.String();
    std::optional<uint32_t> level = in.U32();
    if (!server || !name || !level) {
      Fault(call_id, kFaultProtocol);
      return;
    }
    const ShareListing* found = nullptr;
    for (const ShareListing& share : shares_) {
      if (absl::EqualsIgnoreCase(share.name, *name)) found = &share;
    }
    Put32(&stub, *level);
    if (found == nullptr || (*level != 0 && *level != 1)) {
      Put32(&stub, 0);
      Put32(&stub, found == nullptr ? kWerrNetNameNotFound : kWerrInvalidLevel);
    } else {
      Put32(&stub, 0x00020000);
      std::string deferred;
      share_info(&stub, &deferred, *found, *level);
      stub += deferred;
      Align(&stub, 4);
      Put32(&stub, 0);
    }
  } else if (opnum == 21) {  // NetSrvGetInfo
    std::optional<std::string> server = in.UniqueString();
    std::optional<uint32_t> level = in.U32();
    if (!server || !level) {
      Fault(call_id, kFaultProtocol);
      return;
    }
    Put32(&stub, *level);
    if (*level != 100 && *level != 101) {
      Put32(&stub, 0);
      Put32(&stub, kWerrInvalidLevel);
    } else {
      Put32(&stub, 0x00020000);
      Put32(&stub, 500);         // PLATFORM_ID_NT
      Put32(&stub, 0x00020004);  // name referent
      if (*level == 101) {
        Put32(&stub, 6);           // version major
        Put32(&stub, 1);           // version minor
        Put32(&stub, 0x00009003);  // WORKSTATION | SERVER | NT | SERVER_NT
        Put32(&stub, 0x00020008);  // comment referent
      }
      PutString(&stub, server_name_);
      if (*level == 101) PutString(&stub, "ClaudeFS gateway");
      Put32(&stub, 0);
    }
  } else {
    Fault(call_id, kFaultOpRange);
    return;
  }
  Respond(call_id, context, stub);
}

void SrvsvcPipe::Respond(uint32_t call_id, uint16_t context, const std::string& stub) {
  size_t room = max_xmit_ - 24;
  size_t at = 0;
  do {
    size_t n = std::min(room, stub.size() - at);
    uint8_t flags = (at == 0 ? 0x01 : 0) | (at + n == stub.size() ? 0x02 : 0);
    std::string out = Header(kPtypeResponse, call_id, flags);
    Put32(&out, static_cast<uint32_t>(stub.size() - at));  // alloc_hint
    Put16(&out, context);
    out.push_back(0);
    out.push_back(0);
    out.append(stub, at, n);
    Finish(&out);
    output_ += out;
    at += n;
  } while (at < stub.size());
}

void SrvsvcPipe::Fault(uint32_t call_id, uint32_t status) {
  std::string out = Header(kPtypeFault, call_id);
  Put32(&out, 0);
  Put16(&out, 0);
  out.push_back(0);
  out.push_back(0);
  Put32(&out, status);
  Put32(&out, 0);
  Finish(&out);
  output_ += out;
}

}  // namespace cfs::smb
