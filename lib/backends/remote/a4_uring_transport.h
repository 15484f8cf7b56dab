// UringA4Transport: A4 over TCP driven by io_uring. One event-loop thread serves every
// connection of the transport: receives land in the loop's provided buffers (no buffer per
// idle connection), sends are gathered writes of each request's head and its data straight
// from the caller's buffer (held by the call's keep_alive until the kernel is done with it),
// and sends of at least `zero_copy_threshold` bytes use zero-copy sendmsg. Calls may be made
// from any thread; completions run on the loop thread. Thread-safe.
//
// Example:
//   UringA4Transport transport(UringA4Transport::Options{});
//   auto channel = transport.Connect("127.0.0.1:7100", absl::Now() + absl::Seconds(5));

#ifndef CFS_LIB_BACKENDS_REMOTE_A4_URING_TRANSPORT_H_
#define CFS_LIB_BACKENDS_REMOTE_A4_URING_TRANSPORT_H_

#include <cstddef>
#include <memory>
#include <string>
#include <thread>

#include "lib/backends/remote/a4_channel.h"
#include "lib/common/net/event_loop.h"

namespace cfs::remote {

class UringA4Transport : public A4Transport {
 public:
  struct Options {
    // Sends this large or larger go zero-copy. Off by default: on loopback the kernel copies
    // zero-copy buffers for local receivers anyway and the notifications cost more than the
    // copy (measured for the TcpServer); set it (e.g. 64 KiB) for real NICs.
    size_t zero_copy_threshold = SIZE_MAX;
  };

  explicit UringA4Transport(Options options);
  // Closes every connection and stops the loop. May run on the transport's own loop or reaper
  // thread (a completion that drops the last reference to what owns the transport): that
  // thread is then left to finish on its own, and what it uses (Core) lives until it has.
  ~UringA4Transport() override;

  std::string Name() const override { return "tcp-uring"; }
  absl::StatusOr<std::unique_ptr<A4Channel>> Connect(const std::string& address,
                                                     absl::Time deadline) override;

  class Conn;
  struct Core;

 private:
  const Options options_;
  // The loop and the connections, shared with the two threads and every connection.
  std::shared_ptr<Core> core_;
  std::thread loop_thread_;
  std::thread reaper_;  // fails calls past their deadline
};

}  // namespace cfs::remote

#endif  // CFS_LIB_BACKENDS_REMOTE_A4_URING_TRANSPORT_H_
