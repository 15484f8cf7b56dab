// The deployment's file-handle key, kept in `<data_dir>/file_handle.key` (mode 0600) so file
// handles stay valid across restarts.
//
// Example:
//   absl::StatusOr<std::string> key = LoadOrCreateHandleKey("/var/lib/cfs");

#ifndef CFS_LIB_SERVER_HANDLE_KEY_H_
#define CFS_LIB_SERVER_HANDLE_KEY_H_

#include <string>

#include "absl/status/statusor.h"

namespace cfs::server {

// Reads the key, or creates it (written to a temporary file, synced, renamed into place).
// Errors: errno-derived failures; kDataLoss for a key file that is too short.
absl::StatusOr<std::string> LoadOrCreateHandleKey(const std::string& data_dir);

}  // namespace cfs::server

#endif  // CFS_LIB_SERVER_HANDLE_KEY_H_
