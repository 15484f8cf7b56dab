#include "lib/backend/errors.h"

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace cfs::backend {
namespace {

constexpr absl::string_view kPayloadUrl = "type.claudefs/cfs.backend.FsError";

absl::StatusCode CodeFor(FsError error) {
  switch (error) {
    case FsError::kNoEntry:
    case FsError::kStale:
      return absl::StatusCode::kNotFound;
    case FsError::kExists:
      return absl::StatusCode::kAlreadyExists;
    case FsError::kAccess:
    case FsError::kNotPermitted:
    case FsError::kReadOnly:
      return absl::StatusCode::kPermissionDenied;
    case FsError::kNotDirectory:
    case FsError::kIsDirectory:
    case FsError::kNotEmpty:
    case FsError::kCrossDevice:
    case FsError::kNotSync:
    case FsError::kBadCookie:
      return absl::StatusCode::kFailedPrecondition;
    case FsError::kInvalid:
    case FsError::kNameTooLong:
    case FsError::kTooBig:
      return absl::StatusCode::kInvalidArgument;
    case FsError::kNoSpace:
    case FsError::kQuota:
      return absl::StatusCode::kResourceExhausted;
    case FsError::kNotSupported:
      return absl::StatusCode::kUnimplemented;
    case FsError::kIo:
      return absl::StatusCode::kInternal;
  }
  return absl::StatusCode::kInternal;
}

}  // namespace

absl::string_view FsErrorName(FsError error) {
  switch (error) {
    case FsError::kNoEntry:
      return "NO_ENTRY";
    case FsError::kExists:
      return "EXISTS";
    case FsError::kAccess:
      return "ACCESS";
    case FsError::kNotPermitted:
      return "NOT_PERMITTED";
    case FsError::kReadOnly:
      return "READ_ONLY";
    case FsError::kNotDirectory:
      return "NOT_DIRECTORY";
    case FsError::kIsDirectory:
      return "IS_DIRECTORY";
    case FsError::kNotEmpty:
      return "NOT_EMPTY";
    case FsError::kCrossDevice:
      return "CROSS_DEVICE";
    case FsError::kNotSync:
      return "NOT_SYNC";
    case FsError::kBadCookie:
      return "BAD_COOKIE";
    case FsError::kStale:
      return "STALE";
    case FsError::kInvalid:
      return "INVALID";
    case FsError::kNameTooLong:
      return "NAME_TOO_LONG";
    case FsError::kTooBig:
      return "TOO_BIG";
    case FsError::kNoSpace:
      return "NO_SPACE";
    case FsError::kQuota:
      return "QUOTA";
    case FsError::kNotSupported:
      return "NOT_SUPPORTED";
    case FsError::kIo:
      return "IO";
  }
  return "UNKNOWN";
}

absl::Status FsErrorStatus(FsError error, absl::string_view message) {
  absl::Status status(CodeFor(error), message);
  status.SetPayload(kPayloadUrl, absl::Cord(FsErrorName(error)));
  return status;
}

std::optional<FsError> GetFsError(const absl::Status& status) {
  auto payload = status.GetPayload(kPayloadUrl);
  if (!payload.has_value()) return std::nullopt;
  std::string name(*payload);
  for (int i = 0; i <= static_cast<int>(FsError::kIo); ++i) {
    FsError candidate = static_cast<FsError>(i);
    if (FsErrorName(candidate) == name) return candidate;
  }
  return std::nullopt;
}

FsError FsErrorFromErrno(int err) {
  switch (err) {
    case ENOENT:
      return FsError::kNoEntry;
    case EEXIST:
      return FsError::kExists;
    case EACCES:
      return FsError::kAccess;
    case EPERM:
      return FsError::kNotPermitted;
    case EROFS:
      return FsError::kReadOnly;
    case ENOTDIR:
      return FsError::kNotDirectory;
    case EISDIR:
      return FsError::kIsDirectory;
    case ENOTEMPTY:
      return FsError::kNotEmpty;
    case EXDEV:
      return FsError::kCrossDevice;
    case EINVAL:
      return FsError::kInvalid;
    case ENAMETOOLONG:
      return FsError::kNameTooLong;
    case EFBIG:
      return FsError::kTooBig;
    case ENOSPC:
      return FsError::kNoSpace;
    case EDQUOT:
      return FsError::kQuota;
    case ENOTSUP:
      return FsError::kNotSupported;
    default:
      return FsError::kIo;
  }
}

absl::Status ErrnoStatus(int err, absl::string_view what) {
  return FsErrorStatus(FsErrorFromErrno(err), absl::StrCat(what, ": ", std::strerror(err)));
}

}  // namespace cfs::backend
