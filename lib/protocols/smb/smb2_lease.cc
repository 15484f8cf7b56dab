#include "lib/protocols/smb/smb2_lease.h"

#include "lib/protocols/smb/le_bytes.h"
#include "lib/protocols/smb/smb2_header.h"

namespace cfs::smb {

namespace {

constexpr size_t kLeaseV1Size = 32;
constexpr size_t kLeaseV2Size = 52;
constexpr uint16_t kLeaseBreakAckSize = 36;
constexpr uint16_t kLeaseBreakNotificationSize = 44;

}  // namespace

absl::StatusOr<LeaseContext> DecodeLeaseContext(absl::string_view data) {
  if (data.size() != kLeaseV1Size && data.size() != kLeaseV2Size) {
    return absl::InvalidArgumentError("RqLs create context: neither 32 nor 52 bytes");
  }
  LeaseContext lease;
  lease.key = std::string(data.substr(0, 16));
  lease.state = Le32(data, 16);
  lease.flags = Le32(data, 20);
  // LeaseDuration (8 bytes) is reserved.
  if (data.size() == kLeaseV2Size) {
    lease.version = 2;
    lease.parent_key = std::string(data.substr(32, 16));
    lease.epoch = Le16(data, 48);
  }
  return lease;
}

std::string EncodeLeaseContext(const LeaseContext& lease) {
  std::string out = lease.key;
  out.resize(16, '\0');
  Put32(&out, lease.state);
  Put32(&out, lease.flags);
  Put64(&out, 0);  // LeaseDuration
  if (lease.version == 2) {
    std::string parent = lease.parent_key;
    parent.resize(16, '\0');
    out += parent;
    Put16(&out, lease.epoch);
    Put16(&out, 0);
  }
  return out;
}

absl::StatusOr<LeaseBreakAck> DecodeLeaseBreakAck(absl::string_view message) {
  if (message.size() < kSmb2HeaderSize + kLeaseBreakAckSize ||
      Le16(message, kSmb2HeaderSize) != kLeaseBreakAckSize) {
    return absl::InvalidArgumentError("malformed SMB2 lease break acknowledgment");
  }
  absl::string_view body = message.substr(kSmb2HeaderSize);
  LeaseBreakAck ack;
  ack.key = std::string(body.substr(8, 16));
  ack.state = Le32(body, 24);
  return ack;
}

std::string EncodeLeaseBreakAckResponse(const LeaseBreakAck& ack) {
  std::string out;
  Put16(&out, kLeaseBreakAckSize);
  Put16(&out, 0);  // Reserved
  Put32(&out, 0);  // Flags
  std::string key = ack.key;
  key.resize(16, '\0');
  out += key;
  Put32(&out, ack.state);
  Put64(&out, 0);  // LeaseDuration
  return out;
}

std::string EncodeLeaseBreakNotification(absl::string_view key, uint16_t new_epoch,
                                         bool ack_required, uint32_t current_state,
                                         uint32_t new_state) {
  std::string out;
  Put16(&out, kLeaseBreakNotificationSize);
  Put16(&out, new_epoch);
  Put32(&out, ack_required ? kLeaseBreakAckRequired : 0);
  std::string k(key);
  k.resize(16, '\0');
  out += k;
  Put32(&out, current_state);
  Put32(&out, new_state);
  Put32(&out, 0);  // BreakReason
  Put32(&out, 0);  // AccessMaskHint
  Put32(&out, 0);  // ShareMaskHint
  return out;
}

}  // namespace cfs::smb
