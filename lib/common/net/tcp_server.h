// TcpServer: accepts TCP connections on one address and serves them on a set of EventLoops
// (io_uring), one thread per loop, each connection pinned to one loop. No thread per connection.
//
// A protocol plugs in a ConnectionHandler per connection: it gets every byte that arrives and
// says how much it consumed (complete requests). Replies may be produced on any thread through
// a ConnectionRef. Limits give backpressure instead of unbounded queues: at most
// max_in_flight requests per connection (reading pauses, it does not fail), at most
// max_input_bytes unconsumed (the connection is closed: a request that large is refused by the
// protocol before), at most max_output_bytes queued replies (reading pauses). Idle connections
// (no request in flight, nothing to send) close after idle_timeout; a connection whose queued
// replies make no progress closes after send_timeout; no client address holds more than
// max_connections_per_client. While a connection's queued replies are over max_output_bytes,
// none of its input is handed to the protocol either, so a client that sends requests without
// reading the answers gets no more answers queued. Shutdown() stops accepting,
// lets requests in flight finish until the deadline, then closes everything.
// Thread-safe (Start/Shutdown from any one thread).
//
// Example:
//   TcpServer server(options, [](ConnectionRef conn) { return std::make_unique<MyHandler>(conn);
//   }); CFS_RETURN_IF_ERROR(server.Start("127.0.0.1", 0)); int port = server.port();

#ifndef CFS_LIB_COMMON_NET_TCP_SERVER_H_
#define CFS_LIB_COMMON_NET_TCP_SERVER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/common/net/event_loop.h"

namespace cfs::net {

class TcpServer;
class LoopState;

// A thread-safe reference to one connection: replies from any thread, ignored once closed.
class ConnectionRef {
 public:
  ConnectionRef() = default;
  ConnectionRef(std::shared_ptr<LoopState> loop, uint64_t id) : loop_(std::move(loop)), id_(id) {}

  // Queues `bytes` to send. With `completes_request`, one request in flight is finished
  // (reading resumes if it was paused for the in-flight limit).
  void Send(std::string bytes, bool completes_request = true) const;
  // The same with several buffers sent back to back (one gathered send, no concatenation).
  void SendParts(std::vector<std::string> parts, bool completes_request = true) const;
  // The same, but always queued behind work already posted to the loop, even when called on
  // the loop thread: for senders whose bytes must keep their order across threads (TLS).
  void PostParts(std::vector<std::string> parts, bool completes_request = true) const;
  // Runs `fn` on the loop thread once at most `max_queued` bytes of replies wait to be sent, or
  // the connection closed (at once if that is already so). Lets a thread that streams a large
  // reply hold only a bounded amount of it in memory.
  void WhenOutputBelow(size_t max_queued, absl::AnyInvocable<void() &&> fn) const;
  // Runs `fn` on the connection's loop thread, after the work already posted there (never
  // inline, even when called on the loop thread): how a continuation reaches the loop from a
  // backend callback or from the loop's own processing without reentering it. Dropped if the
  // loop has stopped.
  void Post(absl::AnyInvocable<void() &&> fn) const;
  // Calls the handler's OnData again (even with no buffered input: the handler may hold
  // decoded input of its own) and resumes reading if it wants input: for handlers that
  // stopped consuming (WantsInput() false) until some work finished.
  void Resume() const;
  // Closes the connection once every queued reply is sent (at once if none is queued); input
  // that arrives meanwhile is not read.
  void CloseWhenSent() const;
  uint64_t id() const { return id_; }

 private:
  std::shared_ptr<LoopState> loop_;  // keeps the loop alive for late replies
  uint64_t id_ = 0;
};

// What a protocol does with one connection's bytes. Loop-affine: called on the loop thread.
class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  // `input` holds every unconsumed byte. Returns how many bytes it consumed; for each request it
  // starts it calls ConnectionInfo::start_request. An error closes the connection at once.
  virtual absl::StatusOr<size_t> OnData(absl::string_view input) = 0;
  // The same on the connection's own input buffer, for a handler that would rather take the
  // bytes than copy them (a large SMB WRITE): it may consume a prefix and return its length, as
  // OnData does, or move the string away and leave in `input` the bytes after what it took
  // (then it returns 0). By default, OnData.
  virtual absl::StatusOr<size_t> OnInput(std::string& input) { return OnData(input); }
  // False pauses reading from the socket (the peer sees TCP backpressure) until
  // ConnectionRef::Resume().
  virtual bool WantsInput() const { return true; }
  // The peer stopped sending (FIN). Requests in flight are still answered; the connection
  // closes once none is left and every reply is sent.
  virtual void OnPeerClosed() {}
  // Called about once a second, for protocol timeouts (a request head that never ends...).
  virtual void OnTick(absl::Time now) {}
};

struct ConnectionInfo {
  ConnectionRef ref;
  std::string peer_address;  // numeric, without port
  int peer_port = 0;
  // Counts one request in flight (call from OnData); Send(..., true) finishes it.
  std::function<void()> start_request;
  // False once max_in_flight requests are in flight, or max_output_bytes of replies wait to be
  // sent: OnData should stop consuming there; it is called again with the rest when a reply
  // frees a slot or the client has read the replies down.
  std::function<bool()> can_start_request;
};

struct TcpServerOptions {
  int loops = 0;  // event loop threads; 0: one per two cores (measured: fewer threads than
                  // cores leaves room for the backend pool and cuts hand-off latency)
  size_t max_connections = 16384;
  // Connections one client address may hold at once; more are refused when they arrive.
  size_t max_connections_per_client = 4096;
  size_t max_in_flight = 64;
  size_t max_input_bytes = 4 << 20;
  size_t max_output_bytes = 16 << 20;
  absl::Duration idle_timeout = absl::Minutes(5);
  // A connection with replies queued that accepts none of their bytes for this long is closed:
  // a client that stopped reading holds its buffers only so long.
  absl::Duration send_timeout = absl::Seconds(60);
  // Sends of this many bytes or more use zero-copy sendmsg. Off by default: measured on
  // loopback it costs more than it saves (the kernel copies zero-copy buffers for local
  // receivers); set it (e.g. 64 KiB) for real NICs.
  size_t zero_copy_threshold = SIZE_MAX;
  EventLoop::Options loop;
  std::string name = "tcp";  // for logs
};

using HandlerFactory =
    std::function<std::unique_ptr<ConnectionHandler>(const ConnectionInfo& connection)>;

class TcpServer {
 public:
  TcpServer(TcpServerOptions options, HandlerFactory factory);
  ~TcpServer();  // Shutdown(now) if still running.

  // Binds `host`:`port` (0 picks one) and starts the loops. Errors: kUnavailable (bind, listen,
  // io_uring), kInvalidArgument (host not numeric).
  absl::Status Start(const std::string& host, int port);
  int port() const { return port_; }
  const std::string& host() const { return host_; }

  // Stops accepting; waits until no request is in flight and every reply is sent, or the
  // deadline; closes every connection and joins the loops. Idempotent.
  void Shutdown(absl::Time deadline);

  // Open connections right now (for tests and metrics).
  size_t connection_count() const { return connections_.load(); }

 private:
  friend class LoopState;
  // Counts a connection of `address` unless it holds max_connections_per_client already.
  bool AdmitClient(const std::string& address);
  void ReleaseClient(const std::string& address);

  TcpServerOptions options_;
  HandlerFactory factory_;
  std::string host_;
  int port_ = 0;
  int listen_fd_ = -1;
  std::vector<std::shared_ptr<LoopState>> loops_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> connections_{0};
  // Open connections per client address, for max_connections_per_client.
  std::mutex clients_mu_;
  std::map<std::string, size_t> clients_;  // guarded by clients_mu_
  uint64_t refused_clients_ = 0;           // guarded by clients_mu_
  std::atomic<uint64_t> next_id_{1};
  std::atomic<size_t> next_loop_{0};
  bool running_ = false;
};

}  // namespace cfs::net

#endif  // CFS_LIB_COMMON_NET_TCP_SERVER_H_
