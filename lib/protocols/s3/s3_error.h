// S3Error: an S3 error response (HTTP status, code, message) and its XML document; the
// mapping from backend errors (FsError payloads, unavailability) to S3 codes.
#ifndef CFS_LIB_PROTOCOLS_S3_S3_ERROR_H_
#define CFS_LIB_PROTOCOLS_S3_S3_ERROR_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace cfs::s3 {

struct S3Error {
  int http_status = 500;
  std::string code = "InternalError";
  std::string message;
  // Further elements of the error document, in order (e.g. HeadersNotSigned).
  std::vector<std::pair<std::string, std::string>> details;

  static S3Error Make(int status, absl::string_view code, absl::string_view message);
  // The error document; `resource` is the request path, `request_id` the request's id.
  std::string ToXml(absl::string_view resource, absl::string_view request_id) const;
};

// Common errors by name.
S3Error NoSuchBucket();
S3Error NoSuchKey();
S3Error NoSuchUpload();
S3Error AccessDenied(absl::string_view why = "Access Denied");
S3Error InvalidArgument(absl::string_view why);
S3Error InvalidRequest(absl::string_view why);
S3Error MalformedXml(absl::string_view why = "The XML you provided was not well-formed");
S3Error NotImplemented(absl::string_view what);
S3Error BadDigest(absl::string_view why);

// A backend status as the S3 error a client should see: NoSuchKey for kNoEntry on an object,
// AccessDenied for permission errors, SlowDown (503) when the backend is unavailable, ...
// `missing` is the error for a missing entry (NoSuchKey or NoSuchBucket).
S3Error FromStatus(const absl::Status& status, const S3Error& missing);

}  // namespace cfs::s3

#endif  // CFS_LIB_PROTOCOLS_S3_S3_ERROR_H_
