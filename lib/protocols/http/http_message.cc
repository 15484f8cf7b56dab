#include "lib/protocols/http/http_message.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace cfs::http {

std::optional<absl::string_view> HttpRequest::Header(absl::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return absl::string_view(value);
  }
  return std::nullopt;
}

absl::string_view HttpRequest::RawPath() const {
  absl::string_view t(target);
  size_t q = t.find('?');
  return q == absl::string_view::npos ? t : t.substr(0, q);
}

absl::string_view HttpRequest::RawQuery() const {
  absl::string_view t(target);
  size_t q = t.find('?');
  return q == absl::string_view::npos ? absl::string_view() : t.substr(q + 1);
}

absl::string_view ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 416:
      return "Range Not Satisfiable";
    case 417:
      return "Expectation Failed";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return status < 400 ? "OK" : "Error";
  }
}

std::string SerializeResponseHead(const HttpResponseHead& head, bool keep_alive,
                                  bool head_request) {
  std::string out = absl::StrCat("HTTP/1.1 ", head.status, " ", ReasonPhrase(head.status), "\r\n");
  for (const auto& [name, value] : head.headers) absl::StrAppend(&out, name, ": ", value, "\r\n");
  bool no_body_status = head.status == 204 || head.status == 304 || head.status < 200;
  if (!no_body_status) {
    if (head.content_length.has_value()) {
      absl::StrAppend(&out, "Content-Length: ", *head.content_length, "\r\n");
    } else if (!head_request) {
      out += "Transfer-Encoding: chunked\r\n";
    }
  }
  if (!keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
  return out;
}

namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

bool PercentDecode(absl::string_view in, std::string* out) {
  out->clear();
  out->reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int hi = HexValue(in[i + 1]);
    int lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

bool ParseQuery(absl::string_view raw_query,
                std::vector<std::pair<std::string, std::string>>* out) {
  out->clear();
  while (!raw_query.empty()) {
    size_t amp = raw_query.find('&');
    absl::string_view part = raw_query.substr(0, amp);
    raw_query = amp == absl::string_view::npos ? absl::string_view() : raw_query.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    std::string name;
    std::string value;
    if (!PercentDecode(part.substr(0, eq), &name)) return false;
    if (eq != absl::string_view::npos && !PercentDecode(part.substr(eq + 1), &value)) {
      return false;
    }
    out->emplace_back(std::move(name), std::move(value));
  }
  return true;
}

std::string HttpDate(int64_t unix_seconds) {
  return absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", absl::FromUnixSeconds(unix_seconds),
                          absl::UTCTimeZone());
}

std::optional<int64_t> ParseHttpDate(absl::string_view text) {
  static const char* const kFormats[] = {
      "%a, %d %b %Y %H:%M:%S GMT",  // IMF-fixdate
      "%A, %d-%b-%y %H:%M:%S GMT",  // RFC 850
      "%a %b %e %H:%M:%S %Y",       // asctime
      "%a, %d %b %Y %H:%M:%S %z",   // RFC 2822 with a numeric zone (s3cmd's x-amz-date)
  };
  std::string trimmed(absl::StripAsciiWhitespace(text));
  for (const char* format : kFormats) {
    absl::Time t;
    std::string error;
    if (absl::ParseTime(format, trimmed, absl::UTCTimeZone(), &t, &error)) {
      return absl::ToUnixSeconds(t);
    }
  }
  return std::nullopt;
}

}  // namespace cfs::http
