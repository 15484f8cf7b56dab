// Fuzz target: the SMB2 NEGOTIATE request decoder.

#include <cstddef>
#include <cstdint>

#include "lib/protocols/smb/smb2_negotiate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<cfs::smb::NegotiateRequest> request = cfs::smb::DecodeNegotiateRequest(input);
  if (request.ok()) {
    cfs::smb::ChooseDialect(*request, cfs::smb::kDialect202, cfs::smb::kDialect311);
  }
  return 0;
}
