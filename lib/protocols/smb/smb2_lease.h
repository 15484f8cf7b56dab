// SMB2 lease wire formats (MS-SMB2 2.2.13.2.8/10, 2.2.14.2.10/11, 2.2.23.2, 2.2.24.2, 2.2.25.2):
// the RqLs create context (versions 1 and 2) and its response, the lease break notification,
// and the lease break acknowledgment and its response. Pure codecs: the lease table is in
// smb_state.
#ifndef CFS_LIB_PROTOCOLS_SMB_SMB2_LEASE_H_
#define CFS_LIB_PROTOCOLS_SMB_SMB2_LEASE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cfs::smb {

// Lease states (2.2.13.2.8).
inline constexpr uint32_t kLeaseNone = 0;
inline constexpr uint32_t kLeaseRead = 0x1;
inline constexpr uint32_t kLeaseHandle = 0x2;
inline constexpr uint32_t kLeaseWrite = 0x4;
// Lease flags.
inline constexpr uint32_t kLeaseFlagBreakInProgress = 0x2;
inline constexpr uint32_t kLeaseFlagParentKeySet = 0x4;
// Lease break notification flags.
inline constexpr uint32_t kLeaseBreakAckRequired = 0x1;

struct LeaseContext {
  int version = 1;  // 1: 32-byte context; 2: 52-byte context
  std::string key;  // 16 bytes
  uint32_t state = 0;
  uint32_t flags = 0;
  std::string parent_key;  // version 2: 16 bytes
  uint16_t epoch = 0;      // version 2
};
// The data of an RqLs create context. Errors: kInvalidArgument (neither 32 nor 52 bytes).
absl::StatusOr<LeaseContext> DecodeLeaseContext(absl::string_view data);
// The data of the RqLs create response context, in the request's version.
std::string EncodeLeaseContext(const LeaseContext& lease);

struct LeaseBreakAck {
  std::string key;  // 16 bytes
  uint32_t state = 0;
};
// An OPLOCK_BREAK request with StructureSize 36: a lease break acknowledgment.
absl::StatusOr<LeaseBreakAck> DecodeLeaseBreakAck(absl::string_view message);
// The body of its response.
std::string EncodeLeaseBreakAckResponse(const LeaseBreakAck& ack);

// The body of a lease break notification.
std::string EncodeLeaseBreakNotification(absl::string_view key, uint16_t new_epoch,
                                         bool ack_required, uint32_t current_state,
                                         uint32_t new_state);

}  // namespace cfs::smb

#endif  // CFS_LIB_PROTOCOLS_SMB_SMB2_LEASE_H_
