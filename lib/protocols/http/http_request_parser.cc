#include "lib/protocols/http/http_request_parser.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace cfs::http {

namespace {
HttpRequestParser* Self(http_parser* p) { return static_cast<HttpRequestParser*>(p->data); }
}  // namespace

HttpRequestParser::HttpRequestParser(HttpLimits limits) : limits_(limits) {
  http_parser_settings_init(&settings_);
  settings_.on_message_begin = &OnMessageBegin;
  settings_.on_url = &OnUrl;
  settings_.on_header_field = &OnHeaderField;
  settings_.on_header_value = &OnHeaderValue;
  settings_.on_headers_complete = &OnHeadersComplete;
  settings_.on_body = &OnBody;
  settings_.on_message_complete = &OnMessageComplete;
}

HttpRequestParser::Step HttpRequestParser::Fail(int status, std::string message) {
  state_ = State::kError;
  error_status_ = status;
  error_message_ = std::move(message);
  Step step;
  step.event = Event::kError;
  return step;
}

HttpRequestParser::Step HttpRequestParser::Next(absl::string_view input) {
  switch (state_) {
    case State::kError:
      return Fail(error_status_, error_message_);
    case State::kHeaders:
      return ParseHeaders(input);
    case State::kBody:
      return ParseBody(input);
  }
  return Fail(500, "parser state");
}

HttpRequestParser::Step HttpRequestParser::ParseHeaders(absl::string_view input) {
  // Blank lines before a request line are allowed (RFC 9112 2.2); skip them here.
  size_t skipped = 0;
  while (skipped < input.size() && (input[skipped] == '\r' || input[skipped] == '\n')) {
    ++skipped;
  }
  if (skipped > 0) {
    Step step;
    step.consumed = skipped;
    return step;
  }
  size_t end = input.find("\r\n\r\n");
  if (end == absl::string_view::npos) {
    if (input.size() > limits_.max_header_block) {
      return Fail(431, "request line and headers are too large");
    }
    return Step{};  // wait for the whole header block
  }
  size_t block_size = end + 4;
  if (block_size > limits_.max_header_block) {
    return Fail(431, "request line and headers are too large");
  }
  absl::string_view block = input.substr(0, block_size);
  // Obsolete line folding (a header line starting with SP or HTAB) is refused (RFC 9112 5.2).
  for (size_t i = block.find('\n'); i != absl::string_view::npos && i + 1 < end + 2;
       i = block.find('\n', i + 1)) {
    if (block[i + 1] == ' ' || block[i + 1] == '\t') {
      return Fail(400, "obsolete line folding in the headers");
    }
  }
  request_ = HttpRequest{};
  last_was_value_ = false;
  headers_done_ = false;
  message_done_ = false;
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
  size_t parsed = http_parser_execute(&parser_, &settings_, block.data(), block.size());
  http_errno err = HTTP_PARSER_ERRNO(&parser_);
  if (state_ == State::kError) return Fail(error_status_, error_message_);
  if (err != HPE_OK && err != HPE_PAUSED) {
    int status = err == HPE_INVALID_TRANSFER_ENCODING ? 501 : 400;
    return Fail(status, absl::StrCat("malformed request: ", http_errno_description(err)));
  }
  if (!headers_done_ || parsed != block.size()) return Fail(400, "malformed request headers");
  if (parser_.upgrade) return Fail(400, "protocol upgrade is not supported");
  Step step;
  step.event = Event::kHeaders;
  step.consumed = block_size;
  state_ = State::kBody;
  return step;
}

HttpRequestParser::Step HttpRequestParser::ParseBody(absl::string_view input) {
  Step step;
  if (message_done_) {
    step.event = Event::kComplete;
    state_ = State::kHeaders;
    return step;
  }
  if (input.empty()) return step;
  http_parser_pause(&parser_, 0);
  body_.clear();
  size_t parsed = http_parser_execute(&parser_, &settings_, input.data(), input.size());
  http_errno err = HTTP_PARSER_ERRNO(&parser_);
  if (err != HPE_OK && err != HPE_PAUSED) {
    return Fail(400, absl::StrCat("malformed request body: ", http_errno_description(err)));
  }
  step.consumed = parsed;
  if (!body_.empty()) {
    step.event = Event::kBody;
    step.body = std::move(body_);
    body_.clear();
    return step;  // kComplete (if the message ended) comes with the next call
  }
  if (message_done_) {
    step.event = Event::kComplete;
    state_ = State::kHeaders;
  }
  return step;
}

int HttpRequestParser::OnMessageBegin(http_parser* p) { return 0; }

int HttpRequestParser::OnUrl(http_parser* p, const char* at, size_t length) {
  HttpRequestParser* self = Self(p);
  if (self->request_.target.size() + length > self->limits_.max_target) {
    self->Fail(414, "request target is too long");
    return 1;
  }
  self->request_.target.append(at, length);
  return 0;
}

int HttpRequestParser::OnHeaderField(http_parser* p, const char* at, size_t length) {
  HttpRequestParser* self = Self(p);
  auto& headers = self->request_.headers;
  if (self->last_was_value_ || headers.empty()) {
    if (headers.size() >= self->limits_.max_headers) {
      self->Fail(431, "too many headers");
      return 1;
    }
    headers.emplace_back();
  }
  self->last_was_value_ = false;
  headers.back().first.append(at, length);
  return 0;
}

int HttpRequestParser::OnHeaderValue(http_parser* p, const char* at, size_t length) {
  HttpRequestParser* self = Self(p);
  if (self->request_.headers.empty()) return 1;
  self->last_was_value_ = true;
  self->request_.headers.back().second.append(at, length);
  return 0;
}

int HttpRequestParser::OnHeadersComplete(http_parser* p) {
  HttpRequestParser* self = Self(p);
  self->headers_done_ = true;
  return self->FinishHeaders();
}

int HttpRequestParser::FinishHeaders() {
  HttpRequest& r = request_;
  r.method = http_method_str(static_cast<http_method>(parser_.method));
  r.version_major = parser_.http_major;
  r.version_minor = parser_.http_minor;
  if (r.version_major != 1 || r.version_minor > 1) {
    Fail(505, "only HTTP/1.0 and HTTP/1.1 are served");
    return 1;
  }
  for (auto& [name, value] : r.headers) {
    absl::AsciiStrToLower(&name);
    value = std::string(absl::StripAsciiWhitespace(value));
  }
  r.keep_alive = http_should_keep_alive(&parser_) != 0;
  r.chunked = (parser_.flags & F_CHUNKED) != 0;
  if (r.chunked && r.Header("content-length").has_value()) {
    Fail(400, "both Content-Length and Transfer-Encoding");
    return 1;
  }
  if (parser_.uses_transfer_encoding && !r.chunked) {
    Fail(501, "unsupported transfer coding");
    return 1;
  }
  if (!r.chunked && (parser_.flags & F_CONTENTLENGTH) != 0) {
    r.content_length = parser_.content_length;
  }
  std::optional<absl::string_view> expect = r.Header("expect");
  if (expect.has_value()) {
    if (!absl::EqualsIgnoreCase(*expect, "100-continue")) {
      Fail(417, "unsupported Expect header");
      return 1;
    }
    r.expect_continue = r.version_minor >= 1;
  }
  if (r.target.empty() || (r.target[0] != '/' && r.method != "OPTIONS")) {
    Fail(400, "request target must be an absolute path");
    return 1;
  }
  return 0;
}

int HttpRequestParser::OnBody(http_parser* p, const char* at, size_t length) {
  Self(p)->body_.emplace_back(at, length);
  return 0;
}

int HttpRequestParser::OnMessageComplete(http_parser* p) {
  HttpRequestParser* self = Self(p);
  self->message_done_ = true;
  http_parser_pause(p, 1);  // one request at a time: the next one waits for its turn
  return 0;
}

}  // namespace cfs::http
