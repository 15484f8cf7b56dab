#include "lib/protocols/http/http_server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "testing/loopback.h"

namespace cfs::http {
namespace {

// Streams `left` bytes, pausing (and returning) whenever the connection asks it to.
struct BigBody : std::enable_shared_from_this<BigBody> {
  explicit BigBody(HttpExchange exchange, uint64_t left)
      : exchange(std::move(exchange)), left(left) {}
  void Step() {
    std::string block(1 << 20, 'z');
    while (left > 0) {
      size_t len = std::min<uint64_t>(block.size(), left);
      left -= len;
      std::shared_ptr<BigBody> self = shared_from_this();
      absl::StatusOr<bool> paused =
          exchange.SendBody(block.substr(0, len), [self] { self->Step(); });
      if (!paused.ok()) return;
      if (*paused) return;
    }
    exchange.Finish().IgnoreError();
  }
  HttpExchange exchange;
  uint64_t left;
};

// Reads the whole body, resuming itself as it arrives; answers its size and a sum.
struct Echo : std::enable_shared_from_this<Echo> {
  explicit Echo(HttpExchange exchange) : exchange(std::move(exchange)) {}
  void Step() {
    std::shared_ptr<Echo> self = shared_from_this();
    while (true) {
      std::optional<absl::StatusOr<Buffer>> piece =
          exchange.ReadBody(1 << 20, [self] { self->Step(); });
      if (!piece.has_value()) return;  // resumed when more has arrived
      if (!piece->ok()) return;
      if ((*piece)->empty()) break;
      size += (*piece)->size();
      for (unsigned char c : (*piece)->ToString()) sum += c;
    }
    exchange.Respond(HttpResponseHead(), absl::StrCat(size, " ", sum)).IgnoreError();
  }
  HttpExchange exchange;
  uint64_t size = 0;
  uint64_t sum = 0;
};

// Test handler: GET /big?n=N streams N bytes; PUT /echo answers the body's size and a sum;
// PUT /refuse answers 403 without reading the body; anything else answers the target.
class TestHandler : public HttpHandler {
 public:
  void Handle(HttpExchange exchange) override {
    const HttpRequest& r = exchange.request();
    HttpResponseHead head;
    if (r.RawPath() == "/big") {
      uint64_t n = 0;
      ASSERT_TRUE(absl::SimpleAtoi(r.RawQuery().substr(2), &n));
      ASSERT_TRUE(exchange.SendHead(head).ok());  // chunked
      std::make_shared<BigBody>(exchange, n)->Step();
    } else if (r.RawPath() == "/echo") {
      std::make_shared<Echo>(exchange)->Step();
    } else if (r.RawPath() == "/refuse") {
      head.status = 403;
      exchange.Respond(head, "no").IgnoreError();
    } else {
      exchange.Respond(head, std::string(r.target)).IgnoreError();
    }
  }
};

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override { Restart(HttpServerOptions()); }
  void Restart(HttpServerOptions options) {
    if (server_ != nullptr) server_->Shutdown(absl::Now() + absl::Seconds(5));
    options.tcp.loops = 1;
    server_ = std::make_unique<HttpServer>(options, &handler_);
    ASSERT_TRUE(server_->Start("127.0.0.1", 0).ok());
  }
  void TearDown() override { server_->Shutdown(absl::Now() + absl::Seconds(5)); }

  int Connect() {
    int fd = cfs::testing::ConnectLoopback(server_->port());
    timeval tv{10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
  }
  static void SendAll(int fd, absl::string_view data) {
    while (!data.empty()) {
      ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      ASSERT_GT(n, 0);
      data.remove_prefix(n);
    }
  }
  // Reads one response (head and body, Content-Length or chunked) from `fd`; `pending` keeps
  // bytes read past it. Returns "<status> <body>", or "" on EOF.
  static std::string ReadResponse(int fd, std::string* pending, bool head_only = false) {
    auto fill = [&]() {
      char buf[65536];
      ssize_t n;
      do {
        n = recv(fd, buf, sizeof(buf), 0);
      } while (n < 0 && errno == EINTR);
      if (n <= 0) return false;
      pending->append(buf, n);
      return true;
    };
    size_t end;
    while ((end = pending->find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return "";
    }
    std::string head = pending->substr(0, end + 2);
    pending->erase(0, end + 4);
    std::string status = head.substr(9, 3);
    std::string body;
    size_t cl = head.find("Content-Length: ");
    if (head_only || status == "100") return status;
    if (cl != std::string::npos) {
      uint64_t len = std::stoull(head.substr(cl + 16));
      while (pending->size() < len) {
        if (!fill()) return "";
      }
      body = pending->substr(0, len);
      pending->erase(0, len);
    } else if (head.find("Transfer-Encoding: chunked") != std::string::npos) {
      while (true) {
        size_t eol;
        while ((eol = pending->find("\r\n")) == std::string::npos) {
          if (!fill()) return "";
        }
        uint64_t len = std::stoull(pending->substr(0, eol), nullptr, 16);
        while (pending->size() < eol + 2 + len + 2) {
          if (!fill()) return "";
        }
        body.append(*pending, eol + 2, len);
        pending->erase(0, eol + 2 + len + 2);
        if (len == 0) break;
      }
    }
    return status + " " + body;
  }
  static bool PeerClosed(int fd) {
    char c;
    ssize_t n;
    do {
      n = recv(fd, &c, 1, 0);
    } while (n < 0 && errno == EINTR);
    return n == 0;
  }

  TestHandler handler_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, KeepAliveAndPipelinedRequestsAnswerInOrder) {
  int fd = Connect();
  std::string pending;
  SendAll(fd,
          "GET /one HTTP/1.1\r\nHost: h\r\n\r\nGET /two HTTP/1.1\r\nHost: h\r\n\r\n"
          "PUT /echo HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /three HTTP/1.1\r\n\r\n");
  EXPECT_EQ(ReadResponse(fd, &pending), "200 /one");
  EXPECT_EQ(ReadResponse(fd, &pending), "200 /two");
  EXPECT_EQ(ReadResponse(fd, &pending), "200 3 294");
  EXPECT_EQ(ReadResponse(fd, &pending), "200 /three");
  SendAll(fd, "GET /four HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(ReadResponse(fd, &pending), "200 /four");
  EXPECT_TRUE(PeerClosed(fd));
  close(fd);
}

TEST_F(HttpServerTest, StreamsLargeBodiesBothWays) {
  int fd = Connect();
  std::string pending;
  const uint64_t kSize = 64ull << 20;  // over every buffer bound: must stream
  SendAll(fd, absl::StrCat("PUT /echo HTTP/1.1\r\nContent-Length: ", kSize, "\r\n\r\n"));
  std::string block(1 << 20, '\x01');
  for (uint64_t i = 0; i < kSize; i += block.size()) SendAll(fd, block);
  EXPECT_EQ(ReadResponse(fd, &pending), absl::StrCat("200 ", kSize, " ", kSize));
  SendAll(fd, absl::StrCat("GET /big?n=", kSize, " HTTP/1.1\r\n\r\n"));
  std::string response = ReadResponse(fd, &pending);
  ASSERT_EQ(response.size(), 4 + kSize);
  EXPECT_EQ(response.substr(0, 4), "200 ");
  close(fd);
}

TEST_F(HttpServerTest, ChunkedUploadAndExpectContinue) {
  int fd = Connect();
  std::string pending;
  SendAll(fd, "PUT /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  EXPECT_EQ(ReadResponse(fd, &pending), "200 3 294");
  SendAll(fd, "PUT /echo HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(ReadResponse(fd, &pending), "100");
  SendAll(fd, "ab");
  EXPECT_EQ(ReadResponse(fd, &pending), "200 2 195");
  close(fd);
}

TEST_F(HttpServerTest, EarlyAnswerDropsTheBodyAndKeepsTheConnection) {
  int fd = Connect();
  std::string pending;
  SendAll(fd, "PUT /refuse HTTP/1.1\r\nContent-Length: 100000\r\n\r\n");
  EXPECT_EQ(ReadResponse(fd, &pending), "403 no");
  SendAll(fd, std::string(100000, 'q'));
  SendAll(fd, "GET /after HTTP/1.1\r\n\r\n");
  EXPECT_EQ(ReadResponse(fd, &pending), "200 /after");
  // With Expect: 100-continue the client never sent the body: the connection closes.
  SendAll(fd, "PUT /refuse HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(ReadResponse(fd, &pending), "403 no");
  EXPECT_TRUE(PeerClosed(fd));
  close(fd);
}

TEST_F(HttpServerTest, HalfClosedClientsStillGetTheirAnswers) {
  int fd = Connect();
  std::string pending;
  SendAll(fd, "GET /one HTTP/1.1\r\n\r\nGET /two HTTP/1.1\r\n\r\n");
  shutdown(fd, SHUT_WR);
  EXPECT_EQ(ReadResponse(fd, &pending), "200 /one");
  EXPECT_EQ(ReadResponse(fd, &pending), "200 /two");
  EXPECT_TRUE(PeerClosed(fd));
  close(fd);
  // A body cut short by the half-close fails the handler's read at once (no body timeout);
  // the unanswered exchange gets its 500 and the connection closes.
  fd = Connect();
  pending.clear();
  SendAll(fd, "PUT /echo HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
  shutdown(fd, SHUT_WR);
  EXPECT_EQ(ReadResponse(fd, &pending), "500 the request was not answered\n");
  EXPECT_TRUE(PeerClosed(fd));
  close(fd);
}

TEST_F(HttpServerTest, MalformedRequestsGetAnErrorAndOthersAreServed) {
  int good = Connect();
  for (const char* bad : {"GARBAGE\r\n\r\n",
                          "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked"
                          "\r\n\r\n",
                          "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n"}) {
    int fd = Connect();
    std::string pending;
    SendAll(fd, bad);
    EXPECT_EQ(ReadResponse(fd, &pending, true), "400") << bad;
    EXPECT_TRUE(PeerClosed(fd));
    close(fd);
  }
  // A body that stops mid-way: the handler sees the connection go, nothing hangs.
  int fd = Connect();
  SendAll(fd, "PUT /echo HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
  close(fd);
  std::string pending;
  SendAll(good, "GET /still HTTP/1.1\r\n\r\n");
  EXPECT_EQ(ReadResponse(good, &pending), "200 /still");
  close(good);
}

}  // namespace
}  // namespace cfs::http

namespace cfs::http {
namespace {

// A request head that dribbles in never ends: 408 and the connection closes.
TEST_F(HttpServerTest, ARequestHeadMustArriveInTime) {
  HttpServerOptions options;
  options.header_timeout = absl::Seconds(1);
  Restart(options);
  int fd = Connect();
  SendAll(fd, "GET /slow HTTP/1.1\r\nHost: x\r\n");
  std::string pending;
  EXPECT_EQ(ReadResponse(fd, &pending),
            "408 Request Timeout: the request head did not arrive in time\n");
  EXPECT_TRUE(PeerClosed(fd));
  close(fd);
}

// A body the handler waits for that makes no progress fails it (the handler answers nothing,
// so the client gets 500) and frees the connection.
TEST_F(HttpServerTest, AStalledBodyFailsAfterTheBodyTimeout) {
  HttpServerOptions options;
  options.body_timeout = absl::Seconds(1);
  Restart(options);
  int fd = Connect();
  SendAll(fd, "PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten b");
  std::string pending;
  std::string answer = ReadResponse(fd, &pending);
  EXPECT_EQ(answer.substr(0, 3), "500") << answer;
  close(fd);
}

// No number of stalled readers or slow writers holds the loop (one here): every one of them
// costs only its own connection's buffers, and other requests are answered meanwhile.
TEST_F(HttpServerTest, StalledReadersAndSlowWritersHoldNoThread) {
  std::vector<int> stalled;
  for (int i = 0; i < 16; ++i) {
    int fd = Connect();
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    SendAll(fd, "GET /big?n=67108864 HTTP/1.1\r\nHost: x\r\n\r\n");  // never read
    stalled.push_back(fd);
  }
  for (int i = 0; i < 16; ++i) {
    int fd = Connect();
    SendAll(fd, "PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nx");
    stalled.push_back(fd);
  }
  absl::SleepFor(absl::Milliseconds(500));
  for (int round = 0; round < 5; ++round) {
    int fd = Connect();
    SendAll(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    std::string pending;
    EXPECT_EQ(ReadResponse(fd, &pending), "200 /hello");  // within SO_RCVTIMEO (10 s)
    close(fd);
  }
  for (int fd : stalled) close(fd);
}

}  // namespace
}  // namespace cfs::http
