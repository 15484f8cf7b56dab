#include "lib/control/control_state.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "lib/common/durable_file.h"
#include "lib/config/config_file.h"

namespace cfs::control {
namespace {

absl::Status Errno(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

}  // namespace

std::string ControlStatePath(const std::string& data_dir) {
  return data_dir + "/control-state.conf";
}

absl::Status SaveControlState(gateway::Gateway& gateway) {
  std::vector<quota::QuotaSetting> quotas;
  if (gateway.quotas() != nullptr) {
    for (const quota::QuotaReport& r : gateway.quotas()->ListQuotas()) quotas.push_back(r.setting);
  }
  std::string text = absl::StrCat(
      "# The control plane's state (cfs-gatewayctl changes): exports, users, groups, quotas.\n"
      "# Written by the gateway; it replaces those lists of the config file at start.\n",
      config::FormatStateText(gateway.exports(), gateway.users().List(),
                              gateway.users().ListGroups(), quotas));
  absl::Status written = WriteFileDurably(ControlStatePath(gateway.options().data_dir), text);
  if (!written.ok()) return absl::InternalError(absl::StrCat("control state: ", written.message()));
  return absl::OkStatus();
}

absl::StatusOr<bool> LoadControlState(const std::string& data_dir,
                                      gateway::GatewayOptions* options) {
  std::string path = ControlStatePath(data_dir);
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return false;
    return Errno("control state: stat " + path);
  }
  std::ifstream in(path);
  if (!in) return Errno("control state: open " + path);
  std::stringstream text;
  text << in.rdbuf();
  gateway::GatewayOptions state;
  LogLevel ignored = LogLevel::kInfo;
  absl::Status parsed = config::ParseConfigText(text.str(), &state, &ignored);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", parsed.message()));
  }
  options->exports = std::move(state.exports);
  options->users = std::move(state.users);
  options->groups = std::move(state.groups);
  options->quotas = std::move(state.quotas);
  return true;
}

}  // namespace cfs::control
