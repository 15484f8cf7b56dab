// Fuzz target: SMB2 framing decoders (Direct TCP length, SMB2 header, compound chains,
// transform header), with re-encoding checks where a decode succeeds.

#include <cstddef>
#include <cstdint>

#include "lib/protocols/smb/smb2_header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  using namespace cfs::smb;  // NOLINT: a fuzz target
  FrameSize(input, 8 << 20).IgnoreError();
  KindOf(input);
  absl::StatusOr<Smb2Header> header = DecodeSmb2Header(input);
  if (header.ok() && EncodeSmb2Header(*header).size() != kSmb2HeaderSize) __builtin_trap();
  absl::StatusOr<std::vector<absl::string_view>> parts = SplitCompound(input);
  if (parts.ok()) {
    size_t total = 0;
    for (absl::string_view part : *parts) total += part.size();
    if (total != input.size()) __builtin_trap();  // the chain covers the packet exactly
  }
  absl::StatusOr<TransformHeader> transform = DecodeTransformHeader(input);
  if (transform.ok() && EncodeTransformHeader(*transform).size() != kTransformHeaderSize) {
    __builtin_trap();
  }
  return 0;
}
