#include "lib/protocols/s3/s3_error.h"

#include "lib/backend/errors.h"
#include "lib/protocols/s3/xml.h"

namespace cfs::s3 {

S3Error S3Error::Make(int status, absl::string_view code, absl::string_view message) {
  return S3Error{status, std::string(code), std::string(message), {}};
}

std::string S3Error::ToXml(absl::string_view resource, absl::string_view request_id) const {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>";
  out += "<Code>" + XmlEscape(code) + "</Code>";
  out += "<Message>" + XmlEscape(message) + "</Message>";
  for (const auto& [name, value] : details) {
    out += "<" + name + ">" + XmlEscape(value) + "</" + name + ">";
  }
  out += "<Resource>" + XmlEscape(resource) + "</Resource>";
  out += "<RequestId>" + XmlEscape(request_id) + "</RequestId>";
  out += "</Error>";
  return out;
}

S3Error NoSuchBucket() {
  return S3Error::Make(404, "NoSuchBucket", "The specified bucket does not exist");
}
S3Error NoSuchKey() { return S3Error::Make(404, "NoSuchKey", "The specified key does not exist."); }
S3Error NoSuchUpload() {
  return S3Error::Make(404, "NoSuchUpload", "The specified multipart upload does not exist.");
}
S3Error AccessDenied(absl::string_view why) { return S3Error::Make(403, "AccessDenied", why); }
S3Error InvalidArgument(absl::string_view why) {
  return S3Error::Make(400, "InvalidArgument", why);
}
S3Error InvalidRequest(absl::string_view why) { return S3Error::Make(400, "InvalidRequest", why); }
S3Error MalformedXml(absl::string_view why) { return S3Error::Make(400, "MalformedXML", why); }
S3Error NotImplemented(absl::string_view what) {
  return S3Error::Make(501, "NotImplemented", what);
}
S3Error BadDigest(absl::string_view why) { return S3Error::Make(400, "BadDigest", why); }

S3Error FromStatus(const absl::Status& status, const S3Error& missing) {
  std::optional<backend::FsError> fs = backend::GetFsError(status);
  if (fs.has_value()) {
    switch (*fs) {
      case backend::FsError::kNoEntry:
      case backend::FsError::kStale:
      case backend::FsError::kNotDirectory:
        return missing;
      case backend::FsError::kAccess:
      case backend::FsError::kNotPermitted:
        return AccessDenied();
      case backend::FsError::kReadOnly:
        return AccessDenied("The export is read-only");
      case backend::FsError::kIsDirectory:
      case backend::FsError::kExists:
        return S3Error::Make(409, "InvalidObjectState",
                             "The key names a directory or clashes with a prefix of other keys");
      case backend::FsError::kNotEmpty:
        return S3Error::Make(409, "BucketNotEmpty", "The bucket you tried to delete is not empty");
      case backend::FsError::kNameTooLong:
        return S3Error::Make(400, "KeyTooLongError",
                             "A segment of the key is longer than 255 bytes");
      case backend::FsError::kTooBig:
        return S3Error::Make(400, "EntityTooLarge", "Your proposed upload is too large");
      case backend::FsError::kNoSpace:
        return S3Error::Make(507, "InsufficientStorage", "No space left on the gateway");
      case backend::FsError::kQuota:
        return S3Error::Make(403, "QuotaExceeded", "The quota of this user or bucket is used up");
      case backend::FsError::kInvalid:
        return InvalidArgument(status.message());
      default:
        break;
    }
  }
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
      return S3Error::Make(503, "SlowDown", "Please reduce your request rate.");
    case absl::StatusCode::kNotFound:
      return missing;
    case absl::StatusCode::kPermissionDenied:
      return AccessDenied();
    default:
      return S3Error::Make(500, "InternalError",
                           "We encountered an internal error. Please try again.");
  }
}

}  // namespace cfs::s3
