// File-system errors of the backend SPI.
//
// SPI calls fail with an absl::Status. The status code is one of a small set (kNotFound,
// kAlreadyExists, kPermissionDenied, kFailedPrecondition, kInvalidArgument, kResourceExhausted,
// kUnavailable, kDeadlineExceeded, kUnimplemented, kInternal); where a protocol needs a finer
// reason (ENOTDIR vs ENOTEMPTY) the status also carries an FsError payload. Each protocol maps
// FsError first and the code second, in one table at its edge.
//
// Example:
//   return FsErrorStatus(FsError::kNotEmpty, "directory has entries");
//   if (GetFsError(status) == FsError::kNotEmpty) ...

#ifndef CFS_LIB_BACKEND_ERRORS_H_
#define CFS_LIB_BACKEND_ERRORS_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace cfs::backend {

enum class FsError {
  kNoEntry,       // ENOENT            -> kNotFound
  kExists,        // EEXIST            -> kAlreadyExists
  kAccess,        // EACCES            -> kPermissionDenied
  kNotPermitted,  // EPERM             -> kPermissionDenied
  kReadOnly,      // EROFS             -> kPermissionDenied
  kNotDirectory,  // ENOTDIR           -> kFailedPrecondition
  kIsDirectory,   // EISDIR            -> kFailedPrecondition
  kNotEmpty,      // ENOTEMPTY         -> kFailedPrecondition
  kCrossDevice,   // EXDEV             -> kFailedPrecondition
  kNotSync,       // setattr guard mismatch -> kFailedPrecondition
  kBadCookie,     // readdir cookie/verifier no longer valid -> kFailedPrecondition
  kStale,         // inode freed or generation changed -> kNotFound
  kInvalid,       // EINVAL (e.g. rename into own subtree) -> kInvalidArgument
  kNameTooLong,   // ENAMETOOLONG      -> kInvalidArgument
  kTooBig,        // EFBIG             -> kInvalidArgument
  kNoSpace,       // ENOSPC            -> kResourceExhausted
  kQuota,         // EDQUOT            -> kResourceExhausted
  kNotSupported,  // operation not supported for this object -> kUnimplemented
  kIo,            // EIO               -> kInternal
};

// A status with FsError `error`, the matching canonical code and `message`.
absl::Status FsErrorStatus(FsError error, absl::string_view message);

// The FsError carried by `status`, if any.
std::optional<FsError> GetFsError(const absl::Status& status);

// The FsError for a POSIX errno (EIO for unknown ones), e.g. from a failed pwrite.
FsError FsErrorFromErrno(int err);

// A status for a failed system call: FsErrorFromErrno(err) plus "what: strerror".
absl::Status ErrnoStatus(int err, absl::string_view what);

absl::string_view FsErrorName(FsError error);

}  // namespace cfs::backend

#endif  // CFS_LIB_BACKEND_ERRORS_H_
