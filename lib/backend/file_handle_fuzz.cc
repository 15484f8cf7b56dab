// Fuzz target: FileHandleCodec::Decode must reject or accept any byte string without crashing,
// and an accepted handle must re-encode to the same bytes.

#include <cstdint>
#include <cstdlib>
#include <string>

#include "lib/backend/file_handle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const cfs::backend::FileHandleCodec codec(std::string(32, 'f'));
  absl::string_view wire(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<cfs::backend::FileHandle> handle = codec.Decode(wire);
  if (handle.ok() && codec.Encode(*handle) != wire) std::abort();
  return 0;
}
