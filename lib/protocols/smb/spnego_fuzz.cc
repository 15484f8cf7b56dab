// Fuzz target: the SPNEGO token reader.

#include <cstddef>
#include <cstdint>

#include "lib/protocols/smb/spnego.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<cfs::smb::SpnegoToken> token = cfs::smb::ParseSpnego(input);
  if (token.ok() && token->mech_token.size() > size) __builtin_trap();
  return 0;
}
