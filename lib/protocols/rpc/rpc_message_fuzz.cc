// Fuzz target: record marking, call headers and AUTH_SYS credentials from arbitrary bytes.

#include <cstddef>
#include <cstdint>

#include "lib/protocols/rpc/rpc_message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  auto split = cfs::rpc::SplitRecord(input, 1 << 16);
  cfs::rpc::CallError error{cfs::rpc::CallError::kGarbage};
  auto call = cfs::rpc::DecodeCall(input, &error);
  if (call.has_value()) cfs::rpc::DecodeAuthSys(call->credential);
  if (split.ok() && split->has_value()) cfs::rpc::DecodeCall((*split)->record, &error);
  cfs::rpc::DecodeAuthSys(input);
  return 0;
}
