// Fuzz target: DCE/RPC PDUs written to the srvsvc pipe, answered and read back.

#include <cstddef>
#include <cstdint>

#include "lib/protocols/smb/srvsvc.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cfs::smb::SrvsvcPipe pipe("CFS", {{"share", 0, "a share"}, {"IPC$", 0x80000003u, "IPC"}});
  absl::string_view in(reinterpret_cast<const char*>(data), size);
  // Two writes, split in the middle: PDUs may arrive in pieces.
  if (pipe.Write(in.substr(0, size / 2)).ok()) pipe.Write(in.substr(size / 2)).IgnoreError();
  while (pipe.pending() > 0) pipe.Read(1000);
  return 0;
}
