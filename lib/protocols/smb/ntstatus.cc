#include "lib/protocols/smb/ntstatus.h"

#include <optional>
#include <string>

#include "absl/strings/str_format.h"
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

std::string NtStatusName(uint32_t status) {
  switch (status) {
    case nt::kSuccess:
      return "STATUS_SUCCESS";
    case nt::kPending:
      return "STATUS_PENDING";
    case nt::kNotifyCleanup:
      return "STATUS_NOTIFY_CLEANUP";
    case nt::kNotifyEnumDir:
      return "STATUS_NOTIFY_ENUM_DIR";
    case nt::kBufferOverflow:
      return "STATUS_BUFFER_OVERFLOW";
    case nt::kNoMoreFiles:
      return "STATUS_NO_MORE_FILES";
    case nt::kUnsuccessful:
      return "STATUS_UNSUCCESSFUL";
    case nt::kNotImplemented:
      return "STATUS_NOT_IMPLEMENTED";
    case nt::kInvalidInfoClass:
      return "STATUS_INVALID_INFO_CLASS";
    case nt::kInfoLengthMismatch:
      return "STATUS_INFO_LENGTH_MISMATCH";
    case nt::kInvalidHandle:
      return "STATUS_INVALID_HANDLE";
    case nt::kInvalidParameter:
      return "STATUS_INVALID_PARAMETER";
    case nt::kNoSuchFile:
      return "STATUS_NO_SUCH_FILE";
    case nt::kInvalidDeviceRequest:
      return "STATUS_INVALID_DEVICE_REQUEST";
    case nt::kEndOfFile:
      return "STATUS_END_OF_FILE";
    case nt::kInvalidViewSize:
      return "STATUS_INVALID_VIEW_SIZE";
    case nt::kMoreProcessingRequired:
      return "STATUS_MORE_PROCESSING_REQUIRED";
    case nt::kNoMemory:
      return "STATUS_NO_MEMORY";
    case nt::kAccessDenied:
      return "STATUS_ACCESS_DENIED";
    case nt::kBufferTooSmall:
      return "STATUS_BUFFER_TOO_SMALL";
    case nt::kObjectNameInvalid:
      return "STATUS_OBJECT_NAME_INVALID";
    case nt::kObjectNameNotFound:
      return "STATUS_OBJECT_NAME_NOT_FOUND";
    case nt::kObjectNameCollision:
      return "STATUS_OBJECT_NAME_COLLISION";
    case nt::kObjectPathInvalid:
      return "STATUS_OBJECT_PATH_INVALID";
    case nt::kObjectPathNotFound:
      return "STATUS_OBJECT_PATH_NOT_FOUND";
    case nt::kObjectPathSyntaxBad:
      return "STATUS_OBJECT_PATH_SYNTAX_BAD";
    case nt::kSharingViolation:
      return "STATUS_SHARING_VIOLATION";
    case nt::kEaTooLarge:
      return "STATUS_EA_TOO_LARGE";
    case nt::kNonExistentEaEntry:
      return "STATUS_NON_EXISTENT_EA_ENTRY";
    case nt::kNoEasOnFile:
      return "STATUS_NO_EAS_ON_FILE";
    case nt::kDeletePending:
      return "STATUS_DELETE_PENDING";
    case nt::kFileLockConflict:
      return "STATUS_FILE_LOCK_CONFLICT";
    case nt::kLockNotGranted:
      return "STATUS_LOCK_NOT_GRANTED";
    case nt::kPrivilegeNotHeld:
      return "STATUS_PRIVILEGE_NOT_HELD";
    case nt::kLogonFailure:
      return "STATUS_LOGON_FAILURE";
    case nt::kRangeNotLocked:
      return "STATUS_RANGE_NOT_LOCKED";
    case nt::kDiskFull:
      return "STATUS_DISK_FULL";
    case nt::kInsufficientResources:
      return "STATUS_INSUFFICIENT_RESOURCES";
    case nt::kFileIsADirectory:
      return "STATUS_FILE_IS_A_DIRECTORY";
    case nt::kNotSupported:
      return "STATUS_NOT_SUPPORTED";
    case nt::kNetworkNameDeleted:
      return "STATUS_NETWORK_NAME_DELETED";
    case nt::kBadNetworkName:
      return "STATUS_BAD_NETWORK_NAME";
    case nt::kRequestNotAccepted:
      return "STATUS_REQUEST_NOT_ACCEPTED";
    case nt::kInternalError:
      return "STATUS_INTERNAL_ERROR";
    case nt::kDirectoryNotEmpty:
      return "STATUS_DIRECTORY_NOT_EMPTY";
    case nt::kNotADirectory:
      return "STATUS_NOT_A_DIRECTORY";
    case nt::kNameTooLong:
      return "STATUS_NAME_TOO_LONG";
    case nt::kFileClosed:
      return "STATUS_FILE_CLOSED";
    case nt::kRequestOutOfSequence:
      return "STATUS_REQUEST_OUT_OF_SEQUENCE";
    case nt::kCancelled:
      return "STATUS_CANCELLED";
    case nt::kCannotDelete:
      return "STATUS_CANNOT_DELETE";
    case nt::kUserSessionDeleted:
      return "STATUS_USER_SESSION_DELETED";
    case nt::kNotSameDevice:
      return "STATUS_NOT_SAME_DEVICE";
    case nt::kFileTooLarge:
      return "STATUS_FILE_TOO_LARGE";
    case nt::kQuotaExceeded:
      return "STATUS_QUOTA_EXCEEDED";
    case nt::kNetworkSessionExpired:
      return "STATUS_NETWORK_SESSION_EXPIRED";
    case nt::kInvalidDeviceState:
      return "STATUS_INVALID_DEVICE_STATE";
    case nt::kFsDriverRequired:
      return "STATUS_FS_DRIVER_REQUIRED";
    case nt::kStoppedOnSymlink:
      return "STATUS_STOPPED_ON_SYMLINK";
    case nt::kFileNotAvailable:
      return "STATUS_FILE_NOT_AVAILABLE";
    case nt::kIoTimeout:
      return "STATUS_IO_TIMEOUT";
    case nt::kRetry:
      return "STATUS_RETRY";
    case nt::kObjectNameExists:
      return "STATUS_OBJECT_NAME_EXISTS";
    case nt::kFileSystemLimitation:
      return "STATUS_FILE_SYSTEM_LIMITATION";
    case nt::kInvalidLockRange:
      return "STATUS_INVALID_LOCK_RANGE";
    case nt::kMediaWriteProtected:
      return "STATUS_MEDIA_WRITE_PROTECTED";
    case nt::kDuplicateObjectId:
      return "STATUS_DUPLICATE_OBJECT_ID";
    case nt::kInvalidNetworkResponse:
      return "STATUS_INVALID_NETWORK_RESPONSE";
    case nt::kInvalidOplockProtocol:
      return "STATUS_INVALID_OPLOCK_PROTOCOL";
  }
  return absl::StrFormat("STATUS_0x%08X", status);
}

}  // namespace cfs::smb
