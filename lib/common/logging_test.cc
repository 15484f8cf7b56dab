#include "lib/common/logging.h"

#include "gtest/gtest.h"

namespace cfs {
namespace {

constexpr int64_t kNoon = int64_t{1796400000} * 1000000 + 123456;  // 2026-12-04T16:00:00

TEST(LoggingTest, TextLinesCarryLevelTimeComponentAndRequestId) {
  EXPECT_EQ(FormatLogLine(LogFormat::kText, LogLevel::kWarning, "quota", "", "over", kNoon),
            "W 2026-12-04T16:00:00.123456Z quota] over");
  EXPECT_EQ(FormatLogLine(LogFormat::kText, LogLevel::kDebug, "s3", "req-7", "GET /b/k", kNoon),
            "D 2026-12-04T16:00:00.123456Z s3] [req-7] GET /b/k");
}

TEST(LoggingTest, JsonLinesAreOneEscapedObject) {
  EXPECT_EQ(FormatLogLine(LogFormat::kJson, LogLevel::kInfo, "audit", "", "ok", kNoon),
            R"({"time":"2026-12-04T16:00:00.123456Z","level":"info","component":"audit",)"
            R"("message":"ok"})");
  EXPECT_EQ(FormatLogLine(LogFormat::kJson, LogLevel::kError, "nfs", "xid 9", "say \"hi\"\\\n\x01",
                          kNoon),
            R"({"time":"2026-12-04T16:00:00.123456Z","level":"error","component":"nfs",)"
            R"("request_id":"xid 9","message":"say \"hi\"\\\n\u0001"})");
}

TEST(LoggingTest, ParsesFormatsAndLevels) {
  LogFormat format = LogFormat::kText;
  EXPECT_TRUE(ParseLogFormat("json", &format));
  EXPECT_EQ(format, LogFormat::kJson);
  EXPECT_FALSE(ParseLogFormat("xml", &format));
  LogLevel level = LogLevel::kInfo;
  EXPECT_TRUE(ParseLogLevel("warning", &level));
  EXPECT_EQ(level, LogLevel::kWarning);
  EXPECT_FALSE(ParseLogLevel("loud", &level));
}

}  // namespace
}  // namespace cfs
