#include "lib/protocols/smb/smb2_messages.h"

#include "absl/strings/str_cat.h"
#include "lib/auth/nt_crypto.h"
#include "lib/protocols/smb/le_bytes.h"
#include "lib/protocols/smb/smb2_header.h"

namespace cfs::smb {

namespace {

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("malformed SMB2 ", what));
}

// The body of one request: bounds-checked reads at body offsets and buffers at header offsets.
class Body {
 public:
  explicit Body(absl::string_view message) : message_(message) {}

  // Checks the StructureSize and that its fixed part is present.
  absl::Status Expect(uint16_t structure_size, absl::string_view what) const {
    size_t fixed = kSmb2HeaderSize + (structure_size & ~1u);
    if (message_.size() < kSmb2HeaderSize + 2 || message_.size() < fixed) {
      return Malformed(absl::StrCat(what, " request: too short"));
    }
    if (Le16(message_, kSmb2HeaderSize) != structure_size) {
      return Malformed(absl::StrCat(what, " request: wrong structure size"));
    }
    return absl::OkStatus();
  }
  uint8_t U8(size_t at) const { return static_cast<uint8_t>(message_[kSmb2HeaderSize + at]); }
  uint16_t U16(size_t at) const { return Le16(message_, kSmb2HeaderSize + at); }
  uint32_t U32(size_t at) const { return Le32(message_, kSmb2HeaderSize + at); }
  uint64_t U64(size_t at) const { return Le64(message_, kSmb2HeaderSize + at); }
  FileId File(size_t at) const { return FileId{U64(at), U64(at + 8)}; }

  // `length` bytes at `offset` from the header; an empty buffer may have any offset.
  absl::StatusOr<absl::string_view> Buffer(uint64_t offset, uint64_t length,
                                           absl::string_view what) const {
    if (length == 0) return absl::string_view();
    if (offset < kSmb2HeaderSize || offset > message_.size() || length > message_.size() - offset) {
      return Malformed(absl::StrCat(what, ": buffer outside the message"));
    }
    return message_.substr(offset, length);
  }
  absl::StatusOr<std::string> Utf16(uint64_t offset, uint64_t length,
                                    absl::string_view what) const {
    absl::StatusOr<absl::string_view> raw = Buffer(offset, length, what);
    if (!raw.ok()) return raw.status();
    std::string out;
    if (raw->size() % 2 != 0 || !auth::Utf16LeToUtf8(*raw, &out)) {
      return Malformed(absl::StrCat(what, ": name is not UTF-16"));
    }
    return out;
  }

 private:
  absl::string_view message_;
};

#define CFS_SMB_ASSIGN(lhs, expr)                           \
  do {                                                      \
    auto cfs_smb_value = (expr);                            \
    if (!cfs_smb_value.ok()) return cfs_smb_value.status(); \
    lhs = std::string(*cfs_smb_value);                      \
  } while (false)

absl::StatusOr<std::vector<CreateContext>> DecodeCreateContexts(absl::string_view chain) {
  std::vector<CreateContext> out;
  size_t at = 0;
  while (!chain.empty() && at < chain.size()) {
    if (chain.size() - at < 16 || out.size() >= 64) return Malformed("create context chain");
    absl::string_view ctx = chain.substr(at);
    uint32_t next = Le32(ctx, 0);
    uint16_t name_offset = Le16(ctx, 4);
    uint16_t name_length = Le16(ctx, 6);
    uint16_t data_offset = Le16(ctx, 10);
    uint32_t data_length = Le32(ctx, 12);
    absl::string_view self = next == 0 ? ctx : ctx.substr(0, std::min<size_t>(next, ctx.size()));
    if (next != 0 && (next % 8 != 0 || next > ctx.size())) return Malformed("create context next");
    if (name_offset > self.size() || name_length > self.size() - name_offset) {
      return Malformed("create context name");
    }
    if (data_length != 0 &&
        (data_offset > self.size() || data_length > self.size() - data_offset)) {
      return Malformed("create context data");
    }
    CreateContext c;
    c.name = std::string(self.substr(name_offset, name_length));
    if (data_length != 0) c.data = std::string(self.substr(data_offset, data_length));
    out.push_back(std::move(c));
    if (next == 0) break;
    at += next;
  }
  return out;
}

}  // namespace

absl::StatusOr<SessionSetupRequest> DecodeSessionSetup(absl::string_view message) {
  Body b(message);
  if (absl::Status s = b.Expect(25, "SESSION_SETUP"); !s.ok()) return s;
  SessionSetupRequest r;
  r.flags = b.U8(2);
  r.security_mode = b.U8(3);
  r.capabilities = b.U32(4);
  r.previous_session_id = b.U64(16);
  CFS_SMB_ASSIGN(r.security_blob, b.Buffer(b.U16(12), b.U16(14), "SESSION_SETUP"));
  return r;
}

absl::StatusOr<TreeConnectRequest> DecodeTreeConnect(absl::string_view message) {
  Body b(message);
  if (absl::Status s = b.Expect(9, "TREE_CONNECT"); !s.ok()) return s;
  TreeConnectRequest r;
  r.flags = b.U16(2);
  CFS_SMB_ASSIGN(r.path, b.Utf16(b.U16(4), b.U16(6), "TREE_CONNECT"));
  return r;
}

absl::StatusOr<CreateRequest> DecodeCreate(absl::string_view message) {
  Body b(message);
  if (absl::Status s = b.Expect(57, "CREATE"); !s.ok()) return s;
  CreateRequest r;
  r.oplock_level = b.U8(3);
  r.impersonation_level = b.U32(4);
  r.desired_access = b.U32(24);
  r.file_attributes = b.U32(28);
  r.share_access = b.U32(32);
  r.disposition = b.U32(36);
  r.options = b.U32(40);
  CFS_SMB_ASSIGN(r.name, b.Utf16(b.U16(44), b.U16(46), "CREATE name"));
  absl::StatusOr<absl::string_view> contexts = b.Buffer(b.U32(48), b.U32(52), "CREATE contexts");
  if (!contexts.ok()) return contexts.status();
  absl::StatusOr<std::vector<CreateContext>> decoded = DecodeCreateContexts(*contexts);
  if (!decoded.ok()) return decoded.status();
  r.contexts = *std::move(decoded);
  return r;
}

absl::StatusOr<CloseRequest> DecodeClose(absl::string_view message) {
  Body b(message);
  if (absl::Status s = b.Expect(24, "CLOSE"); !s.ok()) return s;
  return CloseRequest{b.U16(2), b.File(8)};
}

absl::StatusOr<FlushRequest> DecodeFlush(absl::string_view message) {
  Body b(message);
  if (absl::Status s = b.Expect(24, "FLUSH"); !s.ok()) return s;
  return FlushRequest{b.File(8)};
}

absl::StatusOr<ReadRequest> DecodeRead(absl::string_view message) {
  Body b(message);
  if (absl::Status s = b.Expect(49, "READ"); !s.ok()) return s;
  ReadRequest r;
  r.flags = b.U8(3);
  r.length = b.U32(4);
  r.offset = b.U64(8);
  r.file = b.File(16);
  r.minimum_count = b.U32(32);
  r.channel = b.U32(36);
  return r;
}

absl::StatusOr<WriteRequest> DecodeWrite(absl::string_view message) {
  Body b(message);
  if (absl::Status s = b.Expect(49, "WRITE"); !s.ok()) return s;
  WriteRequest r;
  r.offset = b.U64(8);
  r.file = b.File(16);
  r.channel = b.U32(32);
  r.flags = b.U32(44);
  absl::StatusOr<absl::string_view> data = b.Buffer(b.U16(2), b.U32(4), "WRITE data");
  if (!data.ok()) return data.status();
  r.data = *data;  // a view into `message`: no copy of the payload
  return r;
}

absl::StatusOr<LockRequest> DecodeLock(absl::string_view message) {
  Body b(message);
  if (absl::Status s = b.Expect(48, "LOCK"); !s.ok()) return s;
  LockRequest r;
  uint16_t count = b.U16(2);
  r.sequence = b.U32(4);
  r.file = b.File(8);
  if (count == 0) return Malformed("LOCK request: no locks");
  if (kSmb2HeaderSize + 24 + size_t{count} * 24 > message.size()) {
    return Malformed("LOCK request: locks outside the message");
  }
  for (uint16_t i = 0; i < count; ++i) {
    size_t at = 24 + size_t{i} * 24;
    r.locks.push_back(LockElement{b.U64(at), b.U64(at + 8), b.U32(at + 16)});
  }
  return r;
}

absl::StatusOr<IoctlRequest> DecodeIoctl(absl::string_view message) {
  Body b(message);
  if (absl::Status s = b.Expect(57, "IOCTL"); !s.ok()) return s;
  IoctlRequest r;
  r.ctl_code = b.U32(4);
  r.file = b.File(8);
  CFS_SMB_ASSIGN(r.input, b.Buffer(b.U32(24), b.U32(28), "IOCTL input"));
  r.max_input_response = b.U32(32);
  r.max_output_response = b.U32(44);
  r.flags = b.U32(48);
  return r;
}

absl::StatusOr<QueryDirectoryRequest> DecodeQueryDirectory(absl::string_view message) {
  Body b(message);
  if (absl::Status s = b.Expect(33, "QUERY_DIRECTORY"); !s.ok()) return s;
  QueryDirectoryRequest r;
  r.info_class = b.U8(2);
  r.flags = b.U8(3);
  r.file_index = b.U32(4);
  r.file = b.File(8);
  CFS_SMB_ASSIGN(r.pattern, b.Utf16(b.U16(24), b.U16(26), "QUERY_DIRECTORY pattern"));
  r.output_length = b.U32(28);
  return r;
}

absl::StatusOr<QueryInfoRequest> DecodeQueryInfo(absl::string_view message) {
  Body b(message);
  if (absl::Status s = b.Expect(41, "QUERY_INFO"); !s.ok()) return s;
  QueryInfoRequest r;
  r.info_type = b.U8(2);
  r.info_class = b.U8(3);
  r.output_length = b.U32(4);
  CFS_SMB_ASSIGN(r.input, b.Buffer(b.U16(8), b.U32(12), "QUERY_INFO input"));
  r.additional_information = b.U32(16);
  r.flags = b.U32(20);
  r.file = b.File(24);
  return r;
}

absl::StatusOr<SetInfoRequest> DecodeSetInfo(absl::string_view message) {
  Body b(message);
  if (absl::Status s = b.Expect(33, "SET_INFO"); !s.ok()) return s;
  SetInfoRequest r;
  r.info_type = b.U8(2);
  r.info_class = b.U8(3);
  CFS_SMB_ASSIGN(r.buffer, b.Buffer(b.U16(8), b.U32(4), "SET_INFO buffer"));
  r.additional_information = b.U32(12);
  r.file = b.File(16);
  return r;
}

absl::StatusOr<ChangeNotifyRequest> DecodeChangeNotify(absl::string_view message) {
  Body b(message);
  if (absl::Status s = b.Expect(32, "CHANGE_NOTIFY"); !s.ok()) return s;
  return ChangeNotifyRequest{b.U16(2), b.U32(4), b.File(8), b.U32(24)};
}

absl::StatusOr<OplockBreakAcknowledgment> DecodeOplockBreakAck(absl::string_view message) {
  Body b(message);
  if (absl::Status s = b.Expect(24, "OPLOCK_BREAK"); !s.ok()) return s;
  return OplockBreakAcknowledgment{b.U8(2), b.File(8)};
}

std::optional<FileId> RequestFileId(uint16_t command, absl::string_view message) {
  size_t at = 0;  // the FileId's offset in the body (MS-SMB2 2.2.15 to 2.2.39)
  switch (command) {
    case cmd::kClose:
    case cmd::kFlush:
    case cmd::kLock:
    case cmd::kIoctl:
    case cmd::kQueryDirectory:
    case cmd::kChangeNotify:
    case cmd::kOplockBreak:
      at = 8;
      break;
    case cmd::kRead:
    case cmd::kWrite:
    case cmd::kSetInfo:
      at = 16;
      break;
    case cmd::kQueryInfo:
      at = 24;
      break;
    default:
      return std::nullopt;
  }
  if (message.size() < kSmb2HeaderSize + at + 16) return std::nullopt;
  Body b(message);
  return b.File(at);
}

absl::Status DecodeEmpty(absl::string_view message) { return Body(message).Expect(4, "empty"); }

std::string EncodeErrorBody(absl::string_view data) {
  std::string out;
  Put16(&out, 9);
  out.push_back(0);  // ErrorContextCount
  out.push_back(0);
  Put32(&out, static_cast<uint32_t>(data.size()));
  if (data.empty()) {
    out.push_back(0);
  } else {
    out.append(data.data(), data.size());
  }
  return out;
}

std::string EncodeSmallBody(uint16_t structure_size) {
  std::string out;
  Put16(&out, structure_size);
  out.resize(structure_size & ~1u, '\0');
  return out;
}

std::string EncodeSessionSetupResponse(uint16_t session_flags, absl::string_view security_blob) {
  std::string out;
  Put16(&out, 9);
  Put16(&out, session_flags);
  Put16(&out, security_blob.empty() ? 0 : kSmb2HeaderSize + 8);
  Put16(&out, static_cast<uint16_t>(security_blob.size()));
  out.append(security_blob.data(), security_blob.size());
  return out;
}

void PutFileId(std::string* out, const FileId& file) {
  Put64(out, file.persistent);
  Put64(out, file.volatile_id);
}

std::string EncodeCreateResponse(const CreateResponse& r) {
  std::string out;
  Put16(&out, 89);
  out.push_back(static_cast<char>(r.oplock_level));
  out.push_back(static_cast<char>(r.flags));
  Put32(&out, r.create_action);
  Put64(&out, r.creation_time);
  Put64(&out, r.last_access_time);
  Put64(&out, r.last_write_time);
  Put64(&out, r.change_time);
  Put64(&out, r.allocation_size);
  Put64(&out, r.end_of_file);
  Put32(&out, r.file_attributes);
  Put32(&out, 0);
  PutFileId(&out, r.file);
  std::string contexts;
  for (size_t i = 0; i < r.contexts.size(); ++i) {
    const CreateContext& c = r.contexts[i];
    std::string one;
    Put32(&one, 0);  // Next, patched below
    Put16(&one, 16);
    Put16(&one, static_cast<uint16_t>(c.name.size()));
    Put16(&one, 0);
    size_t data_offset = (16 + c.name.size() + 7) & ~size_t{7};
    Put16(&one, c.data.empty() ? 0 : static_cast<uint16_t>(data_offset));
    Put32(&one, static_cast<uint32_t>(c.data.size()));
    one += c.name;
    if (!c.data.empty()) {
      one.resize(data_offset, '\0');
      one += c.data;
    }
    if (i + 1 < r.contexts.size()) {
      one.resize((one.size() + 7) & ~size_t{7}, '\0');
      uint32_t next = static_cast<uint32_t>(one.size());
      for (int k = 0; k < 4; ++k) one[k] = static_cast<char>((next >> (8 * k)) & 0xFF);
    }
    contexts += one;
  }
  // The contexts start 8-aligned after the 88 fixed bytes (offset 64 + 88 = 152).
  Put32(&out, contexts.empty() ? 0 : kSmb2HeaderSize + 88);
  Put32(&out, static_cast<uint32_t>(contexts.size()));
  if (contexts.empty()) {
    out.push_back(0);
  } else {
    out += contexts;
  }
  return out;
}

std::string EncodeReadResponseHead(uint32_t data_length) {
  std::string out;
  Put16(&out, 17);
  out.push_back(static_cast<char>(kReadDataOffset));
  out.push_back(0);
  Put32(&out, data_length);
  Put32(&out, 0);  // DataRemaining
  Put32(&out, 0);  // Reserved2 / Flags
  return out;
}

std::string EncodeWriteResponse(uint32_t count) {
  std::string out;
  Put16(&out, 17);
  Put16(&out, 0);
  Put32(&out, count);
  Put32(&out, 0);
  Put16(&out, 0);
  Put16(&out, 0);
  return out;
}

std::string EncodeOutputBufferResponse(absl::string_view output) {
  std::string out;
  Put16(&out, 9);
  Put16(&out, output.empty() ? 0 : kSmb2HeaderSize + 8);
  Put32(&out, static_cast<uint32_t>(output.size()));
  if (output.empty()) {
    out.push_back(0);
  } else {
    out.append(output.data(), output.size());
  }
  return out;
}

std::string EncodeIoctlResponse(uint32_t ctl_code, const FileId& file, absl::string_view output) {
  std::string out;
  Put16(&out, 49);
  Put16(&out, 0);
  Put32(&out, ctl_code);
  PutFileId(&out, file);
  Put32(&out, kSmb2HeaderSize + 48);  // InputOffset (no input echoed)
  Put32(&out, 0);
  Put32(&out, output.empty() ? 0 : kSmb2HeaderSize + 48);
  Put32(&out, static_cast<uint32_t>(output.size()));
  Put32(&out, 0);
  Put32(&out, 0);
  out.append(output.data(), output.size());
  return out;
}

}  // namespace cfs::smb
