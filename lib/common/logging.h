// One small logging facility for the whole gateway (Abseil 20220623 has no absl/log).
//
// Lines go to stderr as `<level> <time> <component>] [<request id>] message`, or, with
// SetLogFormat(kJson), as one JSON object a line: {"time", "level", "component", "request_id"
// (when the line is about one request), "message"}. The default level is INFO; nothing logs
// once per request at that level. Thread-safe.
//
// Example:
//   CFS_LOG(INFO, "gateway") << "listening on " << address;
//   CFS_LOG_REQUEST(DEBUG, "s3", call.request_id) << "GET " << key;
//   cfs::SetMinLogLevel(cfs::LogLevel::kWarning);

#ifndef CFS_LIB_COMMON_LOGGING_H_
#define CFS_LIB_COMMON_LOGGING_H_

#include <cstdint>
#include <sstream>
#include <string>

#include "absl/strings/string_view.h"

namespace cfs {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Lines below this level are dropped. Thread-safe.
void SetMinLogLevel(LogLevel level);
LogLevel MinLogLevel();

// Parses "debug", "info", "warning" or "error".
bool ParseLogLevel(absl::string_view text, LogLevel* level);

enum class LogFormat { kText, kJson };
void SetLogFormat(LogFormat format);
// Parses "text" or "json".
bool ParseLogFormat(absl::string_view text, LogFormat* format);

// One line as written (without the newline): for tests of the format.
std::string FormatLogLine(LogFormat format, LogLevel level, absl::string_view component,
                          absl::string_view request_id, absl::string_view message,
                          int64_t unix_micros);

// Collects one line and writes it when destroyed. Use through CFS_LOG.
class LogLine {
 public:
  LogLine(LogLevel level, absl::string_view component, absl::string_view request_id = {});
  ~LogLine();
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;

  std::ostream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::string component_;
  std::string request_id_;
  std::ostringstream stream_;
};

namespace logging_internal {
constexpr LogLevel kDEBUG = LogLevel::kDebug;
constexpr LogLevel kINFO = LogLevel::kInfo;
constexpr LogLevel kWARNING = LogLevel::kWarning;
constexpr LogLevel kERROR = LogLevel::kError;
template <typename T>
std::string RequestIdText(const T& id) {
  std::ostringstream out;
  out << id;
  return out.str();
}
}  // namespace logging_internal

}  // namespace cfs

#define CFS_LOG(level, component)                                 \
  if (::cfs::logging_internal::k##level < ::cfs::MinLogLevel()) { \
  } else                                                          \
    ::cfs::LogLine(::cfs::logging_internal::k##level, component).stream()

// A line about one request: `request_id` (anything streamable) is its own field.
#define CFS_LOG_REQUEST(level, component, request_id)                  \
  if (::cfs::logging_internal::k##level < ::cfs::MinLogLevel()) {      \
  } else                                                               \
    ::cfs::LogLine(::cfs::logging_internal::k##level, component,       \
                   ::cfs::logging_internal::RequestIdText(request_id)) \
        .stream()

#endif  // CFS_LIB_COMMON_LOGGING_H_
