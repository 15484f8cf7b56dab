#include "lib/control/control_state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "lib/server/config_file.h"

namespace cfs::control {
namespace {

absl::Status Errno(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

// Writes `text` to `path` durably: a synced temporary file renamed over it, then the directory
// synced.
absl::Status WriteDurably(const std::string& dir, const std::string& path,
                          const std::string& text) {
  std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("control state: open " + tmp);
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      absl::Status s = Errno("control state: write " + tmp);
      close(fd);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) {
    absl::Status s = Errno("control state: fsync " + tmp);
    close(fd);
    return s;
  }
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) != 0) return Errno("control state: rename to " + path);
  int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return Errno("control state: open " + dir);
  int synced = fsync(dir_fd);
  close(dir_fd);
  if (synced != 0) return Errno("control state: fsync " + dir);
  return absl::OkStatus();
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
      server::FormatStateText(gateway.exports(), gateway.users().List(),
                              gateway.users().ListGroups(), quotas));
  const std::string& dir = gateway.options().data_dir;
  return WriteDurably(dir, ControlStatePath(dir), text);
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
  absl::Status parsed = server::ParseConfigText(text.str(), &state, &ignored);
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
