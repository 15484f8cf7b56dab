#include "lib/common/net/udp_server.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "lib/common/logging.h"

namespace cfs::net {
namespace {
enum Tag : uint8_t { kReceive = 1, kSend = 2 };
constexpr size_t kMaxDatagram = 65536;
}  // namespace

struct UdpServer::PendingSend : CompletionHandler {
  std::string data;
  sockaddr_storage to{};
  socklen_t to_len = 0;
  iovec iov{};
  msghdr msg{};
  UdpServer* server = nullptr;
  void OnCompletion(uint8_t, const io_uring_cqe& cqe) override {
    if (cqe.res < 0) {
      CFS_LOG(WARNING, "udp") << "reply of " << data.size()
                              << " bytes not sent: " << std::strerror(-cqe.res);
    }
    server->pending_replies_.fetch_sub(1);
    server->sends_in_flight_.erase(this);
    delete this;  // owned by the server's in-flight set while the ring held it
  }
};

UdpServer::UdpServer(DatagramHandler handler, size_t max_pending_replies)
    : handler_(std::move(handler)), max_pending_replies_(max_pending_replies) {}

UdpServer::~UdpServer() { Shutdown(); }

absl::Status UdpServer::Start(const std::string& host, int port) {
  sockaddr_storage addr{};
  socklen_t len;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof(*v4);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof(*v6);
  } else {
    return absl::InvalidArgumentError(absl::StrCat("udp: '", host, "' is not a numeric address"));
  }
  fd_ = socket(addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    absl::Status s = absl::UnavailableError(
        absl::StrCat("udp: cannot bind ", host, ":", port, ": ", std::strerror(errno)));
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    return s;
  }
  len = sizeof(addr);
  getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.ss_family == AF_INET ? v4->sin_port : v6->sin6_port);
  host_ = host;
  EventLoop::Options options;
  options.receive_buffers = 2;  // this server receives into its own buffer
  options.receive_buffer_size = 4096;
  loop_ = std::make_unique<EventLoop>(options);
  if (!loop_->status().ok()) return loop_->status();
  receive_buffer_.resize(kMaxDatagram);
  thread_ = std::thread([this] { loop_->Run(); });
  loop_->Post([this] { ArmReceive(); });
  running_ = true;
  return absl::OkStatus();
}

void UdpServer::ArmReceive() {
  if (stopping_.load()) return;
  receive_iov_ = {receive_buffer_.data(), receive_buffer_.size()};
  receive_msg_ = {};
  receive_msg_.msg_name = &receive_from_;
  receive_msg_.msg_namelen = sizeof(receive_from_);
  receive_msg_.msg_iov = &receive_iov_;
  receive_msg_.msg_iovlen = 1;
  io_uring_sqe* sqe = loop_->NewSqe(this, kReceive);
  if (sqe != nullptr) io_uring_prep_recvmsg(sqe, fd_, &receive_msg_, 0);
}

void UdpServer::OnCompletion(uint8_t tag, const io_uring_cqe& cqe) {
  if (tag != kReceive) return;
  if (cqe.res > 0) {
    char text[INET6_ADDRSTRLEN] = {0};
    if (receive_from_.ss_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&receive_from_)->sin_addr, text,
                sizeof(text));
    } else {
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&receive_from_)->sin6_addr, text,
                sizeof(text));
    }
    sockaddr_storage from = receive_from_;
    socklen_t from_len = receive_msg_.msg_namelen;
    UdpServer* self = this;
    std::shared_ptr<ReplyGate> gate = gate_;
    UdpReply reply = [self, gate, from, from_len](std::string datagram) {
      std::lock_guard<std::mutex> lock(gate->mu);
      if (!gate->open || self->pending_replies_.load() >= self->max_pending_replies_) {
        return;  // shut down, or too many waiting: dropped (the client retransmits)
      }
      self->pending_replies_.fetch_add(1);
      auto send = std::make_unique<PendingSend>();
      send->data = std::move(datagram);
      send->to = from;
      send->to_len = from_len;
      send->server = self;
      if (self->loop_->InLoopThread()) {
        self->SendOnLoop(std::move(send));
      } else {
        PendingSend* raw = send.release();
        self->loop_->Post([self, raw] { self->SendOnLoop(std::unique_ptr<PendingSend>(raw)); });
      }
    };
    handler_(absl::string_view(receive_buffer_.data(), cqe.res), text, std::move(reply));
  }
  ArmReceive();
}

void UdpServer::SendOnLoop(std::unique_ptr<PendingSend> send) {
  send->iov = {send->data.data(), send->data.size()};
  send->msg.msg_name = &send->to;
  send->msg.msg_namelen = send->to_len;
  send->msg.msg_iov = &send->iov;
  send->msg.msg_iovlen = 1;
  PendingSend* raw = send.get();
  io_uring_sqe* sqe = loop_->NewSqe(raw, kSend);
  if (sqe == nullptr) {
    pending_replies_.fetch_sub(1);
    return;  // ring full: dropped
  }
  io_uring_prep_sendmsg(sqe, fd_, &raw->msg, 0);
  sends_in_flight_.insert(send.release());  // deleted by its completion or at shutdown
}

void UdpServer::Shutdown() {
  if (!running_) return;
  running_ = false;
  {
    std::lock_guard<std::mutex> lock(gate_->mu);
    gate_->open = false;
  }
  stopping_.store(true);
  shutdown(fd_, SHUT_RDWR);
  // Let replies already queued go out, briefly.
  absl::Time give_up = absl::Now() + absl::Seconds(1);
  while (pending_replies_.load() > 0 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  loop_->Stop();
  thread_.join();
  loop_.reset();  // tears the ring down: no request refers to our buffers any more
  for (PendingSend* send : sends_in_flight_) delete send;
  sends_in_flight_.clear();
  close(fd_);
  fd_ = -1;
}

}  // namespace cfs::net
