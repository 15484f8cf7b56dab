#include "lib/protocols/smb/ntstatus.h"

#include <optional>

#include "lib/backend/errors.h"

namespace cfs::smb {

uint32_t NtStatusFor(const absl::Status& status) {
  using backend::FsError;
  if (status.ok()) return nt::kSuccess;
  if (std::optional<FsError> error = backend::GetFsError(status)) {
    switch (*error) {
      case FsError::kNoEntry:
      case FsError::kStale:
        return nt::kObjectNameNotFound;
      case FsError::kExists:
        return nt::kObjectNameCollision;
      case FsError::kAccess:
      case FsError::kNotPermitted:
        return nt::kAccessDenied;
      case FsError::kReadOnly:
        return nt::kMediaWriteProtected;
      case FsError::kNotDirectory:
        return nt::kNotADirectory;
      case FsError::kIsDirectory:
        return nt::kFileIsADirectory;
      case FsError::kNotEmpty:
        return nt::kDirectoryNotEmpty;
      case FsError::kCrossDevice:
        return nt::kNotSameDevice;
      case FsError::kNotSync:
      case FsError::kBadCookie:
        return nt::kUnsuccessful;
      case FsError::kInvalid:
        return nt::kInvalidParameter;
      case FsError::kNameTooLong:
        return nt::kObjectNameInvalid;
      case FsError::kTooBig:
        return nt::kFileTooLarge;
      case FsError::kNoSpace:
        return nt::kDiskFull;
      case FsError::kQuota:
        return nt::kDiskFull;
      case FsError::kNotSupported:
        return nt::kNotSupported;
      case FsError::kIo:
        return nt::kUnsuccessful;
    }
  }
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      return nt::kObjectNameNotFound;
    case absl::StatusCode::kAlreadyExists:
      return nt::kObjectNameCollision;
    case absl::StatusCode::kPermissionDenied:
      return nt::kAccessDenied;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return nt::kInvalidParameter;
    case absl::StatusCode::kResourceExhausted:
      return nt::kDiskFull;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kAborted:
      return nt::kInsufficientResources;
    case absl::StatusCode::kUnimplemented:
      return nt::kNotSupported;
    default:
      return nt::kUnsuccessful;
  }
}

}  // namespace cfs::smb
