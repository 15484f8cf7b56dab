// Fuzz target: the config file and the control plane's state file (the same text format, read at
// every start). Any input is refused with a status or accepted without crashing; what is accepted
// survives a round trip: formatted as a state file and parsed again, it formats the same.

#include <cstdint>
#include <cstdlib>
#include <string>

#include "lib/config/config_file.h"

namespace {

std::string StateOf(const cfs::gateway::GatewayOptions& o) {
  return cfs::config::FormatStateText(o.exports, o.users, o.groups, o.quotas);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  cfs::gateway::GatewayOptions options;
  cfs::LogLevel level = cfs::LogLevel::kInfo;
  if (!cfs::config::ParseConfigText(text, &options, &level).ok()) return 0;
  std::string state = StateOf(options);
  cfs::gateway::GatewayOptions again;
  if (!cfs::config::ParseConfigText(state, &again, &level).ok()) std::abort();
  if (StateOf(again) != state) std::abort();
  return 0;
}
