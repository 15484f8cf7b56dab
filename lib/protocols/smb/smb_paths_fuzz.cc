// Fuzz target: share-relative SMB path names as CREATE and rename requests carry them
// ("dir\file:stream:$DATA"): ParseSmbPath must accept or refuse every input without crashing,
// and what it accepts must be well formed.

#include <cstddef>
#include <cstdint>

#include "lib/protocols/smb/ntstatus.h"
#include "lib/protocols/smb/smb_paths.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view in(reinterpret_cast<const char*>(data), size);
  cfs::smb::ParsedPath path;
  if (cfs::smb::ParseSmbPath(in, &path) != cfs::smb::nt::kSuccess) return 0;
  for (const std::string& component : path.components) {
    if (component.empty() || component.find('\\') != std::string::npos ||
        component.find(':') != std::string::npos) {
      __builtin_trap();
    }
  }
  if (path.stream.find(':') != std::string::npos) __builtin_trap();
  if (!path.stream.empty() && path.components.empty()) __builtin_trap();
  return 0;
}
