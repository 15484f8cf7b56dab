#include "lib/common/logging.h"

#include <atomic>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace cfs {
namespace {

std::atomic<int> min_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<int> format{static_cast<int>(LogFormat::kText)};
std::mutex write_mu;

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "D";
    case LogLevel::kInfo:
      return "I";
    case LogLevel::kWarning:
      return "W";
    case LogLevel::kError:
      return "E";
  }
  return "?";
}

}  // namespace

void SetMinLogLevel(LogLevel level) { min_level.store(static_cast<int>(level)); }

LogLevel MinLogLevel() { return static_cast<LogLevel>(min_level.load()); }

bool ParseLogLevel(absl::string_view text, LogLevel* level) {
  if (text == "debug") {
    *level = LogLevel::kDebug;
  } else if (text == "info") {
    *level = LogLevel::kInfo;
  } else if (text == "warning") {
    *level = LogLevel::kWarning;
  } else if (text == "error") {
    *level = LogLevel::kError;
  } else {
    return false;
  }
  return true;
}

void SetLogFormat(LogFormat f) { format.store(static_cast<int>(f)); }

bool ParseLogFormat(absl::string_view text, LogFormat* f) {
  if (text == "text") {
    *f = LogFormat::kText;
  } else if (text == "json") {
    *f = LogFormat::kJson;
  } else {
    return false;
  }
  return true;
}

namespace {

const char* LevelWord(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "unknown";
}

// `text` as a JSON string body (RFC 8259 escapes; bytes >= 0x80 pass through as they are).
void AppendJsonString(std::string* out, absl::string_view text) {
  out->push_back('"');
  for (char c : text) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof(escaped), "\\u%04x", static_cast<unsigned char>(c));
          out->append(escaped);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

}  // namespace

std::string FormatLogLine(LogFormat f, LogLevel level, absl::string_view component,
                          absl::string_view request_id, absl::string_view message,
                          int64_t unix_micros) {
  time_t seconds = static_cast<time_t>(unix_micros / 1000000);
  tm utc;
  gmtime_r(&seconds, &utc);
  char stamp[48];
  size_t n = strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(stamp + n, sizeof(stamp) - n, ".%06ldZ",
                static_cast<long>(unix_micros % 1000000));  // NOLINT(runtime/int)
  std::string line;
  if (f == LogFormat::kJson) {
    line = "{\"time\":\"";
    line += stamp;
    line += "\",\"level\":\"";
    line += LevelWord(level);
    line += "\",\"component\":";
    AppendJsonString(&line, component);
    if (!request_id.empty()) {
      line += ",\"request_id\":";
      AppendJsonString(&line, request_id);
    }
    line += ",\"message\":";
    AppendJsonString(&line, message);
    line += "}";
    return line;
  }
  line = LevelName(level);
  line += " ";
  line += stamp;
  line += " ";
  line.append(component.data(), component.size());
  line += "] ";
  if (!request_id.empty()) {
    line += "[";
    line.append(request_id.data(), request_id.size());
    line += "] ";
  }
  line.append(message.data(), message.size());
  return line;
}

LogLine::LogLine(LogLevel level, absl::string_view component, absl::string_view request_id)
    : level_(level), component_(component), request_id_(request_id) {}

LogLine::~LogLine() {
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  int64_t micros = int64_t{now.tv_sec} * 1000000 + now.tv_nsec / 1000;
  std::string line = FormatLogLine(static_cast<LogFormat>(format.load()), level_, component_,
                                   request_id_, stream_.str(), micros);
  line.push_back('\n');
  std::lock_guard<std::mutex> lock(write_mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace cfs
