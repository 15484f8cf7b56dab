// Await: call an asynchronous SPI method and block until its callback runs.
//
// For tests, tools and start-up code only: never call it on a network loop thread.
//
// Example:
//   absl::StatusOr<Attributes> root = Await<Attributes>(
//       [&](Callback<Attributes> done) { backend.GetAttr(ctx, kRootInode, std::move(done)); });

#ifndef CFS_LIB_BACKEND_AWAIT_H_
#define CFS_LIB_BACKEND_AWAIT_H_

#include <future>
#include <utility>

#include "absl/status/statusor.h"
#include "lib/backend/callback.h"

namespace cfs::backend {

template <typename T, typename StartFn>
absl::StatusOr<T> Await(StartFn&& start) {
  // std::promise rather than absl::Notification: ThreadSanitizer sees through it.
  std::promise<absl::StatusOr<T>> result;
  std::future<absl::StatusOr<T>> done = result.get_future();
  start(Callback<T>([&result](absl::StatusOr<T> value) { result.set_value(std::move(value)); }));
  return done.get();
}

}  // namespace cfs::backend

#endif  // CFS_LIB_BACKEND_AWAIT_H_
