// Fuzz target: every NFSv3 and MOUNT argument decoder. The first byte picks the decoder.

#include <cstddef>
#include <cstdint>

#include "lib/protocols/nfs/nfs3_xdr.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  absl::string_view args(reinterpret_cast<const char*>(data + 1), size - 1);
  using namespace cfs::nfs;  // NOLINT: a fuzz target
  switch (data[0] % 16) {
    case 0:
      DecodeHandleArgs(args);
      break;
    case 1:
      DecodeSetAttrArgs(args);
      break;
    case 2:
      DecodeDirOpArgs(args);
      break;
    case 3:
      DecodeAccessArgs(args);
      break;
    case 4:
      DecodeReadArgs(args);
      break;
    case 5:
      DecodeWriteArgs(args);
      break;
    case 6:
      DecodeCreateArgs(args);
      break;
    case 7:
      DecodeMkdirArgs(args);
      break;
    case 8:
      DecodeSymlinkArgs(args);
      break;
    case 9:
      DecodeMknodArgs(args);
      break;
    case 10:
      DecodeRenameArgs(args);
      break;
    case 11:
      DecodeLinkArgs(args);
      break;
    case 12:
      DecodeReadDirArgs(args, false);
      break;
    case 13:
      DecodeReadDirArgs(args, true);
      break;
    case 14:
      DecodeCommitArgs(args);
      break;
    case 15:
      DecodeMountPath(args);
      break;
  }
  return 0;
}
