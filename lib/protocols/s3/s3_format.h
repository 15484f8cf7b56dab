// Small formatting helpers of S3 responses: ISO 8601 times, quoted ETags, HTTP dates.
#ifndef CFS_LIB_PROTOCOLS_S3_S3_FORMAT_H_
#define CFS_LIB_PROTOCOLS_S3_S3_FORMAT_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "lib/backend/types.h"
#include "lib/protocols/http/http_message.h"

namespace cfs::s3 {

// "2009-10-12T17:50:30.000Z"
inline std::string Iso8601(const backend::Timestamp& t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t.ToTime(), absl::UTCTimeZone());
}

inline std::string Quoted(const std::string& etag) { return absl::StrCat("\"", etag, "\""); }

inline std::string LastModified(const backend::Timestamp& t) { return http::HttpDate(t.seconds); }

}  // namespace cfs::s3

#endif  // CFS_LIB_PROTOCOLS_S3_S3_FORMAT_H_
