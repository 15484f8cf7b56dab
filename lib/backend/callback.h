// Completion callbacks of the asynchronous backend SPI.
//
// Every SPI call takes a Callback<T> and invokes it exactly once, possibly before the call
// returns and possibly on another thread. Callers must not block a network loop inside it.
//
// Example:
//   metadata.GetAttr(ctx, inode, [](absl::StatusOr<Attributes> attrs) { ... });

#ifndef CFS_LIB_BACKEND_CALLBACK_H_
#define CFS_LIB_BACKEND_CALLBACK_H_

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"

namespace cfs::backend {

// Stand-in value for calls that return only success or failure.
struct Done {};

template <typename T>
using Callback = absl::AnyInvocable<void(absl::StatusOr<T>) &&>;

}  // namespace cfs::backend

#endif  // CFS_LIB_BACKEND_CALLBACK_H_
