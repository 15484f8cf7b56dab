// DataService: the A4 contract, the byte half of the backend SPI.
//
// Reads and writes of regular files by inode, with NFS-style write stability. Implementations
// are thread-safe; every call completes through its callback exactly once. Permission checks
// are the backend's: read needs read permission, write needs write permission, exactly as POSIX
// decides them from the mode bits (root may read and write anything).
//
// Errors common to every call: kStale, kIsDirectory, kInvalid (not a regular file), kAccess,
// kDeadlineExceeded, kUnavailable, kIo.
//
// Example:
//   backend.Write(ctx, inode, 0, cfs::Buffer::CopyOf("hello"), Stability::kFileSync,
//                 [](absl::StatusOr<WriteResult> r) { ... });

#ifndef CFS_LIB_BACKEND_DATA_SERVICE_H_
#define CFS_LIB_BACKEND_DATA_SERVICE_H_

#include <cstdint>

#include "lib/backend/callback.h"
#include "lib/backend/types.h"
#include "lib/common/buffer.h"

namespace cfs::backend {

class DataService {
 public:
  virtual ~DataService() = default;

  // Up to `count` bytes at `offset`; holes read as zeros; eof when the read reaches the end.
  virtual void Read(const RequestContext& ctx, InodeNumber inode, uint64_t offset, uint64_t count,
                    Callback<ReadResult> done) = 0;

  // Writes `data` at `offset`, extending the file as needed. The backend owns `data` from here
  // (its slices stay alive until it has written them; it never needs to copy them to outlive
  // the call). The result says the stability reached, at least `stability`. Errors: kNoSpace,
  // kQuota, kTooBig (offset + size beyond the maximum file size).
  virtual void Write(const RequestContext& ctx, InodeNumber inode, uint64_t offset, Buffer data,
                     Stability stability, Callback<WriteResult> done) = 0;

  // Makes every earlier write to `inode` stable (count 0 means to the end of the file).
  virtual void Commit(const RequestContext& ctx, InodeNumber inode, uint64_t offset, uint64_t count,
                      Callback<CommitResult> done) = 0;

  // The current write verifier; it changes whenever the service restarts.
  virtual WriteVerifier CurrentWriteVerifier() const = 0;
};

}  // namespace cfs::backend

#endif  // CFS_LIB_BACKEND_DATA_SERVICE_H_
