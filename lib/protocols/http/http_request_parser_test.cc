#include "lib/protocols/http/http_request_parser.h"

#include <string>

#include "gtest/gtest.h"

namespace cfs::http {
namespace {

using Event = HttpRequestParser::Event;

// Feeds `input` in slices of `slice` bytes (as a socket would deliver it) and records what the
// parser reports: requests' methods and targets, bodies, and the error status if any.
struct Transcript {
  std::vector<HttpRequest> requests;
  std::vector<std::string> bodies;
  int error = 0;
};

Transcript Parse(const std::string& input, size_t slice = SIZE_MAX) {
  HttpRequestParser parser;
  Transcript t;
  std::string buffer;
  size_t fed = 0;
  while (true) {
    if (fed < input.size()) {
      size_t n = std::min(slice, input.size() - fed);
      buffer.append(input, fed, n);
      fed += n;
    }
    bool progress = true;
    while (progress) {
      HttpRequestParser::Step step = parser.Next(buffer);
      progress = step.consumed > 0 || step.event != Event::kNeedMore;
      switch (step.event) {
        case Event::kHeaders:
          t.requests.push_back(parser.request());
          t.bodies.emplace_back();
          break;
        case Event::kBody:
          for (absl::string_view piece : step.body)
            t.bodies.back().append(piece.data(), piece.size());
          break;
        case Event::kError:
          t.error = parser.error_status();
          return t;
        default:
          break;
      }
      buffer.erase(0, step.consumed);
    }
    if (fed == input.size()) return t;
  }
}

TEST(HttpRequestParserTest, ParsesHeadersAndContentLengthBody) {
  Transcript t = Parse(
      "PUT /bucket/key?x=1 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n"
      "X-Amz-Meta-Color:  blue \r\n\r\nhello");
  ASSERT_EQ(t.error, 0);
  ASSERT_EQ(t.requests.size(), 1u);
  EXPECT_EQ(t.requests[0].method, "PUT");
  EXPECT_EQ(t.requests[0].RawPath(), "/bucket/key");
  EXPECT_EQ(t.requests[0].RawQuery(), "x=1");
  EXPECT_EQ(t.requests[0].Header("x-amz-meta-color").value(), "blue");
  EXPECT_EQ(t.requests[0].content_length.value(), 5u);
  EXPECT_EQ(t.bodies[0], "hello");
}

TEST(HttpRequestParserTest, PipelinedRequestsInOneBufferAndByteByByte) {
  std::string input =
      "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
      "PUT /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
      "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "2\r\nxy\r\n3;ext=1\r\nzzz\r\n0\r\n\r\n"
      "DELETE /d HTTP/1.1\r\nHost: h\r\n\r\n";
  for (size_t slice : {SIZE_MAX, size_t{1}, size_t{7}}) {
    Transcript t = Parse(input, slice);
    ASSERT_EQ(t.error, 0) << slice;
    ASSERT_EQ(t.requests.size(), 4u) << slice;
    EXPECT_EQ(t.requests[0].target, "/a");
    EXPECT_EQ(t.requests[1].target, "/b");
    EXPECT_EQ(t.bodies[1], "abc");
    EXPECT_TRUE(t.requests[2].chunked);
    EXPECT_EQ(t.bodies[2], "xyzzz") << slice;
    EXPECT_EQ(t.requests[3].method, "DELETE");
  }
}

TEST(HttpRequestParserTest, KeepAliveFollowsVersionAndConnectionHeader) {
  Transcript t = Parse(
      "GET / HTTP/1.0\r\n\r\nGET / HTTP/1.1\r\nConnection: close\r\n\r\n"
      "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  ASSERT_EQ(t.requests.size(), 3u);
  EXPECT_FALSE(t.requests[0].keep_alive);
  EXPECT_FALSE(t.requests[1].keep_alive);
  EXPECT_TRUE(t.requests[2].keep_alive);
}

TEST(HttpRequestParserTest, ExpectContinue) {
  Transcript t = Parse("PUT /k HTTP/1.1\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\nx");
  ASSERT_EQ(t.requests.size(), 1u);
  EXPECT_TRUE(t.requests[0].expect_continue);
  EXPECT_EQ(Parse("PUT /k HTTP/1.1\r\nExpect: something\r\n\r\n").error, 417);
}

TEST(HttpRequestParserTest, RefusesSmugglingShapes) {
  // Both framings at once.
  EXPECT_EQ(Parse("POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "0\r\n\r\n")
                .error,
            400);
  // Two Content-Length values.
  EXPECT_EQ(Parse("POST / HTTP/1.1\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde").error,
            400);
  // Obsolete line folding.
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nX-A: 1\r\n  folded\r\n\r\n").error, 400);
  // A transfer coding other than chunked.
  EXPECT_GE(Parse("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n").error, 400);
  // Negative or garbage lengths.
  EXPECT_EQ(Parse("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n").error, 400);
  EXPECT_EQ(Parse("POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n").error, 400);
  // Bad chunk size.
  EXPECT_EQ(Parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").error, 400);
}

TEST(HttpRequestParserTest, EnforcesLimits) {
  std::string many = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 101; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(Parse(many + "\r\n").error, 431);
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n").error, 431);
  // An endless header block is refused before its end arrives.
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nX-Big: " + std::string(20000, 'a')).error, 431);
  EXPECT_EQ(Parse("GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n\r\n").error, 414);
  EXPECT_EQ(Parse("GET / HTTP/2.0\r\n\r\n").error, 505);
  EXPECT_EQ(Parse("GET http://example.com/ HTTP/1.1\r\n\r\n").error, 400);
  EXPECT_EQ(Parse("NOTAMETHOD / HTTP/1.1\r\n\r\n").error, 400);
}

TEST(HttpMessageTest, QueryAndDates) {
  std::vector<std::pair<std::string, std::string>> q;
  ASSERT_TRUE(ParseQuery("list-type=2&prefix=a%2Fb&delimiter=%2F&uploads", &q));
  ASSERT_EQ(q.size(), 4u);
  EXPECT_EQ(q[1].second, "a/b");
  EXPECT_EQ(q[3].first, "uploads");
  EXPECT_FALSE(ParseQuery("a=%zz", &q));
  EXPECT_FALSE(ParseQuery("a=%2", &q));
  EXPECT_EQ(HttpDate(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT").value(), 784111777);
  EXPECT_EQ(ParseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT").value(), 784111777);
  EXPECT_FALSE(ParseHttpDate("yesterday").has_value());
}

}  // namespace
}  // namespace cfs::http
