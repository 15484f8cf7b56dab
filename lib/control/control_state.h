// The control plane's state file: the exports, users (with their S3 secrets and NT hashes),
// groups and quotas as the control plane last left them, in the config file's text format, at
// <data_dir>/control-state.conf (mode 0600). Written whole after every change (to a temporary
// file, synced, renamed over the old one, directory synced), so a crash leaves the old or the
// new state, never a mix. At start it replaces what the config file and flags say of those
// four lists. Thread-compatible (the admin service serialises its writes).
//
// Example:
//   CFS_RETURN_IF_ERROR(LoadControlState(options.data_dir, &options));  // before Build
//   ...
//   CFS_RETURN_IF_ERROR(SaveControlState(gateway));  // after each change

#ifndef CFS_LIB_CONTROL_CONTROL_STATE_H_
#define CFS_LIB_CONTROL_CONTROL_STATE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lib/gateway/gateway.h"
#include "lib/gateway/gateway_options.h"

namespace cfs::control {

std::string ControlStatePath(const std::string& data_dir);

// Writes the gateway's live exports, users, groups and quotas. Errors: kInternal (I/O, named).
absl::Status SaveControlState(gateway::Gateway& gateway);

// Replaces options->exports, users, groups and quotas with the state file's, when there is
// one. Returns whether there was. Errors: kInvalidArgument (a damaged file, with its position).
absl::StatusOr<bool> LoadControlState(const std::string& data_dir,
                                      gateway::GatewayOptions* options);

}  // namespace cfs::control

#endif  // CFS_LIB_CONTROL_CONTROL_STATE_H_
