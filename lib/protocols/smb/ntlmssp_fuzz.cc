// Fuzz target: the NTLMSSP message parsers and the AUTHENTICATE verifier (a fixed user).

#include <cstddef>
#include <cstdint>
#include <string>

#include "lib/protocols/smb/ntlmssp.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  cfs::smb::ParseNegotiateFlags(input).IgnoreError();
  cfs::smb::ParseAuthenticate(input).IgnoreError();
  cfs::smb::VerifyAuthenticate("", "", input, "01234567", [](const std::string&) {
    return std::optional<std::string>(std::string(16, 'h'));
  }).IgnoreError();
  return 0;
}
