#include "lib/common/net/tcp_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <map>

#include "absl/strings/str_cat.h"
#include "lib/common/logging.h"

namespace cfs::net {
namespace {

enum Tag : uint8_t { kAccept = 1, kRecv = 2, kSend = 3, kTimer = 4 };
constexpr size_t kMaxIov = 16;

int64_t NowNanos() { return absl::GetCurrentTimeNanos(); }

bool ParsePeer(int fd, std::string* address, int* port) {
  sockaddr_storage peer{};
  socklen_t len = sizeof(peer);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) return false;
  char text[INET6_ADDRSTRLEN] = {0};
  if (peer.ss_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&peer);
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
    *port = ntohs(in->sin_port);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&peer);
    inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
    *port = ntohs(in6->sin6_port);
    // IPv4-mapped clients are shown as IPv4.
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], text, sizeof(text));
    }
  }
  *address = text;
  return true;
}

}  // namespace

// The connections of one loop and the server's work on it. Loop-affine except the Post-ing
// entry points.
class LoopState : public CompletionHandler, public std::enable_shared_from_this<LoopState> {
 private:
  struct Conn;

 public:
  LoopState(TcpServer* server, const TcpServerOptions& options)
      : loop(options.loop), server_(server), options_(options) {}
  ~LoopState() override {
    for (auto& [id, conn] : conns_) close(conn->fd);
  }

  EventLoop loop;

  void StartAccepting(int listen_fd) {
    listen_fd_ = listen_fd;
    ArmAccept();
  }
  void StopAccepting() {
    if (listen_fd_ >= 0) shutdown(listen_fd_, SHUT_RDWR);  // ends the multishot accept
    accepting_ = false;
  }
  void StartTimer() { ArmTimer(); }

  void Adopt(int fd, std::string peer_address, int peer_port) {
    auto conn = std::make_unique<Conn>(this, fd, server_->next_id_.fetch_add(1));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ConnectionInfo info;
    info.ref = ConnectionRef(shared_from_this(), conn->id);
    info.peer_address = peer_address;
    info.peer_port = peer_port;
    conn->peer_address = std::move(peer_address);
    Conn* raw = conn.get();
    info.start_request = [raw] { ++raw->in_flight; };
    size_t limit = options_.max_in_flight;
    size_t output_limit = options_.max_output_bytes;
    info.can_start_request = [raw, limit, output_limit] {
      return raw->in_flight < limit && raw->output_bytes < output_limit;
    };
    conn->handler = server_->factory_(info);
    conn->last_activity = NowNanos();
    conns_[conn->id] = std::move(conn);
    if (draining_) {
      Close(raw);
      return;
    }
    MaybeArmRecv(raw);
  }

  void Send(uint64_t id, std::vector<std::string> parts, bool completes_request) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;  // closed meanwhile
    Conn* conn = it->second.get();
    bool freed_slot = completes_request && conn->in_flight > 0;
    if (freed_slot) --conn->in_flight;
    if (conn->closing) return;
    int64_t now = NowNanos();
    if (conn->output.empty()) conn->last_send_progress = now;  // the send clock starts
    for (std::string& bytes : parts) {
      if (bytes.empty()) continue;
      conn->output_bytes += bytes.size();
      conn->output.push_back(std::move(bytes));
    }
    conn->last_activity = now;
    TrySend(conn);
    if (freed_slot && !in_handler_) {
      ProcessInput(conn);  // requests that waited for a slot
    } else {
      MaybeArmRecv(conn);
    }
    if (conns_.count(id) != 0) MaybeFinishDrain(conn);
  }

  void WhenOutputBelow(uint64_t id, size_t max_queued, absl::AnyInvocable<void() &&> fn) {
    auto it = conns_.find(id);
    if (it == conns_.end() || it->second->closing || it->second->output_bytes <= max_queued) {
      std::move(fn)();
      return;
    }
    it->second->output_waiters.push_back({max_queued, std::move(fn)});
  }

  void Resume(uint64_t id) {
    auto it = conns_.find(id);
    if (it != conns_.end()) ProcessInput(it->second.get(), /*even_if_empty=*/true);
  }

  void CloseWhenSent(uint64_t id) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    Conn* conn = it->second.get();
    conn->close_when_sent = true;
    if (conn->output.empty()) Close(conn);
  }

  // Runs the waiters whose bound the queue is now under (all of them once closing).
  void WakeOutputWaiters(Conn* conn) {
    if (conn->output_waiters.empty()) return;
    std::vector<Conn::OutputWaiter> ready;
    std::vector<Conn::OutputWaiter> waiting;
    for (Conn::OutputWaiter& waiter : conn->output_waiters) {
      bool go = conn->closing || conn->output_bytes <= waiter.max_queued;
      (go ? ready : waiting).push_back(std::move(waiter));
    }
    conn->output_waiters = std::move(waiting);
    for (Conn::OutputWaiter& waiter : ready) std::move(waiter.fn)();
  }

  void BeginDrain() {
    draining_ = true;
    std::vector<Conn*> idle;
    for (auto& [id, conn] : conns_) idle.push_back(conn.get());
    for (Conn* conn : idle) MaybeFinishDrain(conn);
  }

  void CloseAll() {
    std::vector<Conn*> all;
    for (auto& [id, conn] : conns_) all.push_back(conn.get());
    for (Conn* conn : all) Close(conn);
  }

  void OnCompletion(uint8_t tag, const io_uring_cqe& cqe) override {
    if (tag == kAccept) {
      OnAccept(cqe);
    } else if (tag == kTimer) {
      OnTimer();
    }
  }

 private:
  struct Conn : CompletionHandler {
    Conn(LoopState* owner, int fd, uint64_t id) : owner(owner), fd(fd), id(id) {}
    void OnCompletion(uint8_t tag, const io_uring_cqe& cqe) override {
      owner->OnConnCompletion(this, tag, cqe);
    }
    LoopState* owner;
    int fd;
    uint64_t id;
    std::unique_ptr<ConnectionHandler> handler;
    std::string input;
    std::deque<std::string> output;
    size_t output_offset = 0;  // bytes of output.front() already sent
    size_t output_bytes = 0;
    size_t sent_unreleased = 0;  // sent, but a zero-copy send may still hold the buffers
    bool sending = false;
    iovec iov[kMaxIov];
    msghdr msg{};
    bool recv_armed = false;
    int pending_ops = 0;
    size_t in_flight = 0;
    int64_t last_activity = 0;
    bool closing = false;
    struct OutputWaiter {
      size_t max_queued;
      absl::AnyInvocable<void() &&> fn;
    };
    std::vector<OutputWaiter> output_waiters;
    bool close_when_sent = false;
    bool peer_closed = false;        // the peer sent FIN: nothing more will arrive
    bool input_deferred = false;     // input waits for the queued replies to drain
    int64_t last_send_progress = 0;  // the last time queued replies moved (or started)
    std::string peer_address;
  };

  void ArmAccept() {
    io_uring_sqe* sqe = loop.NewSqe(this, kAccept);
    if (sqe == nullptr) return;
    io_uring_prep_multishot_accept(sqe, listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    accepting_ = true;
  }

  void OnAccept(const io_uring_cqe& cqe) {
    if (cqe.res >= 0) {
      int fd = cqe.res;
      std::string peer;
      int port = 0;
      ParsePeer(fd, &peer, &port);
      if (server_->connections_.load() >= options_.max_connections || !server_->AdmitClient(peer)) {
        close(fd);  // over a limit: refuse at once
      } else {
        server_->connections_.fetch_add(1);
        size_t index = server_->next_loop_.fetch_add(1) % server_->loops_.size();
        LoopState* target = server_->loops_[index].get();
        if (target == this) {
          Adopt(fd, std::move(peer), port);
        } else {
          target->loop.Post([target, fd, peer = std::move(peer), port]() mutable {
            target->Adopt(fd, std::move(peer), port);
          });
        }
      }
    } else if (cqe.res != -EINVAL && cqe.res != -ECANCELED && cqe.res != -EBADF) {
      CFS_LOG(WARNING, options_.name) << "accept: " << std::strerror(-cqe.res);
    }
    if (!(cqe.flags & IORING_CQE_F_MORE) && accepting_ && cqe.res != -EINVAL) ArmAccept();
  }

  void ArmTimer() {
    io_uring_sqe* sqe = loop.NewSqe(this, kTimer);
    if (sqe == nullptr) return;
    timer_spec_.tv_sec = 1;
    timer_spec_.tv_nsec = 0;
    io_uring_prep_timeout(sqe, &timer_spec_, 0, 0);
  }

  void OnTimer() {
    int64_t now = NowNanos();
    int64_t idle_limit = absl::ToInt64Nanoseconds(options_.idle_timeout);
    int64_t send_limit = absl::ToInt64Nanoseconds(options_.send_timeout);
    std::vector<Conn*> expired;
    std::vector<uint64_t> ticking;
    for (auto& [id, conn] : conns_) {
      if (conn->closing) continue;
      bool quiet = conn->in_flight == 0 && conn->output.empty();
      bool stuck = !conn->output.empty() && now - conn->last_send_progress > send_limit;
      if ((quiet && now - conn->last_activity > idle_limit) || stuck) {
        if (stuck) {
          CFS_LOG(DEBUG, options_.name) << "closing connection " << id << ": the client read "
                                        << "none of " << conn->output_bytes << " queued bytes";
        }
        expired.push_back(conn.get());
      } else {
        ticking.push_back(id);
      }
    }
    for (Conn* conn : expired) Close(conn);
    absl::Time wall = absl::Now();
    for (uint64_t id : ticking) {
      auto it = conns_.find(id);
      if (it == conns_.end() || it->second->closing) continue;
      in_handler_ = true;
      it->second->handler->OnTick(wall);
      in_handler_ = false;
    }
    if (!stopped_) ArmTimer();
  }

  void MaybeArmRecv(Conn* conn) {
    if (conn->closing || conn->recv_armed || draining_ || conn->peer_closed) return;
    if (conn->in_flight >= options_.max_in_flight) return;  // resumes when a reply goes out
    if (!conn->handler->WantsInput()) return;               // resumes on ConnectionRef::Resume
    if (conn->close_when_sent) return;
    if (conn->output_bytes >= options_.max_output_bytes) return;
    io_uring_sqe* sqe = loop.NewSqe(conn, kRecv);
    if (sqe == nullptr) return;
    io_uring_prep_recv(sqe, conn->fd, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = EventLoop::kBufferGroup;
    conn->recv_armed = true;
    ++conn->pending_ops;
  }

  // Sends as much of the queue as fits in one sendmsg (up to kMaxIov buffers).
  void TrySend(Conn* conn) {
    if (conn->sending || conn->output.empty()) return;
    size_t count = 0;
    size_t bytes = 0;
    for (auto it = conn->output.begin(); it != conn->output.end() && count < kMaxIov; ++it) {
      size_t skip = count == 0 ? conn->output_offset : 0;
      conn->iov[count].iov_base = const_cast<char*>(it->data()) + skip;
      conn->iov[count].iov_len = it->size() - skip;
      bytes += it->size() - skip;
      ++count;
    }
    conn->msg = {};
    conn->msg.msg_iov = conn->iov;
    conn->msg.msg_iovlen = count;
    io_uring_sqe* sqe = loop.NewSqe(conn, kSend);
    if (sqe == nullptr) return;
    if (bytes >= options_.zero_copy_threshold) {
      io_uring_prep_sendmsg_zc(sqe, conn->fd, &conn->msg, MSG_NOSIGNAL);
    } else {
      io_uring_prep_sendmsg(sqe, conn->fd, &conn->msg, MSG_NOSIGNAL);
    }
    conn->sending = true;
    ++conn->pending_ops;
  }

  void OnConnCompletion(Conn* conn, uint8_t tag, const io_uring_cqe& cqe) {
    if (tag == kRecv) {
      --conn->pending_ops;
      conn->recv_armed = false;
      OnRecv(conn, cqe);
    } else if (tag == kSend) {
      OnSend(conn, cqe);
    }
    if (conn->closing && conn->pending_ops == 0) Free(conn);
  }

  void OnRecv(Conn* conn, const io_uring_cqe& cqe) {
    if (cqe.res == -ENOBUFS) {
      // Every provided buffer is in use this instant: try again after the current batch.
      uint64_t id = conn->id;
      loop.Post([this, id] {
        auto it = conns_.find(id);
        if (it != conns_.end()) MaybeArmRecv(it->second.get());
      });
      return;
    }
    if (cqe.res == 0 && !conn->closing) {
      // The peer finished sending (maybe only half-closed): answer what is in flight, then
      // close.
      conn->peer_closed = true;
      conn->handler->OnPeerClosed();
      MaybeFinishDrain(conn);
      return;
    }
    if (cqe.res < 0) {
      Close(conn);
      return;
    }
    if (!(cqe.flags & IORING_CQE_F_BUFFER)) {
      Close(conn);
      return;
    }
    uint16_t buffer_id = static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
    if (!conn->closing) {
      absl::string_view data = loop.BufferData(buffer_id, cqe.res);
      conn->input.append(data.data(), data.size());
    }
    loop.ReturnBuffer(buffer_id);
    if (conn->closing) return;
    conn->last_activity = NowNanos();
    if (conn->input.size() > options_.max_input_bytes) {
      CFS_LOG(WARNING, options_.name)
          << "closing connection " << conn->id << ": " << conn->input.size() << " unconsumed bytes";
      Close(conn);
      return;
    }
    ProcessInput(conn);
  }

  // Hands the buffered bytes to the protocol, which consumes whole requests while the in-flight
  // limit allows; the rest waits for a reply to free a slot.
  void ProcessInput(Conn* conn, bool even_if_empty = false) {
    if (conn->closing || (conn->input.empty() && !even_if_empty) || conn->close_when_sent) {
      MaybeArmRecv(conn);
      return;
    }
    if (conn->output_bytes >= options_.max_output_bytes) {
      conn->input_deferred = true;  // FinishSent goes on once the client has read some
      return;
    }
    conn->input_deferred = false;
    in_handler_ = true;  // a reply sent from inside OnData must not re-enter it
    absl::StatusOr<size_t> consumed = conn->handler->OnInput(conn->input);
    in_handler_ = false;
    if (!consumed.ok()) {
      CFS_LOG(DEBUG, options_.name)
          << "closing connection " << conn->id << ": " << consumed.status();
      Close(conn);
      return;
    }
    conn->input.erase(0, *consumed);
    // Input left over while the replies are piled up: FinishSent goes on once they drain.
    if (!conn->input.empty() && conn->output_bytes >= options_.max_output_bytes) {
      conn->input_deferred = true;
    }
    MaybeArmRecv(conn);
  }

  void OnSend(Conn* conn, const io_uring_cqe& cqe) {
    if (cqe.flags & IORING_CQE_F_NOTIF) {
      // The kernel is done with a zero-copy send's buffers: they may go now.
      --conn->pending_ops;
      conn->sending = false;
      FinishSent(conn);
      return;
    }
    bool notification_follows = (cqe.flags & IORING_CQE_F_MORE) != 0;
    if (!notification_follows) --conn->pending_ops;
    if (cqe.res < 0) {
      conn->sending = notification_follows;  // keep the buffers until the notification
      Close(conn);
      return;
    }
    conn->sent_unreleased += static_cast<size_t>(cqe.res);
    if (cqe.res > 0) conn->last_send_progress = NowNanos();
    if (notification_follows) return;  // wait before touching the buffers again
    conn->sending = false;
    FinishSent(conn);
  }

  // After a send completed: release the buffers fully sent, send more, resume reading.
  void FinishSent(Conn* conn) {
    size_t sent = conn->sent_unreleased;
    conn->sent_unreleased = 0;
    while (sent > 0 && !conn->output.empty()) {
      size_t left = conn->output.front().size() - conn->output_offset;
      if (sent < left) {
        conn->output_offset += sent;
        break;
      }
      sent -= left;
      conn->output_bytes -= conn->output.front().size();
      conn->output.pop_front();
      conn->output_offset = 0;
    }
    if (conn->closing) return;
    WakeOutputWaiters(conn);
    if (conn->closing) return;
    if (conn->close_when_sent && conn->output.empty()) {
      Close(conn);
      return;
    }
    TrySend(conn);
    if (conn->input_deferred && conn->output_bytes < options_.max_output_bytes) {
      ProcessInput(conn, /*even_if_empty=*/true);
      if (conns_.count(conn->id) == 0 || conn->closing) return;
    }
    MaybeArmRecv(conn);
    MaybeFinishDrain(conn);
  }

  // Closes `conn` once nothing is in flight or queued, when the server drains or the peer
  // has stopped sending.
  void MaybeFinishDrain(Conn* conn) {
    if ((draining_ || conn->peer_closed) && !conn->closing && conn->in_flight == 0 &&
        conn->output.empty()) {
      Close(conn);
    }
  }

  // Marks `conn` closing. It is freed once no operation is pending: by the completion that
  // ends the last one, or by a posted task, never under a caller that may still touch it.
  void Close(Conn* conn) {
    if (conn->closing) return;
    conn->closing = true;
    WakeOutputWaiters(conn);
    shutdown(conn->fd, SHUT_RDWR);  // completes a pending receive
    if (conn->pending_ops > 0) return;
    uint64_t id = conn->id;
    loop.Post([this, id] {
      auto it = conns_.find(id);
      if (it != conns_.end() && it->second->pending_ops == 0) Free(it->second.get());
    });
  }

  void Free(Conn* conn) {
    close(conn->fd);
    server_->ReleaseClient(conn->peer_address);
    conns_.erase(conn->id);  // destroys conn
    server_->connections_.fetch_sub(1);
  }

  TcpServer* server_;
  const TcpServerOptions options_;  // a copy: late replies may reach a loop after the server
  std::map<uint64_t, std::unique_ptr<Conn>> conns_;
  int listen_fd_ = -1;
  bool accepting_ = false;
  bool draining_ = false;
  bool stopped_ = false;
  bool in_handler_ = false;
  __kernel_timespec timer_spec_{};

  friend class TcpServer;
};

void ConnectionRef::Send(std::string bytes, bool completes_request) const {
  std::vector<std::string> parts;
  parts.push_back(std::move(bytes));
  SendParts(std::move(parts), completes_request);
}

void ConnectionRef::SendParts(std::vector<std::string> parts, bool completes_request) const {
  if (loop_ == nullptr) return;
  LoopState* state = loop_.get();
  uint64_t id = id_;
  if (state->loop.InLoopThread()) {
    state->Send(id, std::move(parts), completes_request);
    return;
  }
  state->loop.Post([state, id, parts = std::move(parts), completes_request]() mutable {
    state->Send(id, std::move(parts), completes_request);
  });
}

void ConnectionRef::WhenOutputBelow(size_t max_queued, absl::AnyInvocable<void() &&> fn) const {
  if (loop_ == nullptr) {
    std::move(fn)();
    return;
  }
  LoopState* state = loop_.get();
  uint64_t id = id_;
  auto task = [state, id, max_queued, fn = std::move(fn)]() mutable {
    state->WhenOutputBelow(id, max_queued, std::move(fn));
  };
  if (state->loop.InLoopThread()) {
    task();
  } else {
    state->loop.Post(std::move(task));
  }
}

void ConnectionRef::Post(absl::AnyInvocable<void() &&> fn) const {
  if (loop_ == nullptr) return;
  loop_->loop.Post(std::move(fn));
}

void ConnectionRef::PostParts(std::vector<std::string> parts, bool completes_request) const {
  if (loop_ == nullptr) return;
  LoopState* state = loop_.get();
  uint64_t id = id_;
  state->loop.Post([state, id, parts = std::move(parts), completes_request]() mutable {
    state->Send(id, std::move(parts), completes_request);
  });
}

void ConnectionRef::CloseWhenSent() const {
  if (loop_ == nullptr) return;
  LoopState* state = loop_.get();
  uint64_t id = id_;
  state->loop.Post([state, id] { state->CloseWhenSent(id); });
}

void ConnectionRef::Resume() const {
  if (loop_ == nullptr) return;
  LoopState* state = loop_.get();
  uint64_t id = id_;
  state->loop.Post([state, id] { state->Resume(id); });
}

bool TcpServer::AdmitClient(const std::string& address) {
  std::lock_guard<std::mutex> lock(clients_mu_);
  size_t& open = clients_[address];
  if (open >= options_.max_connections_per_client) {
    // Logged at the 1st, 2nd, 4th, 8th... refusal, so a flood does not flood the log too.
    uint64_t refused = ++refused_clients_;
    if ((refused & (refused - 1)) == 0) {
      CFS_LOG(WARNING, options_.name)
          << "refusing a connection from " << address << ": it holds " << open
          << " (max_connections_per_client); " << refused_clients_ << " refused so far";
    }
    if (open == 0) clients_.erase(address);
    return false;
  }
  ++open;
  return true;
}

void TcpServer::ReleaseClient(const std::string& address) {
  std::lock_guard<std::mutex> lock(clients_mu_);
  auto it = clients_.find(address);
  if (it != clients_.end() && --it->second == 0) clients_.erase(it);
}

TcpServer::TcpServer(TcpServerOptions options, HandlerFactory factory)
    : options_(std::move(options)), factory_(std::move(factory)) {}

TcpServer::~TcpServer() { Shutdown(absl::Now()); }

absl::Status TcpServer::Start(const std::string& host, int port) {
  sockaddr_storage addr{};
  socklen_t addr_len;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    addr_len = sizeof(*v4);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    addr_len = sizeof(*v6);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat(options_.name, ": '", host, "' is not a numeric address"));
  }
  listen_fd_ = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return absl::UnavailableError(absl::StrCat("socket: ", std::strerror(errno)));
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), addr_len) != 0 ||
      listen(listen_fd_, 4096) != 0) {
    absl::Status s = absl::UnavailableError(absl::StrCat(options_.name, ": cannot listen on ", host,
                                                         ":", port, ": ", std::strerror(errno)));
    close(listen_fd_);
    listen_fd_ = -1;
    return s;
  }
  socklen_t len = sizeof(addr);
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.ss_family == AF_INET ? v4->sin_port : v6->sin6_port);
  host_ = host;
  int loops = options_.loops > 0
                  ? options_.loops
                  : std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / 2);
  for (int i = 0; i < loops; ++i) {
    auto state = std::make_shared<LoopState>(this, options_);
    if (!state->loop.status().ok()) {
      close(listen_fd_);
      listen_fd_ = -1;
      loops_.clear();
      return state->loop.status();
    }
    loops_.push_back(std::move(state));
  }
  for (auto& state : loops_) {
    LoopState* raw = state.get();
    threads_.emplace_back([raw] { raw->loop.Run(); });
    raw->loop.Post([raw] { raw->StartTimer(); });
  }
  LoopState* first = loops_[0].get();
  int fd = listen_fd_;
  first->loop.Post([first, fd] { first->StartAccepting(fd); });
  running_ = true;
  return absl::OkStatus();
}

void TcpServer::Shutdown(absl::Time deadline) {
  if (!running_) return;
  running_ = false;
  LoopState* first = loops_[0].get();
  first->loop.Post([first] { first->StopAccepting(); });
  for (auto& state : loops_) {
    LoopState* raw = state.get();
    raw->loop.Post([raw] { raw->BeginDrain(); });
  }
  while (connections_.load() > 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
  for (auto& state : loops_) {
    LoopState* raw = state.get();
    raw->loop.Post([raw] { raw->CloseAll(); });
  }
  absl::Time grace = absl::Now() + absl::Seconds(2);
  while (connections_.load() > 0 && absl::Now() < grace) absl::SleepFor(absl::Milliseconds(5));
  for (auto& state : loops_) {
    LoopState* raw = state.get();
    raw->loop.Post([raw] { raw->stopped_ = true; });
    raw->loop.Stop();
  }
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  if (listen_fd_ >= 0) close(listen_fd_);
  listen_fd_ = -1;
  // Loops stay alive while ConnectionRefs from late replies hold them.
  loops_.clear();
}

}  // namespace cfs::net
