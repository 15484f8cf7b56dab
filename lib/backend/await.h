// Await: call an asynchronous SPI method and block until its callback runs.
//
// For tests, tools and start-up code only: never call it on a network loop thread.
//
// Example:
//   absl::StatusOr<Attributes> root = Await<Attributes>(
//       [&](Callback<Attributes> done) { backend.GetAttr(ctx, kRootInode, std::move(done)); });

#ifndef CFS_LIB_BACKEND_AWAIT_H_
#define CFS_LIB_BACKEND_AWAIT_H_

#include <optional>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "lib/backend/callback.h"

namespace cfs::backend {

template <typename T, typename StartFn>
absl::StatusOr<T> Await(StartFn&& start) {
  absl::Notification finished;
  std::optional<absl::StatusOr<T>> result;
  start(Callback<T>([&](absl::StatusOr<T> value) {
    result.emplace(std::move(value));
    finished.Notify();
  }));
  finished.WaitForNotification();
  return std::move(*result);
}

}  // namespace cfs::backend

#endif  // CFS_LIB_BACKEND_AWAIT_H_
