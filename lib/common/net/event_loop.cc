#include "lib/common/net/event_loop.h"

#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "lib/common/logging.h"

namespace cfs::net {
namespace {

// user_data layout: handler pointer (low 56 bits, user-space pointers fit) | tag << 56.
uint64_t Pack(CompletionHandler* handler, uint8_t tag) {
  return reinterpret_cast<uint64_t>(handler) | (static_cast<uint64_t>(tag) << 56);
}

uint64_t ThisThreadId() { return static_cast<uint64_t>(pthread_self()); }

// RLIMIT_MEMLOCK for messages: "8 MiB locked-memory limit" or "no locked-memory limit".
std::string MemlockLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_MEMLOCK, &limit) != 0) return "locked-memory limit unknown";
  if (limit.rlim_cur == RLIM_INFINITY) return "no locked-memory limit";
  return absl::StrCat(limit.rlim_cur / 1024, " KiB locked-memory limit");
}

}  // namespace

class EventLoop::WakeHandler : public CompletionHandler {
 public:
  explicit WakeHandler(EventLoop* loop) : loop_(loop) {}
  void OnCompletion(uint8_t, const io_uring_cqe&) override {
    loop_->RunPosted();
    if (!loop_->stopping_.load()) loop_->ArmWakeup();
  }

 private:
  EventLoop* loop_;
};

EventLoop::EventLoop(const Options& options)
    : options_(options), wake_handler_(std::make_unique<WakeHandler>(this)) {
  int rc = InitRing(options_.ring_entries, options_.completion_entries);
  if (rc == -ENOMEM) {
    unsigned small_sq = std::max(options_.ring_entries / 8, 8u);
    unsigned small_cq = std::max(options_.completion_entries / 8, 2 * small_sq);
    CFS_LOG(WARNING, "io_uring") << "a ring of " << options_.ring_entries << "/"
                                 << options_.completion_entries
                                 << " entries does not fit in locked memory (" << MemlockLimit()
                                 << "); using " << small_sq << "/" << small_cq;
    rc = InitRing(small_sq, small_cq);
  }
  if (rc < 0) {
    status_ = absl::UnavailableError(absl::StrCat(
        "io_uring_queue_init: ", std::strerror(-rc),
        rc == -ENOMEM
            ? absl::StrCat(" (io_uring rings count against locked memory, ", MemlockLimit(),
                           ": raise it with `ulimit -l` or systemd's LimitMEMLOCK=)")
            : ""));
    return;
  }
  ring_ready_ = true;
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    status_ = absl::UnavailableError(absl::StrCat("eventfd: ", std::strerror(errno)));
    return;
  }
  // The provided-buffer ring: entries and the buffers they point at, page aligned.
  size_t ring_bytes = options_.receive_buffers * sizeof(io_uring_buf);
  void* ring_mem =
      mmap(nullptr, ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (ring_mem == MAP_FAILED) {
    status_ = absl::ResourceExhaustedError("mmap of the receive buffer ring failed");
    return;
  }
  buffer_ring_ = static_cast<io_uring_buf_ring*>(ring_mem);
  io_uring_buf_ring_init(buffer_ring_);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(buffer_ring_);
  reg.ring_entries = options_.receive_buffers;
  reg.bgid = kBufferGroup;
  rc = io_uring_register_buf_ring(&ring_, &reg, 0);
  if (rc < 0) {
    status_ =
        absl::UnavailableError(absl::StrCat("io_uring_register_buf_ring: ", std::strerror(-rc)));
    return;
  }
  size_t buffer_bytes = options_.receive_buffers * options_.receive_buffer_size;
  void* mem =
      mmap(nullptr, buffer_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) {
    status_ = absl::ResourceExhaustedError("mmap of the receive buffers failed");
    return;
  }
  buffers_ = static_cast<char*>(mem);
  int mask = io_uring_buf_ring_mask(options_.receive_buffers);
  for (unsigned i = 0; i < options_.receive_buffers; ++i) {
    io_uring_buf_ring_add(buffer_ring_, buffers_ + i * options_.receive_buffer_size,
                          options_.receive_buffer_size, i, mask, i);
  }
  io_uring_buf_ring_advance(buffer_ring_, options_.receive_buffers);
}

int EventLoop::InitRing(unsigned submission_entries, unsigned completion_entries) {
  io_uring_params params{};
  params.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_CQSIZE;
  params.cq_entries = std::max(completion_entries, submission_entries);
  return io_uring_queue_init_params(submission_entries, &ring_, &params);
}

EventLoop::~EventLoop() {
  if (ring_ready_) io_uring_queue_exit(&ring_);
  if (buffers_ != nullptr)
    munmap(buffers_, options_.receive_buffers * options_.receive_buffer_size);
  if (buffer_ring_ != nullptr)
    munmap(buffer_ring_, options_.receive_buffers * sizeof(io_uring_buf));
  if (wake_fd_ >= 0) close(wake_fd_);
}

bool EventLoop::InLoopThread() const { return thread_id_.load() == ThisThreadId(); }

io_uring_sqe* EventLoop::NewSqe(CompletionHandler* handler, uint8_t tag) {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) {
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) return nullptr;
  }
  io_uring_sqe_set_data64(sqe, Pack(handler, tag));
  return sqe;
}

absl::string_view EventLoop::BufferData(uint16_t buffer_id, size_t length) const {
  return absl::string_view(buffers_ + buffer_id * options_.receive_buffer_size, length);
}

void EventLoop::ReturnBuffer(uint16_t buffer_id) {
  io_uring_buf_ring_add(buffer_ring_, buffers_ + buffer_id * options_.receive_buffer_size,
                        options_.receive_buffer_size, buffer_id,
                        io_uring_buf_ring_mask(options_.receive_buffers), 0);
  io_uring_buf_ring_advance(buffer_ring_, 1);
}

void EventLoop::ArmWakeup() {
  io_uring_sqe* sqe = NewSqe(wake_handler_.get(), 0);
  if (sqe != nullptr) io_uring_prep_read(sqe, wake_fd_, &wake_value_, sizeof(wake_value_), 0);
}

void EventLoop::Post(absl::AnyInvocable<void() &&> task) {
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    posted_.push_back(std::move(task));
  }
  uint64_t one = 1;
  ssize_t ignored = write(wake_fd_, &one, sizeof(one));
  (void)ignored;
}

void EventLoop::RunPosted() {
  std::vector<absl::AnyInvocable<void() &&>> tasks;
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    tasks.swap(posted_);
  }
  for (auto& task : tasks) std::move(task)();
}

void EventLoop::Stop() {
  stopping_.store(true);
  Post([] {});
}

void EventLoop::Run() {
  if (!status_.ok()) return;  // no ring to wait on
  thread_id_.store(ThisThreadId());
  ArmWakeup();
  RunPosted();
  while (!stopping_.load()) {
    io_uring_submit_and_wait(&ring_, 1);
    io_uring_cqe* cqe;
    unsigned head;
    unsigned seen = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      ++seen;
      uint64_t data = io_uring_cqe_get_data64(cqe);
      auto* handler = reinterpret_cast<CompletionHandler*>(data & ((1ULL << 56) - 1));
      uint8_t tag = static_cast<uint8_t>(data >> 56);
      io_uring_cqe copy = *cqe;
      if (handler != nullptr) handler->OnCompletion(tag, copy);
    }
    io_uring_cq_advance(&ring_, seen);
  }
  RunPosted();
  thread_id_.store(0);
}

}  // namespace cfs::net
