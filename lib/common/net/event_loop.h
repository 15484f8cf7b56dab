// EventLoop: one thread driving one io_uring ring. Every network object is pinned to a loop and
// touched only on its thread (Loop-affine); other threads hand work over with Post().
//
// The loop owns its ring, an eventfd for cross-thread wake-ups, and a ring of provided receive
// buffers shared by all its connections, so an idle connection holds no receive buffer.
// Completion handlers are registered per operation through Submit*(), each with a user token.
//
// Example:
//   EventLoop loop(EventLoop::Options{});
//   std::thread t([&] { loop.Run(); });
//   loop.Post([] { /* runs on the loop thread */ });
//   loop.Stop();
//   t.join();

#ifndef CFS_LIB_COMMON_NET_EVENT_LOOP_H_
#define CFS_LIB_COMMON_NET_EVENT_LOOP_H_

#include <liburing.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace cfs::net {

// Receives the completions of operations submitted through EventLoop. Loop-affine.
class CompletionHandler {
 public:
  virtual ~CompletionHandler() = default;
  // `cqe` is the completion of an operation submitted with this handler and `tag`.
  virtual void OnCompletion(uint8_t tag, const io_uring_cqe& cqe) = 0;
};

class EventLoop {
 public:
  struct Options {
    // Submission queue entries (64 bytes each; a full queue is flushed, not refused) and
    // completion queue entries (16 bytes each). Ring memory counts against RLIMIT_MEMLOCK
    // when the process lacks CAP_IPC_LOCK (8 MiB by default, shared by every process of the
    // user and freed only some time after a ring closes): 256/4096 take about 84 KiB, where
    // 4096/8192 took 400 KiB and exhausted the limit with 20 rings.
    unsigned ring_entries = 256;
    unsigned completion_entries = 4096;
    unsigned receive_buffers = 256;  // provided buffers (a power of two)
    size_t receive_buffer_size = 64 * 1024;
  };

  // Creates the ring. When locked memory is short (ENOMEM) it retries once with a ring an
  // eighth the size (logged); check status() before Run().
  explicit EventLoop(const Options& options);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // The ring's creation status (e.g. io_uring unavailable: kUnavailable).
  absl::Status status() const { return status_; }
  // The submission queue's size: Options::ring_entries, or less after the fallback.
  unsigned submission_entries() const { return ring_ready_ ? ring_.sq.ring_entries : 0; }

  // Runs completions and posted tasks until Stop(). Call from the loop's own thread. Returns at
  // once when the ring could not be created.
  void Run();
  // Thread-safe. Run() returns after the tasks posted before it.
  void Stop();
  // Thread-safe: runs `task` on the loop thread.
  void Post(absl::AnyInvocable<void() &&> task);
  bool InLoopThread() const;

  // Loop-affine submission helpers. The SQE is queued; it goes to the kernel at the end of the
  // current iteration. Returns null when the submission queue is full even after a flush.
  io_uring_sqe* NewSqe(CompletionHandler* handler, uint8_t tag);

  // The provided-buffer group for receives (IOSQE_BUFFER_SELECT) and access to a completed
  // buffer; ReturnBuffer() gives it back to the kernel once its bytes are copied out.
  static constexpr uint16_t kBufferGroup = 1;
  absl::string_view BufferData(uint16_t buffer_id, size_t length) const;
  void ReturnBuffer(uint16_t buffer_id);

 private:
  // io_uring_queue_init_params with these sizes into ring_; returns its result (-errno).
  int InitRing(unsigned submission_entries, unsigned completion_entries);
  void ArmWakeup();
  void RunPosted();

  const Options options_;
  absl::Status status_;
  io_uring ring_{};
  bool ring_ready_ = false;
  int wake_fd_ = -1;
  uint64_t wake_value_ = 0;
  io_uring_buf_ring* buffer_ring_ = nullptr;
  char* buffers_ = nullptr;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> thread_id_{0};
  std::mutex posted_mu_;
  std::vector<absl::AnyInvocable<void() &&>> posted_;  // guarded by posted_mu_
  class WakeHandler;
  std::unique_ptr<WakeHandler> wake_handler_;
};

}  // namespace cfs::net

#endif  // CFS_LIB_COMMON_NET_EVENT_LOOP_H_
