// Little-endian integers in SMB2 and NTLMSSP messages: reading at an offset the caller has
// bounds-checked, and appending to an output string.
#ifndef CFS_LIB_PROTOCOLS_SMB_LE_BYTES_H_
#define CFS_LIB_PROTOCOLS_SMB_LE_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace cfs::smb {

inline uint16_t Le16(absl::string_view s, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(s[at]) |
                               (static_cast<uint8_t>(s[at + 1]) << 8));
}
inline uint32_t Le32(absl::string_view s, size_t at) {
  return static_cast<uint32_t>(Le16(s, at)) | (static_cast<uint32_t>(Le16(s, at + 2)) << 16);
}
inline uint64_t Le64(absl::string_view s, size_t at) {
  return static_cast<uint64_t>(Le32(s, at)) | (static_cast<uint64_t>(Le32(s, at + 4)) << 32);
}
inline void Put16(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v & 0xFF));
  out->push_back(static_cast<char>(v >> 8));
}
inline void Put32(std::string* out, uint32_t v) {
  Put16(out, static_cast<uint16_t>(v & 0xFFFF));
  Put16(out, static_cast<uint16_t>(v >> 16));
}
inline void Put64(std::string* out, uint64_t v) {
  Put32(out, static_cast<uint32_t>(v & 0xFFFFFFFF));
  Put32(out, static_cast<uint32_t>(v >> 32));
}

}  // namespace cfs::smb

#endif  // CFS_LIB_PROTOCOLS_SMB_LE_BYTES_H_
