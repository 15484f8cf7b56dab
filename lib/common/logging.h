// One small logging facility for the whole gateway (Abseil 20220623 has no absl/log).
//
// Lines go to stderr as `<level> <time> <component>] message`. The default level is INFO; nothing
// logs once per request at that level. Thread-safe.
//
// Example:
//   CFS_LOG(INFO, "gateway") << "listening on " << address;
//   cfs::SetMinLogLevel(cfs::LogLevel::kWarning);

#ifndef CFS_LIB_COMMON_LOGGING_H_
#define CFS_LIB_COMMON_LOGGING_H_

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

// Collects one line and writes it when destroyed. Use through CFS_LOG.
class LogLine {
 public:
  LogLine(LogLevel level, absl::string_view component);
  ~LogLine();
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;

  std::ostream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::string component_;
  std::ostringstream stream_;
};

namespace logging_internal {
constexpr LogLevel kDEBUG = LogLevel::kDebug;
constexpr LogLevel kINFO = LogLevel::kInfo;
constexpr LogLevel kWARNING = LogLevel::kWarning;
constexpr LogLevel kERROR = LogLevel::kError;
}  // namespace logging_internal

}  // namespace cfs

#define CFS_LOG(level, component)                                 \
  if (::cfs::logging_internal::k##level < ::cfs::MinLogLevel()) { \
  } else                                                          \
    ::cfs::LogLine(::cfs::logging_internal::k##level, component).stream()

#endif  // CFS_LIB_COMMON_LOGGING_H_
