// HttpServer: HTTP/1.1 on the io_uring TcpServer, for protocols that are served over HTTP (S3,
// the metrics and health endpoints).
//
// Everything runs on the network loops: parsing and framing, and the HttpHandler, which is
// started on the connection's loop thread and must never block: it answers at once or from
// callbacks (of the backend, say, on whichever thread they come). When the request body has no
// bytes yet, or the response has filled the connection's output bound, the handler asks to be
// resumed (ReadBody's and SendBody's `resume`) and returns; the loop runs the continuation once
// bytes arrived or the client read. So a slow or stalled client costs its own connection's
// buffers, never a thread: at most `max_body_buffer` bytes of a request body wait for the
// handler (reading the socket pauses beyond that) and about `max_output_buffer` of a response
// wait to be sent.
// Timeouts: a request's head must arrive within `header_timeout`, a body the handler waits for
// must make progress within `body_timeout` (the handler gets kDeadlineExceeded), and the
// TcpServer closes a connection that accepts no reply bytes for its `send_timeout`.
// Keep-alive and pipelining: requests of one connection are handled one after another and
// answered in order. Malformed requests get a 4xx/5xx answer and the connection is closed.
//
// Ownership: the server owns the TcpServer; the handler is borrowed and must outlive Shutdown().
#ifndef CFS_LIB_PROTOCOLS_HTTP_HTTP_SERVER_H_
#define CFS_LIB_PROTOCOLS_HTTP_HTTP_SERVER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/common/buffer.h"
#include "lib/common/net/tcp_server.h"
#include "lib/protocols/http/http_message.h"
#include "lib/protocols/http/http_request_parser.h"

namespace cfs::http {

struct ExchangeState;
class TlsContext;

// One request and its response, as the handler sees it: a cheap, copyable handle. A handler
// that continues after Handle() returns keeps a copy; when the last copy goes, an unanswered
// request gets a 500 and an unfinished response is finished. Used from one thread at a time.
class HttpExchange {
 public:
  explicit HttpExchange(std::shared_ptr<ExchangeState> state);

  const HttpRequest& request() const;
  const std::string& peer_address() const;
  bool secure() const;

  // The next bytes of the request body (at most `max_bytes`): "" at the end of the body.
  // When none have arrived yet it returns nullopt, and `resume` runs later on the loop thread
  // once bytes (or the end, or an error) are there: call again from it. Sends "100 Continue" first
  // when the client waits for it. Errors: kDataLoss when the connection closed before the body
  // ended, kDeadlineExceeded when the client sent nothing for the body timeout.
  // The bytes are slices of the blocks the body was received into (no copy).
  std::optional<absl::StatusOr<Buffer>> ReadBody(size_t max_bytes, std::function<void()> resume);
  // True once the whole body was read with ReadBody (or there was none).
  bool body_consumed() const;
  // Request body bytes handed out by ReadBody and response body bytes sent so far (metrics).
  uint64_t body_bytes_read() const;
  uint64_t body_bytes_sent() const;

  // Starts the response. Without head.content_length the body is sent chunked.
  // Errors: kFailedPrecondition (already started), kUnavailable (connection closed).
  absl::Status SendHead(const HttpResponseHead& head);
  // Queues the next body bytes; never waits. A caller streaming a large body passes `resume`:
  // when the connection's queued output may be over its bound, SendBody returns true and
  // `resume` runs on the loop thread once the client has read it down (or the connection closed);
  // the caller then produces nothing more until resumed. Errors: kFailedPrecondition,
  // kUnavailable (connection closed).
  absl::StatusOr<bool> SendBody(std::string data, std::function<void()> resume = nullptr);
  // Ends the response. Done when the last copy of the exchange goes, if the handler did not.
  absl::Status Finish();
  // Ends a response that cannot be completed (its body failed after the head went out): the
  // connection closes, so the client sees a short body rather than a complete one.
  void Abort();
  // SendHead + SendBody + Finish with a known length.
  absl::Status Respond(HttpResponseHead head, std::string body);
  bool response_started() const;

 private:
  struct Guard;
  HttpExchange(std::shared_ptr<ExchangeState> state, std::nullptr_t);  // without a guard
  std::shared_ptr<ExchangeState> state_;
  std::shared_ptr<Guard> guard_;  // answers or finishes when the last copy goes
};

class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  // Runs on the connection's loop thread and must not block; answers through `exchange`, now
  // or from a continuation that keeps a copy of it (an exchange dropped unanswered gets 500).
  virtual void Handle(HttpExchange exchange) = 0;
};

struct HttpServerOptions {
  net::TcpServerOptions tcp;
  HttpLimits limits;
  size_t max_body_buffer = 8 << 20;    // request body bytes buffered ahead of the handler
  size_t max_output_buffer = 4 << 20;  // response bytes queued before SendBody asks to pause
  absl::Duration header_timeout = absl::Seconds(30);  // a request's head arrives within this
  absl::Duration body_timeout = absl::Seconds(60);    // a stalled upload fails after this
  // HTTPS when set: every connection is TLS with this certificate (see tls.h).
  std::shared_ptr<TlsContext> tls;
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpHandler* handler);
  ~HttpServer();
  absl::Status Start(const std::string& host, int port);
  int port() const { return tcp_.port(); }
  void Shutdown(absl::Time deadline);
  size_t connection_count() const { return tcp_.connection_count(); }

 private:
  HttpServerOptions options_;
  HttpHandler* handler_;
  net::TcpServer tcp_;
};

}  // namespace cfs::http

#endif  // CFS_LIB_PROTOCOLS_HTTP_HTTP_SERVER_H_
