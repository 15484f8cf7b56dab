// Fuzz target: the HTTP/1.1 request parser, fed in slices whose sizes the first byte picks.

#include <cstddef>
#include <cstdint>
#include <string>

#include "lib/protocols/http/http_request_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t slice = 1 + data[0] % 64;
  absl::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  cfs::http::HttpRequestParser parser;
  std::string buffer;
  size_t fed = 0;
  for (int rounds = 0; rounds < 100000; ++rounds) {
    if (fed < input.size()) {
      size_t n = std::min(slice, input.size() - fed);
      buffer.append(input.data() + fed, n);
      fed += n;
    }
    cfs::http::HttpRequestParser::Step step = parser.Next(buffer);
    if (step.event == cfs::http::HttpRequestParser::Event::kError) break;
    if (step.consumed > buffer.size()) __builtin_trap();
    buffer.erase(0, step.consumed);
    if (step.consumed == 0 && step.event == cfs::http::HttpRequestParser::Event::kNeedMore &&
        fed == input.size()) {
      break;
    }
  }
  return 0;
}
