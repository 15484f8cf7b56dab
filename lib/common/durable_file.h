// WriteFileDurably: replaces a small file so that a crash leaves either the old contents or the
// new, never a mix: the bytes go to `<path>.tmp` (created with `mode`), which is synced, renamed
// over `path`, and the directory is synced. For the gateway's key, token and state files.
// Thread-compatible (one writer per path).
//
// Example:
//   CFS_RETURN_IF_ERROR(WriteFileDurably(data_dir + "/admin.token", token + "\n"));

#ifndef CFS_LIB_COMMON_DURABLE_FILE_H_
#define CFS_LIB_COMMON_DURABLE_FILE_H_

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace cfs {

// Errors: the failed system call's errno as a status code, with the step and path named.
absl::Status WriteFileDurably(const std::string& path, absl::string_view contents,
                              mode_t mode = 0600);

}  // namespace cfs

#endif  // CFS_LIB_COMMON_DURABLE_FILE_H_
