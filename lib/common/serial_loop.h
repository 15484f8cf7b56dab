// SerialLoop: drives an asynchronous loop whose step may be answered at once (in the same call)
// or later on another thread, without growing the stack.
//
// Continue() runs the step now, or, when a step is running (this one called back at once), makes
// that step's caller run it again when it returns. A step starts at most one asynchronous call
// and calls Continue() from its callback (or ends the loop by not calling it).
//
// Ownership: the owner of the loop's state owns the SerialLoop; the step must not outlive it
// (capture a weak or shared reference to the state). Thread-safe.
//
// Example:
//   auto loop = std::make_shared<SerialLoop>(...);  // the step reads the next page:
//   //   backend.ReadDir(..., [state](auto page) { ...; state->loop->Continue(); });
//   loop->Continue();
#ifndef CFS_LIB_COMMON_SERIAL_LOOP_H_
#define CFS_LIB_COMMON_SERIAL_LOOP_H_

#include <functional>
#include <mutex>  // std::mutex: visible to ThreadSanitizer (Debian's Abseil is not instrumented)
#include <utility>

namespace cfs {

class SerialLoop {
 public:
  explicit SerialLoop(std::function<void()> step) : step_(std::move(step)) {}

  void Continue() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (running_) {
        again_ = true;
        return;
      }
      running_ = true;
    }
    while (true) {
      step_();
      std::lock_guard<std::mutex> lock(mu_);
      if (!again_) {
        running_ = false;
        return;
      }
      again_ = false;
    }
  }

 private:
  std::function<void()> step_;
  std::mutex mu_;
  bool running_ = false;
  bool again_ = false;
};

}  // namespace cfs

#endif  // CFS_LIB_COMMON_SERIAL_LOOP_H_
