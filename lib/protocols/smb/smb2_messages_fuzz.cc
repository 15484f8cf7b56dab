// Fuzz target: every SMB2 request body decoder, chosen by the message's command field.

#include <cstddef>
#include <cstdint>

#include "lib/protocols/smb/le_bytes.h"
#include "lib/protocols/smb/smb2_durable.h"
#include "lib/protocols/smb/smb2_lease.h"
#include "lib/protocols/smb/smb2_messages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cfs::smb;
  absl::string_view m(reinterpret_cast<const char*>(data), size);
  uint16_t command = m.size() >= 14 ? Le16(m, 12) : static_cast<uint16_t>(size % cmd::kCount);
  switch (command % cmd::kCount) {
    case cmd::kSessionSetup:
      DecodeSessionSetup(m).IgnoreError();
      break;
    case cmd::kTreeConnect:
      DecodeTreeConnect(m).IgnoreError();
      break;
    case cmd::kCreate: {
      absl::StatusOr<CreateRequest> create = DecodeCreate(m);
      if (create.ok()) {
        for (const CreateContext& context : create->contexts) {
          DecodeLeaseContext(context.data).IgnoreError();
          DecodeDurableV2Request(context.data).IgnoreError();
          DecodeDurableReconnect(context.name, context.data).IgnoreError();
        }
      }
      break;
    }
    case cmd::kClose:
      DecodeClose(m).IgnoreError();
      break;
    case cmd::kFlush:
      DecodeFlush(m).IgnoreError();
      break;
    case cmd::kRead:
      DecodeRead(m).IgnoreError();
      break;
    case cmd::kWrite:
      DecodeWrite(m).IgnoreError();
      break;
    case cmd::kLock:
      DecodeLock(m).IgnoreError();
      break;
    case cmd::kIoctl:
      DecodeIoctl(m).IgnoreError();
      break;
    case cmd::kQueryDirectory:
      DecodeQueryDirectory(m).IgnoreError();
      break;
    case cmd::kChangeNotify:
      DecodeChangeNotify(m).IgnoreError();
      break;
    case cmd::kQueryInfo:
      DecodeQueryInfo(m).IgnoreError();
      break;
    case cmd::kSetInfo:
      DecodeSetInfo(m).IgnoreError();
      break;
    case cmd::kOplockBreak:
      DecodeOplockBreakAck(m).IgnoreError();
      DecodeLeaseBreakAck(m).IgnoreError();
      break;
    default:
      DecodeEmpty(m).IgnoreError();
      break;
  }
  return 0;
}
