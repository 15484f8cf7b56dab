// HttpServer: HTTP/1.1 on the io_uring TcpServer, for protocols that are served over HTTP (S3,
// the metrics and health endpoints).
//
// Parsing and framing run on the network loops; each request is handed to an HttpHandler on a
// worker pool, which reads the body and writes the response through an HttpExchange in
// blocking style. Bodies stream both ways with bounded memory: at most `max_body_buffer` bytes
// of a request body wait for the handler (reading the socket pauses beyond that) and a
// response writer blocks while more than `max_output_buffer` bytes wait to be sent.
// Keep-alive and pipelining: requests of one connection are handled one after another and
// answered in order. Malformed requests get a 4xx/5xx answer and the connection is closed.
//
// Ownership: the server owns the TcpServer and the worker pool; the handler is borrowed and
// must outlive Shutdown().
#ifndef CFS_LIB_PROTOCOLS_HTTP_HTTP_SERVER_H_
#define CFS_LIB_PROTOCOLS_HTTP_HTTP_SERVER_H_

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/common/net/tcp_server.h"
#include "lib/common/thread_pool.h"
#include "lib/protocols/http/http_message.h"
#include "lib/protocols/http/http_request_parser.h"

namespace cfs::http {

struct ExchangeState;
class TlsContext;

// One request and its response, as the handler sees it. Used from one worker thread.
class HttpExchange {
 public:
  explicit HttpExchange(std::shared_ptr<ExchangeState> state);
  ~HttpExchange();
  HttpExchange(const HttpExchange&) = delete;
  HttpExchange& operator=(const HttpExchange&) = delete;

  const HttpRequest& request() const;
  const std::string& peer_address() const;
  bool secure() const;

  // The next bytes of the request body (at most `max_bytes`); an empty string at the end.
  // Sends "100 Continue" first when the client waits for it. Errors: kDataLoss when the
  // connection closed before the body ended, kDeadlineExceeded when the client stalls.
  absl::StatusOr<std::string> ReadBody(size_t max_bytes = 1 << 20);
  // True once the whole body was read with ReadBody (or there was none).
  bool body_consumed() const;
  // Request body bytes handed out by ReadBody and response body bytes sent so far (metrics).
  uint64_t body_bytes_read() const;
  uint64_t body_bytes_sent() const;

  // Starts the response. Without head.content_length the body is sent chunked.
  // Errors: kFailedPrecondition (already started), kUnavailable (connection closed).
  absl::Status SendHead(const HttpResponseHead& head);
  // Sends the next body bytes; blocks while the connection's output queue is over its bound.
  absl::Status SendBody(std::string data);
  // Ends the response. Called by the server if the handler did not.
  absl::Status Finish();
  // Ends a response that cannot be completed (its body failed after the head went out): the
  // connection closes, so the client sees a short body rather than a complete one.
  void Abort();
  // SendHead + SendBody + Finish with a known length.
  absl::Status Respond(HttpResponseHead head, std::string body);
  bool response_started() const;

 private:
  std::shared_ptr<ExchangeState> state_;
};

class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  // Runs on a worker thread; must answer through `exchange` (an unanswered exchange gets 500).
  virtual void Handle(HttpExchange& exchange) = 0;
};

struct HttpServerOptions {
  net::TcpServerOptions tcp;
  HttpLimits limits;
  int workers = 32;                    // threads that run handlers
  size_t max_body_buffer = 8 << 20;    // request body bytes buffered ahead of the handler
  size_t max_output_buffer = 4 << 20;  // response bytes queued before SendBody blocks
  absl::Duration body_timeout = absl::Minutes(2);  // a stalled upload fails after this
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
  std::shared_ptr<std::atomic<bool>> stopped_ = std::make_shared<std::atomic<bool>>(false);
  ThreadPool workers_;
  net::TcpServer tcp_;
};

}  // namespace cfs::http

#endif  // CFS_LIB_PROTOCOLS_HTTP_HTTP_SERVER_H_
