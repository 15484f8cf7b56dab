// SMB2 durable handle create contexts (MS-SMB2 2.2.13.2.3-4, 2.2.13.2.11-12, 2.2.14.2.3-4,
// 2.2.14.2.12): requests for a durable open (DHnQ, DH2Q), reconnects to one (DHnC, DH2C), and
// the responses. Pure codecs: the durable open table is in smb_state.
#ifndef CFS_LIB_PROTOCOLS_SMB_SMB2_DURABLE_H_
#define CFS_LIB_PROTOCOLS_SMB_SMB2_DURABLE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/protocols/smb/smb2_messages.h"

namespace cfs::smb {

inline constexpr uint32_t kDurablePersistent = 0x2;  // DH2Q/DH2C flag

// DH2Q: the timeout the client asks for (0: the server's default), flags, CreateGuid.
struct DurableV2Request {
  uint32_t timeout_ms = 0;
  uint32_t flags = 0;
  std::string create_guid;  // 16 bytes
};
absl::StatusOr<DurableV2Request> DecodeDurableV2Request(absl::string_view data);
// The DH2Q response context data.
std::string EncodeDurableV2Response(uint32_t timeout_ms, uint32_t flags);
// The DHnQ response context data (reserved, zero).
std::string EncodeDurableV1Response();

// DHnC (version 1: the file id) and DH2C (version 2: file id, CreateGuid, flags).
struct DurableReconnect {
  int version = 1;
  FileId file;
  std::string create_guid;  // version 2
  uint32_t flags = 0;       // version 2
};
absl::StatusOr<DurableReconnect> DecodeDurableReconnect(absl::string_view name,
                                                        absl::string_view data);

}  // namespace cfs::smb

#endif  // CFS_LIB_PROTOCOLS_SMB_SMB2_DURABLE_H_
