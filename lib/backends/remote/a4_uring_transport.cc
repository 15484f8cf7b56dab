#include "lib/backends/remote/a4_uring_transport.h"

#include <liburing.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "lib/backends/remote/a4_pending_calls.h"
#include "lib/backends/remote/a4_socket_transport.h"
#include "lib/common/logging.h"

namespace cfs::remote {
namespace {

enum Tag : uint8_t { kRecv = 1, kSend = 2 };
constexpr size_t kMaxIov = 32;

}  // namespace

// What the transport's threads and connections use. The threads hold it, so it lives until
// the last of them is done, even when the transport is destroyed on one of them.
struct UringA4Transport::Core {
  Core() : loop(net::EventLoop::Options{}) {}
  // Loop thread: a connection let go of itself; the last one stops a stopping loop, so no
  // connection is left with operations in a ring that no longer runs.
  void Released() {
    if (--holding == 0 && stopping) loop.Stop();
  }

  net::EventLoop loop;
  std::atomic<bool> stopping{false};
  std::atomic<bool> stopped{false};  // Run() has returned
  int holding = 0;  // loop-affine: connections holding themselves for the ring's operations
  std::mutex mu;
  std::map<uint64_t, std::weak_ptr<Conn>> conns;  // guarded by mu: for the deadline reaper
  uint64_t next_conn = 1;                         // guarded by mu
};

// One connection. The pending-call table (A4PendingCalls) is shared with caller threads; the rest
// is loop-affine. The object stays alive (self_) while the ring holds operations on it.
class UringA4Transport::Conn : public net::CompletionHandler,
                               public std::enable_shared_from_this<Conn> {
 public:
  Conn(std::shared_ptr<Core> core, int fd, size_t zero_copy_threshold)
      : core_(std::move(core)),
        loop_(core_->loop),
        fd_(fd),
        zero_copy_threshold_(zero_copy_threshold) {}
  ~Conn() override { ::close(fd_); }

  // Loop thread: starts receiving (not once the transport is stopping).
  void Begin() {
    if (core_->stopping) return;
    self_ = shared_from_this();
    ++core_->holding;
    ArmRecv();
  }

  void Call(a4::Request request, std::shared_ptr<const void> keep_alive, absl::Time deadline,
            A4Done done) {
    absl::StatusOr<uint64_t> id = pending_.Add(deadline, std::move(done));
    if (!id.ok()) return;
    request.request_id = *id;
    Out out;
    out.head = a4::EncodeRequest(request);
    if (request.op == a4::Op::kWrite) out.data = request.data;
    out.keep_alive = std::move(keep_alive);
    std::weak_ptr<Conn> weak = weak_from_this();
    loop_.Post([weak, out = std::move(out)]() mutable {
      if (std::shared_ptr<Conn> self = weak.lock()) {
        if (self->closing_) return;
        self->output_.push_back(std::move(out));
        self->TrySend();
      }
    });
  }

  bool Broken() const { return pending_.broken(); }
  size_t InFlight() const { return pending_.size(); }

  // Any thread: fails the calls in flight and closes the connection on the loop.
  void Close(const absl::Status& why) {
    FailAll(why);
    std::weak_ptr<Conn> weak = weak_from_this();
    loop_.Post([weak] {
      if (std::shared_ptr<Conn> self = weak.lock()) self->CloseOnLoop();
    });
  }

  void ExpireOverdue(absl::Time now) { pending_.ExpireOverdue(now); }

  void OnCompletion(uint8_t tag, const io_uring_cqe& cqe) override {
    std::shared_ptr<Conn> hold = self_;  // may be dropped below
    if (tag == kRecv) {
      --ops_;
      recv_armed_ = false;
      OnRecv(cqe);
    } else {
      OnSend(cqe);
    }
    if (closing_ && ops_ == 0) ReleaseSelf();
  }

 private:
  struct Out {
    std::string head;
    absl::string_view data;
    std::shared_ptr<const void> keep_alive;
  };

  void FailAll(const absl::Status& why) { pending_.Break(why); }

  void CloseOnLoop() {
    if (closing_) return;
    closing_ = true;
    ::shutdown(fd_, SHUT_RDWR);  // completes the armed receive
    if (ops_ == 0) ReleaseSelf();
  }

  // Loop thread: the ring holds nothing of this connection any more.
  void ReleaseSelf() {
    if (self_ == nullptr) return;
    std::shared_ptr<Conn> last = std::move(self_);  // may be the last reference
    core_->Released();
  }

  void ArmRecv() {
    if (closing_ || recv_armed_) return;
    io_uring_sqe* sqe = loop_.NewSqe(this, kRecv);
    if (sqe == nullptr) {
      Close(absl::UnavailableError("io_uring submission queue full"));
      return;
    }
    io_uring_prep_recv(sqe, fd_, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = net::EventLoop::kBufferGroup;
    recv_armed_ = true;
    ++ops_;
  }

  void OnRecv(const io_uring_cqe& cqe) {
    if (cqe.res == -ENOBUFS) {  // every provided buffer is in use this instant
      std::weak_ptr<Conn> weak = weak_from_this();
      loop_.Post([weak] {
        if (std::shared_ptr<Conn> self = weak.lock()) self->ArmRecv();
      });
      return;
    }
    if (cqe.res <= 0 || !(cqe.flags & IORING_CQE_F_BUFFER)) {
      FailAll(absl::UnavailableError("A4 connection lost"));
      CloseOnLoop();
      return;
    }
    uint16_t buffer_id = static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
    absl::string_view bytes = loop_.BufferData(buffer_id, cqe.res);
    input_.append(bytes.data(), bytes.size());
    loop_.ReturnBuffer(buffer_id);
    if (closing_) return;
    if (!ProcessInput()) {
      FailAll(absl::UnavailableError("A4 protocol error from the data node"));
      CloseOnLoop();
      return;
    }
    ArmRecv();
  }

  // Completes every whole response in input_. False on a malformed frame.
  bool ProcessInput() {
    size_t at = 0;
    while (input_.size() - at >= a4::kHeaderSize) {
      absl::StatusOr<a4::Header> header =
          a4::DecodeHeader(absl::string_view(input_).substr(at, a4::kHeaderSize));
      if (!header.ok() || header->kind != a4::Kind::kResponse) return false;
      size_t frame = a4::kHeaderSize + header->payload_length;
      if (input_.size() - at < frame) break;
      auto payload =
          std::make_shared<std::string>(input_, at + a4::kHeaderSize, header->payload_length);
      at += frame;
      absl::StatusOr<a4::Response> response = a4::DecodeResponse(*header, *payload);
      if (!response.ok()) return false;
      // A response to a call that expired meanwhile is dropped.
      pending_.Complete(header->request_id, A4Reply{std::move(*response), std::move(payload)});
    }
    input_.erase(0, at);
    return true;
  }

  void TrySend() {
    if (sending_ || output_.empty() || closing_) return;
    size_t count = 0;
    size_t bytes = 0;
    size_t skip = output_offset_;
    for (const Out& out : output_) {
      for (absl::string_view part : {absl::string_view(out.head), out.data}) {
        if (part.empty()) continue;
        if (skip >= part.size()) {
          skip -= part.size();
          continue;
        }
        if (count == kMaxIov) break;
        iov_[count].iov_base = const_cast<char*>(part.data()) + skip;
        iov_[count].iov_len = part.size() - skip;
        bytes += part.size() - skip;
        skip = 0;
        ++count;
      }
      if (count == kMaxIov) break;
    }
    msg_ = {};
    msg_.msg_iov = iov_;
    msg_.msg_iovlen = count;
    io_uring_sqe* sqe = loop_.NewSqe(this, kSend);
    if (sqe == nullptr) {
      Close(absl::UnavailableError("io_uring submission queue full"));
      return;
    }
    if (bytes >= zero_copy_threshold_) {
      io_uring_prep_sendmsg_zc(sqe, fd_, &msg_, MSG_NOSIGNAL);
    } else {
      io_uring_prep_sendmsg(sqe, fd_, &msg_, MSG_NOSIGNAL);
    }
    sending_ = true;
    ++ops_;
  }

  void OnSend(const io_uring_cqe& cqe) {
    if (cqe.flags & IORING_CQE_F_NOTIF) {  // a zero-copy send's buffers are free now
      --ops_;
      sending_ = false;
      FinishSent();
      return;
    }
    bool notification_follows = (cqe.flags & IORING_CQE_F_MORE) != 0;
    if (!notification_follows) --ops_;
    if (cqe.res < 0) {
      sending_ = notification_follows;
      FailAll(absl::UnavailableError("A4 send failed"));
      CloseOnLoop();
      return;
    }
    sent_ += static_cast<size_t>(cqe.res);
    if (notification_follows) return;
    sending_ = false;
    FinishSent();
  }

  // Drops what was fully sent (releasing its keep_alive) and sends more.
  void FinishSent() {
    size_t sent = sent_ + output_offset_;
    sent_ = 0;
    output_offset_ = 0;
    while (!output_.empty()) {
      size_t size = output_.front().head.size() + output_.front().data.size();
      if (sent < size) break;
      sent -= size;
      output_.pop_front();
    }
    output_offset_ = sent;
    if (closing_) {
      output_.clear();
      return;
    }
    TrySend();
  }

  const std::shared_ptr<Core> core_;  // keeps the loop alive while the connection is
  net::EventLoop& loop_;
  const int fd_;
  const size_t zero_copy_threshold_;
  std::shared_ptr<Conn> self_;  // loop-affine: held while the ring may touch this object
  // Loop-affine state.
  std::string input_;
  std::deque<Out> output_;
  size_t output_offset_ = 0;  // bytes of output_.front() already sent
  size_t sent_ = 0;
  bool sending_ = false;
  bool recv_armed_ = false;
  bool closing_ = false;
  int ops_ = 0;
  iovec iov_[kMaxIov];
  msghdr msg_{};
  // Shared with callers.
  A4PendingCalls pending_;
};

namespace {

// What Connect returns: closes the connection when dropped.
class UringChannel : public A4Channel {
 public:
  explicit UringChannel(std::shared_ptr<UringA4Transport::Conn> conn) : conn_(std::move(conn)) {}
  ~UringChannel() override { conn_->Close(absl::UnavailableError("A4 channel closed")); }
  void Call(a4::Request request, std::shared_ptr<const void> keep_alive, absl::Time deadline,
            A4Done done) override {
    conn_->Call(std::move(request), std::move(keep_alive), deadline, std::move(done));
  }
  bool Broken() const override { return conn_->Broken(); }
  size_t InFlight() const override { return conn_->InFlight(); }
  void Close() override { conn_->Close(absl::UnavailableError("A4 connection closed")); }

 private:
  std::shared_ptr<UringA4Transport::Conn> conn_;
};

}  // namespace

namespace {

// Fails the calls of every connection past their deadline, every 50 ms, until stopped.
void ReapOverdue(const std::shared_ptr<UringA4Transport::Core>& core) {
  while (!core->stopping) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::vector<std::shared_ptr<UringA4Transport::Conn>> live;
    {
      std::lock_guard<std::mutex> lock(core->mu);
      for (auto it = core->conns.begin(); it != core->conns.end();) {
        if (std::shared_ptr<UringA4Transport::Conn> conn = it->second.lock()) {
          live.push_back(std::move(conn));
          ++it;
        } else {
          it = core->conns.erase(it);
        }
      }
    }
    absl::Time now = absl::Now();
    for (const auto& conn : live) conn->ExpireOverdue(now);
  }
}

// A thread cannot join itself (std::system_error "Resource deadlock avoided"): the one the
// destructor runs on is left to end by itself.
void JoinUnlessSelf(std::thread& thread) {
  if (!thread.joinable()) return;
  if (thread.get_id() == std::this_thread::get_id()) {
    thread.detach();
  } else {
    thread.join();
  }
}

}  // namespace

// Each connection keeps at most one receive and one send in the ring, so the default (small)
// ring serves hundreds of connections.
UringA4Transport::UringA4Transport(Options options)
    : options_(options), core_(std::make_shared<Core>()) {
  loop_thread_ = std::thread([core = core_] {
    core->loop.Run();
    core->stopped = true;
  });
  reaper_ = std::thread([core = core_] { ReapOverdue(core); });
}

UringA4Transport::~UringA4Transport() {
  core_->stopping = true;
  {
    std::lock_guard<std::mutex> lock(core_->mu);
    for (auto& [id, weak] : core_->conns) {
      if (std::shared_ptr<Conn> conn = weak.lock()) {
        conn->Close(absl::UnavailableError("A4 transport stopped"));
      }
    }
  }
  JoinUnlessSelf(reaper_);
  // The loop stops once every connection has let go (their sockets are shut down, so their
  // operations complete at once), or now when none holds on. The task holds the core by a raw
  // pointer: the loop thread holds it while tasks run, and a task left unrun in a stopped loop
  // must not keep the core (and its loop) alive in a cycle.
  std::shared_ptr<Core> core = core_;
  Core* raw = core.get();
  core->loop.Post([raw] {
    if (raw->holding == 0) raw->loop.Stop();
  });
  if (loop_thread_.get_id() == std::this_thread::get_id()) {
    loop_thread_.detach();  // this thread ends when the loop stops, after this callback
    return;
  }
  absl::Time give_up = absl::Now() + absl::Seconds(5);
  while (!core->stopped && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(2));
  if (!core->stopped) {
    CFS_LOG(WARNING, "a4") << "io_uring transport: connections still busy after 5 s; stopping";
    core->loop.Stop();
  }
  loop_thread_.join();
}

absl::StatusOr<std::unique_ptr<A4Channel>> UringA4Transport::Connect(const std::string& address,
                                                                     absl::Time deadline) {
  if (!core_->loop.status().ok()) return core_->loop.status();
  absl::StatusOr<int> fd = ConnectTcp(address, deadline);
  if (!fd.ok()) return fd.status();
  auto conn = std::make_shared<Conn>(core_, *fd, options_.zero_copy_threshold);
  {
    std::lock_guard<std::mutex> lock(core_->mu);
    core_->conns[core_->next_conn++] = conn;
  }
  std::weak_ptr<Conn> weak = conn;
  core_->loop.Post([weak] {
    if (std::shared_ptr<Conn> c = weak.lock()) c->Begin();
  });
  return std::unique_ptr<A4Channel>(new UringChannel(std::move(conn)));
}

}  // namespace cfs::remote
