#include "lib/protocols/smb/smb2_durable.h"

#include "lib/protocols/smb/le_bytes.h"

namespace cfs::smb {

absl::StatusOr<DurableV2Request> DecodeDurableV2Request(absl::string_view data) {
  if (data.size() != 32) return absl::InvalidArgumentError("DH2Q create context: not 32 bytes");
  DurableV2Request r;
  r.timeout_ms = Le32(data, 0);
  r.flags = Le32(data, 4);
  r.create_guid = std::string(data.substr(16, 16));
  return r;
}

std::string EncodeDurableV2Response(uint32_t timeout_ms, uint32_t flags) {
  std::string out;
  Put32(&out, timeout_ms);
  Put32(&out, flags);
  return out;
}

std::string EncodeDurableV1Response() { return std::string(8, '\0'); }

absl::StatusOr<DurableReconnect> DecodeDurableReconnect(absl::string_view name,
                                                        absl::string_view data) {
  DurableReconnect r;
  if (name == "DHnC") {
    if (data.size() != 16) return absl::InvalidArgumentError("DHnC create context: not 16 bytes");
  } else if (name == "DH2C") {
    if (data.size() != 36) return absl::InvalidArgumentError("DH2C create context: not 36 bytes");
    r.version = 2;
    r.create_guid = std::string(data.substr(16, 16));
    r.flags = Le32(data, 32);
  } else {
    return absl::InvalidArgumentError("not a durable reconnect context");
  }
  r.file = FileId{Le64(data, 0), Le64(data, 8)};
  return r;
}

}  // namespace cfs::smb
