#include "lib/backends/remote/a4_socket_transport.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lib/backends/remote/a4_pending_calls.h"
#include "lib/backends/remote/host_port.h"

namespace cfs::remote {
namespace {

int MillisUntil(absl::Time deadline) {
  absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 1 << 30));
}

// Reads exactly `n` bytes; false on EOF or error.
bool ReadFully(int fd, char* out, size_t n) {
  while (n > 0) {
    ssize_t r = ::recv(fd, out, n, 0);
    if (r > 0) {
      out += r;
      n -= static_cast<size_t>(r);
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else {
      return false;
    }
  }
  return true;
}

// The state of one connection, shared by its handle and its reader thread: the reader keeps it
// alive, so a completion that drops the last handle (on the reader thread) is safe.
class SocketCore : public std::enable_shared_from_this<SocketCore> {
 public:
  explicit SocketCore(int fd) : fd_(fd) {}
  ~SocketCore() { ::close(fd_); }

  void StartReader() {
    std::thread([self = shared_from_this()] { self->ReadLoop(); }).detach();
  }

  void Call(a4::Request request, std::shared_ptr<const void> keep_alive, absl::Time deadline,
            A4Done done) {
    absl::StatusOr<uint64_t> id = pending_.Add(deadline, std::move(done), std::move(keep_alive));
    if (!id.ok()) return;
    request.request_id = *id;
    std::string head = a4::EncodeRequest(request);
    iovec parts[2] = {{head.data(), head.size()},
                      {const_cast<char*>(request.data.data()), request.data.size()}};
    int count = request.op == a4::Op::kWrite && !request.data.empty() ? 2 : 1;
    if (!SendAll(parts, count)) Fail(absl::UnavailableError("A4 send failed"));
  }

  bool Broken() const { return pending_.broken(); }
  size_t InFlight() const { return pending_.size(); }
  void Close() { Fail(absl::UnavailableError("A4 connection closed")); }

 private:
  bool SendAll(iovec* parts, int count) {
    std::lock_guard<std::mutex> lock(send_mu_);
    while (count > 0) {
      msghdr msg{};
      msg.msg_iov = parts;
      msg.msg_iovlen = count;
      ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      size_t sent = static_cast<size_t>(n);
      while (count > 0 && sent >= parts->iov_len) {
        sent -= parts->iov_len;
        ++parts;
        --count;
      }
      if (count > 0) {
        parts->iov_base = static_cast<char*>(parts->iov_base) + sent;
        parts->iov_len -= sent;
      }
    }
    return true;
  }

  // Marks the channel broken and fails every call in flight with `status`.
  void Fail(const absl::Status& status) {
    if (pending_.Break(status)) ::shutdown(fd_, SHUT_RDWR);  // wakes the reader
  }

  void ReadLoop() {
    char header_bytes[a4::kHeaderSize];
    while (true) {
      pollfd pfd{fd_, POLLIN, 0};
      int ready = ::poll(&pfd, 1, 100);
      pending_.ExpireOverdue(absl::Now());
      if (ready < 0 && errno == EINTR) continue;
      if (ready == 0) {
        if (Broken()) return;
        continue;
      }
      if (ready < 0 || !ReadFully(fd_, header_bytes, sizeof header_bytes)) break;
      absl::StatusOr<a4::Header> header =
          a4::DecodeHeader(absl::string_view(header_bytes, sizeof header_bytes));
      if (!header.ok() || header->kind != a4::Kind::kResponse) break;
      auto payload = std::make_shared<std::string>(header->payload_length, '\0');
      if (!ReadFully(fd_, payload->data(), payload->size())) break;
      absl::StatusOr<a4::Response> response = a4::DecodeResponse(*header, *payload);
      if (!response.ok()) break;
      // A response to a call that expired meanwhile is dropped.
      pending_.Complete(header->request_id, A4Reply{std::move(*response), std::move(payload)});
    }
    Fail(absl::UnavailableError("A4 connection lost"));
  }

  const int fd_;
  std::mutex send_mu_;
  A4PendingCalls pending_;
};

// What Connect returns: closes the connection when dropped (the reader ends on its own).
class SocketA4Channel : public A4Channel {
 public:
  explicit SocketA4Channel(std::shared_ptr<SocketCore> core) : core_(std::move(core)) {}
  ~SocketA4Channel() override { core_->Close(); }
  void Call(a4::Request request, std::shared_ptr<const void> keep_alive, absl::Time deadline,
            A4Done done) override {
    core_->Call(std::move(request), std::move(keep_alive), deadline, std::move(done));
  }
  bool Broken() const override { return core_->Broken(); }
  size_t InFlight() const override { return core_->InFlight(); }
  void Close() override { core_->Close(); }

 private:
  std::shared_ptr<SocketCore> core_;
};

}  // namespace

absl::StatusOr<int> ConnectTcp(const std::string& address, absl::Time deadline) {
  std::string host, port;
  if (!SplitHostPort(address, &host, &port)) {
    return absl::InvalidArgumentError(absl::StrCat("bad A4 address '", address, "'"));
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0 || found == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("A4 address '", address, "' is not numeric"));
  }
  int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    ::freeaddrinfo(found);
    return absl::UnavailableError(absl::StrCat("socket: ", std::strerror(errno)));
  }
  int rc = ::connect(fd, found->ai_addr, found->ai_addrlen);
  ::freeaddrinfo(found);
  if (rc != 0 && errno != EINPROGRESS) {
    int err = errno;
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("connect ", address, ": ", std::strerror(err)));
  }
  if (rc != 0) {
    pollfd pfd{fd, POLLOUT, 0};
    int ready;
    do {
      ready = ::poll(&pfd, 1, MillisUntil(deadline));
    } while (ready < 0 && errno == EINTR);
    if (ready == 0) {
      ::close(fd);
      return absl::DeadlineExceededError(absl::StrCat("connect ", address, ": timed out"));
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (ready < 0 || err != 0) {
      ::close(fd);
      return absl::UnavailableError(
          absl::StrCat("connect ", address, ": ", std::strerror(err != 0 ? err : errno)));
    }
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

absl::StatusOr<std::unique_ptr<A4Channel>> SocketA4Transport::Connect(const std::string& address,
                                                                      absl::Time deadline) {
  absl::StatusOr<int> fd = ConnectTcp(address, deadline);
  if (!fd.ok()) return fd.status();
  auto core = std::make_shared<SocketCore>(*fd);
  core->StartReader();
  return std::unique_ptr<A4Channel>(new SocketA4Channel(std::move(core)));
}

}  // namespace cfs::remote
