// HttpRequestParser: turns the bytes of one HTTP/1.1 connection into requests, one at a time,
// on Debian's libhttp-parser (framing, chunked decoding, Content-Length/Transfer-Encoding
// conflicts). On top it enforces the gateway's limits and refuses what request smuggling
// relies on: obsolete line folding, both Content-Length and Transfer-Encoding, several
// Content-Length values, transfer codings other than chunked.
//
// Pure and single-threaded: the connection feeds it what it received and gets back events.
// Body bytes are returned as views into the input passed to that call.
//
// Example:
//   HttpRequestParser parser;
//   HttpRequestParser::Step step = parser.Next(input);
//   if (step.event == Event::kHeaders) Dispatch(parser.request());
#ifndef CFS_LIB_PROTOCOLS_HTTP_HTTP_REQUEST_PARSER_H_
#define CFS_LIB_PROTOCOLS_HTTP_HTTP_REQUEST_PARSER_H_

#include <http_parser.h>

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "lib/protocols/http/http_message.h"

namespace cfs::http {

struct HttpLimits {
  size_t max_header_block = 16 * 1024;  // request line and headers, bytes
  size_t max_headers = 100;
  size_t max_target = 8 * 1024;
};

class HttpRequestParser {
 public:
  enum class Event {
    kNeedMore,  // everything given was consumed (or is kept for later); feed more
    kHeaders,   // request() holds a new request's line and headers; body (if any) follows
    kBody,      // `body` holds the next body bytes of the current request
    kComplete,  // the current request's body ended (after kBody events, if any)
    kError,     // a malformed request: answer error_status() and close
  };
  struct Step {
    Event event = Event::kNeedMore;
    size_t consumed = 0;                  // bytes of the input used by this step
    std::vector<absl::string_view> body;  // kBody: views into the input
  };

  explicit HttpRequestParser(HttpLimits limits = {});
  HttpRequestParser(const HttpRequestParser&) = delete;
  HttpRequestParser& operator=(const HttpRequestParser&) = delete;

  // Parses from the start of `input` (what was not consumed before plus what arrived).
  Step Next(absl::string_view input);

  const HttpRequest& request() const { return request_; }
  // After kError: the HTTP status to answer (400, 413, 431, 501, 505) and why.
  int error_status() const { return error_status_; }
  const std::string& error_message() const { return error_message_; }
  // True between kHeaders and kComplete.
  bool in_body() const { return state_ == State::kBody; }

 private:
  enum class State { kHeaders, kBody, kError };
  static int OnMessageBegin(http_parser* p);
  static int OnUrl(http_parser* p, const char* at, size_t length);
  static int OnHeaderField(http_parser* p, const char* at, size_t length);
  static int OnHeaderValue(http_parser* p, const char* at, size_t length);
  static int OnHeadersComplete(http_parser* p);
  static int OnBody(http_parser* p, const char* at, size_t length);
  static int OnMessageComplete(http_parser* p);

  Step Fail(int status, std::string message);
  Step ParseHeaders(absl::string_view input);
  Step ParseBody(absl::string_view input);
  int FinishHeaders();

  HttpLimits limits_;
  http_parser parser_;
  http_parser_settings settings_;
  State state_ = State::kHeaders;
  HttpRequest request_;
  bool last_was_value_ = false;
  bool headers_done_ = false;
  bool message_done_ = false;
  std::vector<absl::string_view> body_;
  int error_status_ = 400;
  std::string error_message_;
};

}  // namespace cfs::http

#endif  // CFS_LIB_PROTOCOLS_HTTP_HTTP_REQUEST_PARSER_H_
