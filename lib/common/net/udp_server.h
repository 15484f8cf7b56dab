// UdpServer: datagrams on one UDP socket, served on one io_uring EventLoop thread.
//
// Each datagram goes to the handler with the sender's address and a thread-safe `reply` that
// sends one datagram back to that sender. Receiving continues while replies are produced
// elsewhere; at most max_pending_replies replies wait for the socket (more are dropped, as UDP
// may drop them anyway: clients retransmit). Thread-safe Start/Shutdown.
//
// Example:
//   UdpServer server([](absl::string_view data, const std::string& peer, UdpReply reply) {
//     reply(Process(data));
//   });
//   CFS_RETURN_IF_ERROR(server.Start("127.0.0.1", 0));

#ifndef CFS_LIB_COMMON_NET_UDP_SERVER_H_
#define CFS_LIB_COMMON_NET_UDP_SERVER_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "lib/common/net/event_loop.h"

namespace cfs::net {

using UdpReply = std::function<void(std::string datagram)>;
using DatagramHandler =
    std::function<void(absl::string_view data, const std::string& peer_address, UdpReply reply)>;

class UdpServer : public CompletionHandler {
 public:
  explicit UdpServer(DatagramHandler handler, size_t max_pending_replies = 4096);
  ~UdpServer() override;

  // Errors: kInvalidArgument (host not numeric), kUnavailable (bind, io_uring).
  absl::Status Start(const std::string& host, int port);
  int port() const { return port_; }
  const std::string& host() const { return host_; }
  void Shutdown();

  void OnCompletion(uint8_t tag, const io_uring_cqe& cqe) override;

 private:
  struct PendingSend;
  void ArmReceive();
  void SendOnLoop(std::unique_ptr<PendingSend> send);

  DatagramHandler handler_;
  const size_t max_pending_replies_;
  std::unique_ptr<EventLoop> loop_;
  std::thread thread_;
  int fd_ = -1;
  int port_ = 0;
  std::string host_;
  // The receive in flight: one buffer, one address, one msghdr.
  std::string receive_buffer_;
  sockaddr_storage receive_from_{};
  iovec receive_iov_{};
  msghdr receive_msg_{};
  // Replies may come from any thread at any time; they post to the loop only while the gate is
  // open, and Shutdown closes it first, so nothing posts to a loop being torn down.
  struct ReplyGate {
    std::mutex mu;
    bool open = true;
  };
  std::shared_ptr<ReplyGate> gate_ = std::make_shared<ReplyGate>();
  std::atomic<size_t> pending_replies_{0};
  std::set<PendingSend*> sends_in_flight_;  // loop-affine
  std::atomic<bool> stopping_{false};
  bool running_ = false;
};

}  // namespace cfs::net

#endif  // CFS_LIB_COMMON_NET_UDP_SERVER_H_
