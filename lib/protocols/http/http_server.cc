#include "lib/protocols/http/http_server.h"

#include <atomic>
#include <deque>
#include <mutex>  // std::mutex: visible to ThreadSanitizer (Debian's Abseil is not instrumented)
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lib/common/logging.h"
#include "lib/protocols/http/tls.h"
#include "lib/protocols/http/transport.h"

namespace cfs::http {

// What the network loop and the handler's worker share about one exchange. Guarded by `mu`.
struct ExchangeState {
  HttpRequest request;
  std::string peer_address;
  bool secure = false;
  std::shared_ptr<Transport> transport;
  size_t max_body_buffer = 0;
  size_t max_output_buffer = 0;

  std::mutex mu;
  Buffer body;  // received, not yet read by the handler
  size_t body_bytes = 0;
  uint64_t body_bytes_read = 0;  // handed to the handler (metrics)
  uint64_t body_bytes_sent = 0;  // response body bytes (metrics)
  bool body_done = false;        // the parser saw the end of the body
  bool body_read_to_end = false;
  bool reading_paused = false;  // the loop stopped reading until the handler catches up
  bool continue_sent = false;
  bool closed = false;  // the connection is gone
  bool response_started = false;
  bool response_chunked = false;
  bool response_finished = false;
  bool keep_alive = true;
  bool discard_body = false;    // answered before the body ended: the rest is dropped
  bool body_aborted = false;    // the peer stopped sending before the body ended
  bool body_timed_out = false;  // the peer sent nothing while the handler waited
  size_t sent_since_wait = 0;   // response bytes queued since SendBody last asked to pause
  // The handler's continuation while it waits for body bytes (ReadBody), and since when.
  std::function<void()> body_waiter;
  absl::Time waiting_since;

  // Posts the body waiter to the loop when what it waits for is there (caller holds mu).
  void WakeBodyWaiterLocked() {
    if (!body_waiter) return;
    bool ready = body_bytes >= kWakeBytes || body_done || closed || body_aborted ||
                 body_timed_out || body_bytes >= max_body_buffer / 2;
    if (!ready) return;
    transport->ref().Post(std::move(body_waiter));
    body_waiter = nullptr;
  }

  // A handler waiting for body bytes is woken once this many have arrived (or the body ended),
  // not for every byte a slow client dribbles.
  static constexpr size_t kWakeBytes = 64 << 10;
};

namespace {

constexpr size_t kMaxDiscardedBody = 64 << 20;  // beyond this an unread body closes the connection

std::string ErrorResponse(int status, absl::string_view message) {
  HttpResponseHead head;
  head.status = status;
  head.Set("Content-Type", "text/plain");
  std::string body = absl::StrCat(message, "\n");
  head.content_length = body.size();
  return SerializeResponseHead(head, /*keep_alive=*/false, false) + body;
}

// One connection on a network loop: parses requests, feeds bodies to the exchange in progress,
// starts handlers on the loop one request at a time.
class HttpConnection : public net::ConnectionHandler {
 public:
  HttpConnection(const net::ConnectionInfo& info, const HttpServerOptions& options,
                 HttpHandler* handler, std::shared_ptr<Transport> transport, bool secure)
      : info_(info),
        options_(options),
        handler_(handler),
        transport_(std::move(transport)),
        secure_(secure),
        parser_(options.limits) {}

  ~HttpConnection() override {
    if (current_ == nullptr) return;
    std::lock_guard<std::mutex> lock(current_->mu);
    current_->closed = true;
    current_->WakeBodyWaiterLocked();
  }

  void OnPeerClosed() override {
    if (current_ == nullptr) return;
    std::lock_guard<std::mutex> lock(current_->mu);
    if (!current_->body_done) current_->body_aborted = true;
    current_->WakeBodyWaiterLocked();
  }

  // Once a second: a request head that takes too long gets 408 and the connection closes (a
  // slowloris client); a body the handler waits for that makes no progress fails.
  void OnTick(absl::Time now) override {
    if (closing_) return;
    if (head_started_ != absl::InfinitePast() && now - head_started_ > options_.header_timeout) {
      RefuseRequest(408, "Request Timeout: the request head did not arrive in time");
      return;
    }
    if (current_ == nullptr) return;
    std::lock_guard<std::mutex> lock(current_->mu);
    if (current_->body_waiter && !current_->body_done &&
        now - std::max(current_->waiting_since, last_body_at_) > options_.body_timeout) {
      current_->body_timed_out = true;
      current_->WakeBodyWaiterLocked();
    }
  }

  bool WantsInput() const override {
    if (closing_) return false;
    if (current_ == nullptr) return true;
    std::lock_guard<std::mutex> lock(current_->mu);
    if (current_->reading_paused) return false;
    return !(current_->body_done && !current_->response_finished);
  }

  absl::StatusOr<size_t> OnData(absl::string_view input) override {
    size_t consumed = 0;
    while (!closing_) {
      if (current_ != nullptr) {
        std::lock_guard<std::mutex> lock(current_->mu);
        if (current_->body_done) {
          if (!current_->response_finished) break;  // the next request waits for this answer
        } else if (!current_->discard_body && current_->body_bytes >= options_.max_body_buffer) {
          current_->reading_paused = true;  // the handler resumes reading when it caught up
          break;
        }
      }
      if (current_ != nullptr && !parser_.in_body()) current_.reset();
      if (current_ == nullptr && consumed < input.size() && head_started_ == absl::InfinitePast()) {
        head_started_ = absl::Now();  // the first byte of a request head
      }
      HttpRequestParser::Step step = parser_.Next(input.substr(consumed));
      consumed += step.consumed;
      switch (step.event) {
        case HttpRequestParser::Event::kNeedMore:
          if (step.consumed == 0) return consumed;
          break;
        case HttpRequestParser::Event::kError:
          RefuseRequest(parser_.error_status(), parser_.error_message());
          return consumed;
        case HttpRequestParser::Event::kHeaders:
          StartExchange();
          break;
        case HttpRequestParser::Event::kBody:
          if (!AcceptBody(step.body)) return consumed;
          break;
        case HttpRequestParser::Event::kComplete: {
          std::lock_guard<std::mutex> lock(current_->mu);
          current_->body_done = true;
          current_->WakeBodyWaiterLocked();
          break;
        }
      }
    }
    return consumed;
  }

 private:
  void RefuseRequest(int status, absl::string_view message) {
    CFS_LOG(DEBUG, "http") << "refusing a request from " << info_.peer_address << ": " << status
                           << " " << message;
    closing_ = true;
    if (current_ != nullptr) {
      std::lock_guard<std::mutex> lock(current_->mu);
      if (!current_->body_done) current_->closed = true;  // its body will never end
      current_->WakeBodyWaiterLocked();
    }
    // A request in progress is answered by its handler first; the refusal follows it.
    transport_->Send({ErrorResponse(status, message)}, /*completes_request=*/false);
    transport_->CloseWhenSent();
  }

  void StartExchange() {
    auto state = std::make_shared<ExchangeState>();
    state->request = parser_.request();
    state->peer_address = info_.peer_address;
    state->transport = transport_;
    state->secure = secure_;
    state->max_body_buffer = options_.max_body_buffer;
    state->max_output_buffer = options_.max_output_buffer;
    state->keep_alive = state->request.keep_alive;
    head_started_ = absl::InfinitePast();
    current_ = state;
    info_.start_request();
    HttpHandler* handler = handler_;
    // Posted, not called: the handler runs after this OnData returns, never inside it.
    transport_->ref().Post([state, handler] { handler->Handle(HttpExchange(state)); });
  }

  // Queues body bytes for the handler (or drops them once it answered). False: closed.
  bool AcceptBody(const std::vector<absl::string_view>& pieces) {
    std::lock_guard<std::mutex> lock(current_->mu);
    size_t size = 0;
    for (absl::string_view piece : pieces) size += piece.size();
    if (current_->discard_body || current_->closed) {
      discarded_ += size;
      if (discarded_ > kMaxDiscardedBody) {
        closing_ = true;
        transport_->CloseWhenSent();
        return false;
      }
      return true;
    }
    // The one copy of a body byte in this layer: out of the connection's input, which the
    // loop reuses, into blocks the handler then takes without copying.
    for (absl::string_view piece : pieces) current_->body.AppendCopy(piece);
    current_->body_bytes += size;
    if (size > 0) last_body_at_ = absl::Now();
    current_->WakeBodyWaiterLocked();
    return true;
  }

  net::ConnectionInfo info_;
  const HttpServerOptions& options_;
  HttpHandler* handler_;
  std::shared_ptr<Transport> transport_;
  bool secure_;
  HttpRequestParser parser_;
  std::shared_ptr<ExchangeState> current_;
  size_t discarded_ = 0;
  bool closing_ = false;
  absl::Time head_started_ = absl::InfinitePast();  // a request head is arriving since
  absl::Time last_body_at_ = absl::InfinitePast();  // the last request body bytes arrived
};

}  // namespace

// Answers (500) or finishes the exchange when the handler's last copy of it goes.
struct HttpExchange::Guard {
  explicit Guard(std::shared_ptr<ExchangeState> state) : state(std::move(state)) {}
  ~Guard() {
    HttpExchange exchange(state, nullptr);
    if (!exchange.response_started()) {
      HttpResponseHead head;
      head.status = 500;
      exchange.Respond(head, "the request was not answered\n").IgnoreError();
    } else {
      exchange.Finish().IgnoreError();
    }
  }
  std::shared_ptr<ExchangeState> state;
};

HttpExchange::HttpExchange(std::shared_ptr<ExchangeState> state)
    : state_(state), guard_(std::make_shared<Guard>(std::move(state))) {}

HttpExchange::HttpExchange(std::shared_ptr<ExchangeState> state, std::nullptr_t)
    : state_(std::move(state)) {}

const HttpRequest& HttpExchange::request() const { return state_->request; }
const std::string& HttpExchange::peer_address() const { return state_->peer_address; }
bool HttpExchange::secure() const { return state_->secure; }

bool HttpExchange::response_started() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->response_started;
}

uint64_t HttpExchange::body_bytes_read() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->body_bytes_read;
}

uint64_t HttpExchange::body_bytes_sent() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->body_bytes_sent;
}

bool HttpExchange::body_consumed() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->body_read_to_end || !state_->request.HasBody();
}

std::optional<absl::StatusOr<Buffer>> HttpExchange::ReadBody(size_t max_bytes,
                                                             std::function<void()> resume) {
  ExchangeState& s = *state_;
  // The transport is called after `mu` is released: on the loop thread it sends (and reads
  // on) at once, which asks the connection (WantsInput, OnData) for this same lock.
  bool send_continue = false;
  bool resume_reading = false;
  std::optional<absl::StatusOr<Buffer>> result;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.request.expect_continue && !s.continue_sent && !s.response_started) {
      s.continue_sent = true;
      send_continue = true;
    }
    if (s.body.empty()) {
      if (s.body_done) {
        s.body_read_to_end = true;
        result = absl::StatusOr<Buffer>(Buffer());
      } else if (s.body_timed_out) {
        result = absl::StatusOr<Buffer>(
            absl::DeadlineExceededError("the client stopped sending the request body"));
      } else if (s.closed || s.body_aborted) {
        result = absl::StatusOr<Buffer>(
            absl::DataLossError("the connection closed before the request body ended"));
      } else {
        // Nothing yet: the loop runs `resume` when there is (no thread waits).
        s.body_waiter = std::move(resume);
        s.waiting_since = absl::Now();
      }
    } else {
      Buffer out = s.body.Take(max_bytes);  // slices of the received blocks, no copy
      s.body_bytes -= out.size();
      s.body_bytes_read += out.size();
      if (s.reading_paused && s.body_bytes <= s.max_body_buffer / 2) {
        s.reading_paused = false;
        resume_reading = true;
      }
      result = absl::StatusOr<Buffer>(std::move(out));
    }
  }
  if (send_continue) {
    s.transport->Send({"HTTP/1.1 100 Continue\r\n\r\n"}, /*completes_request=*/false);
  }
  if (resume_reading) s.transport->Resume();
  return result;
}

absl::Status HttpExchange::SendHead(const HttpResponseHead& head) {
  ExchangeState& s = *state_;
  std::string bytes;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.response_started) return absl::FailedPreconditionError("response already started");
    if (s.closed) return absl::UnavailableError("connection closed");
    s.response_started = true;
    bool body_pending = s.request.HasBody() && !s.body_done;
    if (body_pending && s.request.expect_continue && !s.continue_sent) {
      s.keep_alive = false;  // the client may or may not send the body now: start afresh
    }
    bool head_request = s.request.method == "HEAD";
    s.response_chunked = !head.content_length.has_value() && !head_request && head.status != 204 &&
                         head.status != 304;
    bytes = SerializeResponseHead(head, s.keep_alive, head_request);
  }
  s.transport->Send({std::move(bytes)}, /*completes_request=*/false);
  return absl::OkStatus();
}

absl::StatusOr<bool> HttpExchange::SendBody(std::string data, std::function<void()> resume) {
  ExchangeState& s = *state_;
  if (data.empty()) return false;
  bool pause = false;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (!s.response_started) return absl::FailedPreconditionError("SendHead first");
    if (s.closed) return absl::UnavailableError("connection closed");
    if (s.request.method == "HEAD") return false;
    s.body_bytes_sent += data.size();
    // Looking at the queue costs a trip to the loop: do it once per half bound sent, so at
    // most 1.5x the bound is ever queued.
    s.sent_since_wait += data.size();
    if (resume && s.sent_since_wait >= s.max_output_buffer / 2) {
      s.sent_since_wait = 0;
      pause = true;
    }
  }
  std::vector<std::string> parts;
  if (s.response_chunked) {
    parts.push_back(absl::StrFormat("%x\r\n", data.size()));
    parts.push_back(std::move(data));
    parts.push_back("\r\n");
  } else {
    parts.push_back(std::move(data));
  }
  s.transport->Send(std::move(parts), /*completes_request=*/false);
  if (!pause) return false;
  // The loop runs this once the client has read the queue down (or the connection closed):
  // the continuation is posted to the loop, no thread waits meanwhile.
  net::ConnectionRef ref = s.transport->ref();
  s.transport->WhenOutputBelow(s.max_output_buffer, [ref, resume = std::move(resume)]() mutable {
    ref.Post(std::move(resume));
  });
  return true;
}

absl::Status HttpExchange::Finish() {
  ExchangeState& s = *state_;
  bool close_after;
  std::string tail;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (!s.response_started) return absl::FailedPreconditionError("SendHead first");
    if (s.response_finished) return absl::OkStatus();
    s.response_finished = true;
    if (s.closed) return absl::UnavailableError("connection closed");
    if (s.response_chunked) tail = "0\r\n\r\n";
    if (!s.body_done) s.discard_body = true;
    s.body.Clear();
    s.body_bytes = 0;
    close_after = !s.keep_alive;
    if (s.reading_paused) {
      s.reading_paused = false;  // the rest of the body is dropped as it arrives
    }
  }
  s.transport->Send({std::move(tail)}, /*completes_request=*/true);
  if (close_after) {
    s.transport->CloseWhenSent();
  } else {
    s.transport->Resume();  // requests already decoded (pipelined, or held by TLS) go on
  }
  return absl::OkStatus();
}

void HttpExchange::Abort() {
  ExchangeState& s = *state_;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.response_finished) return;
    s.response_finished = true;
    s.keep_alive = false;
  }
  s.transport->Send({}, /*completes_request=*/true);
  s.transport->CloseWhenSent();
}

absl::Status HttpExchange::Respond(HttpResponseHead head, std::string body) {
  head.content_length = body.size();
  absl::Status status = SendHead(head);
  if (!status.ok()) return status;
  absl::StatusOr<bool> sent = SendBody(std::move(body));
  if (!sent.ok()) return sent.status();
  return Finish();
}

HttpServer::HttpServer(HttpServerOptions options, HttpHandler* handler)
    : options_(std::move(options)),
      handler_(handler),
      tcp_(options_.tcp, [this](const net::ConnectionInfo& info) {
        if (options_.tls == nullptr) {
          return std::unique_ptr<net::ConnectionHandler>(std::make_unique<HttpConnection>(
              info, options_, handler_, std::make_shared<PlainTransport>(info.ref), false));
        }
        auto session = std::make_shared<TlsSession>(options_.tls, info.ref);
        auto inner = std::make_unique<HttpConnection>(info, options_, handler_, session, true);
        return std::unique_ptr<net::ConnectionHandler>(
            std::make_unique<TlsConnection>(session, std::move(inner)));
      }) {}

HttpServer::~HttpServer() { Shutdown(absl::Now()); }

absl::Status HttpServer::Start(const std::string& host, int port) { return tcp_.Start(host, port); }

void HttpServer::Shutdown(absl::Time deadline) { tcp_.Shutdown(deadline); }

}  // namespace cfs::http
