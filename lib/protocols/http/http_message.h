// HttpRequest / HttpResponseHead: the parts of an HTTP/1.1 exchange that protocol handlers see.
// Plain values; the connection owns the body stream separately (see HttpExchange).
#ifndef CFS_LIB_PROTOCOLS_HTTP_HTTP_MESSAGE_H_
#define CFS_LIB_PROTOCOLS_HTTP_HTTP_MESSAGE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace cfs::http {

struct HttpRequest {
  std::string method;  // "GET", "PUT", ...
  std::string target;  // as sent: "/bucket/key?list-type=2"
  int version_major = 1;
  int version_minor = 1;
  // Header names lower-cased, values trimmed, in arrival order (duplicates kept).
  std::vector<std::pair<std::string, std::string>> headers;
  bool keep_alive = true;
  bool chunked = false;                    // Transfer-Encoding: chunked
  std::optional<uint64_t> content_length;  // absent for chunked or no body
  bool expect_continue = false;            // Expect: 100-continue

  // The first value of `name` (lower case), or nullopt.
  std::optional<absl::string_view> Header(absl::string_view name) const;
  // The path part of the target (before '?'), still percent-encoded.
  absl::string_view RawPath() const;
  // The query part of the target (after '?'), still percent-encoded; empty when none.
  absl::string_view RawQuery() const;
  bool HasBody() const { return chunked || content_length.value_or(0) > 0; }
};

struct HttpResponseHead {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // as they are sent
  // Set when the body length is known; otherwise the body is sent chunked.
  std::optional<uint64_t> content_length;

  void Set(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
  }
};

// The reason phrase of a status code ("OK", "Not Found", ...).
absl::string_view ReasonPhrase(int status);

// The status line and headers of `head` (Content-Length or Transfer-Encoding added), ending with
// the blank line. `keep_alive` false adds Connection: close.
std::string SerializeResponseHead(const HttpResponseHead& head, bool keep_alive, bool head_request);

// RFC 3986 percent-decoding; '+' stays '+'. Returns false on a bad escape.
bool PercentDecode(absl::string_view in, std::string* out);

// Splits a raw query into decoded name/value pairs in order ("a=1&b" -> {a,1},{b,""}).
// Returns false on a bad escape.
bool ParseQuery(absl::string_view raw_query, std::vector<std::pair<std::string, std::string>>* out);

// RFC 7231 IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") of a Unix time.
std::string HttpDate(int64_t unix_seconds);
// Parses IMF-fixdate (and the obsolete RFC 850 / asctime forms). nullopt when unparsable.
std::optional<int64_t> ParseHttpDate(absl::string_view text);

}  // namespace cfs::http

#endif  // CFS_LIB_PROTOCOLS_HTTP_HTTP_MESSAGE_H_
