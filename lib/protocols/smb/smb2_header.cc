#include "lib/protocols/smb/smb2_header.h"

#include "absl/strings/str_cat.h"
#include "lib/protocols/smb/le_bytes.h"

namespace cfs::smb {

namespace {

constexpr absl::string_view kSmb2Id("\xFESMB", 4);
constexpr absl::string_view kTransformId("\xFDSMB", 4);
constexpr absl::string_view kSmb1Id("\xFFSMB", 4);

}  // namespace

MessageKind KindOf(absl::string_view message) {
  absl::string_view id = message.substr(0, 4);
  if (id == kSmb2Id) return MessageKind::kSmb2;
  if (id == kTransformId) return MessageKind::kTransform;
  if (id == kSmb1Id) return MessageKind::kSmb1;
  return MessageKind::kUnknown;
}

absl::StatusOr<std::optional<size_t>> FrameSize(absl::string_view buffer, size_t max_message) {
  if (buffer.size() < 4) return std::optional<size_t>();
  if (buffer[0] != '\0') {
    return absl::InvalidArgumentError("not a Direct TCP session message (first byte not zero)");
  }
  size_t length = (static_cast<size_t>(static_cast<uint8_t>(buffer[1])) << 16) |
                  (static_cast<size_t>(static_cast<uint8_t>(buffer[2])) << 8) |
                  static_cast<uint8_t>(buffer[3]);
  if (length > max_message) {
    return absl::InvalidArgumentError(
        absl::StrCat("a message of ", length, " bytes is over the limit of ", max_message));
  }
  return std::optional<size_t>(4 + length);
}

std::string FrameHeader(size_t size) {
  std::string out(4, '\0');
  out[1] = static_cast<char>((size >> 16) & 0xFF);
  out[2] = static_cast<char>((size >> 8) & 0xFF);
  out[3] = static_cast<char>(size & 0xFF);
  return out;
}

std::string FrameMessage(absl::string_view message) {
  std::string out = FrameHeader(message.size());
  out.append(message.data(), message.size());
  return out;
}

absl::StatusOr<Smb2Header> DecodeSmb2Header(absl::string_view m) {
  if (m.size() < kSmb2HeaderSize) return absl::InvalidArgumentError("short SMB2 header");
  if (m.substr(0, 4) != kSmb2Id) return absl::InvalidArgumentError("not an SMB2 message");
  if (Le16(m, 4) != kSmb2HeaderSize) {
    return absl::InvalidArgumentError("SMB2 header structure size is not 64");
  }
  Smb2Header h;
  h.credit_charge = Le16(m, 6);
  h.status = Le32(m, 8);
  h.command = Le16(m, 12);
  h.credits = Le16(m, 14);
  h.flags = Le32(m, 16);
  h.next_command = Le32(m, 20);
  h.message_id = Le64(m, 24);
  if (h.async()) {
    h.async_id = Le64(m, 32);
  } else {
    h.process_id = Le32(m, 32);
    h.tree_id = Le32(m, 36);
  }
  h.session_id = Le64(m, 40);
  h.signature = std::string(m.substr(48, 16));
  return h;
}

std::string EncodeSmb2Header(const Smb2Header& h) {
  std::string out(kSmb2Id);
  Put16(&out, kSmb2HeaderSize);
  Put16(&out, h.credit_charge);
  Put32(&out, h.status);
  Put16(&out, h.command);
  Put16(&out, h.credits);
  Put32(&out, h.flags);
  Put32(&out, h.next_command);
  Put64(&out, h.message_id);
  if (h.async()) {
    Put64(&out, h.async_id);
  } else {
    Put32(&out, h.process_id);
    Put32(&out, h.tree_id);
  }
  Put64(&out, h.session_id);
  std::string signature = h.signature;
  signature.resize(16, '\0');
  out += signature;
  return out;
}

absl::StatusOr<std::vector<absl::string_view>> SplitCompound(absl::string_view packet) {
  std::vector<absl::string_view> out;
  size_t at = 0;
  while (true) {
    absl::string_view rest = packet.substr(at);
    absl::StatusOr<Smb2Header> header = DecodeSmb2Header(rest);
    if (!header.ok()) return header.status();
    if (header->next_command == 0) {
      out.push_back(rest);
      return out;
    }
    if (header->next_command % 8 != 0 || header->next_command < kSmb2HeaderSize ||
        header->next_command > rest.size()) {
      return absl::InvalidArgumentError("a compound's NextCommand offset is invalid");
    }
    out.push_back(rest.substr(0, header->next_command));
    at += header->next_command;
    if (out.size() > 64) return absl::InvalidArgumentError("too many messages in a compound");
  }
}

absl::StatusOr<TransformHeader> DecodeTransformHeader(absl::string_view m) {
  if (m.size() < kTransformHeaderSize) return absl::InvalidArgumentError("short transform header");
  if (m.substr(0, 4) != kTransformId) return absl::InvalidArgumentError("not a transform header");
  TransformHeader h;
  h.signature = std::string(m.substr(4, 16));
  h.nonce = std::string(m.substr(20, 16));
  h.original_message_size = Le32(m, 36);
  h.flags = Le16(m, 42);
  h.session_id = Le64(m, 44);
  return h;
}

std::string EncodeTransformHeader(const TransformHeader& h) {
  std::string out(kTransformId);
  std::string signature = h.signature;
  signature.resize(16, '\0');
  std::string nonce = h.nonce;
  nonce.resize(16, '\0');
  out += signature;
  out += nonce;
  Put32(&out, h.original_message_size);
  Put16(&out, 0);  // reserved
  Put16(&out, h.flags);
  Put64(&out, h.session_id);
  return out;
}

absl::string_view TransformAad(absl::string_view encoded_header) {
  return encoded_header.substr(20, 32);
}

}  // namespace cfs::smb
