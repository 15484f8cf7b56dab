// Helpers the ObjectStore's synchronous and asynchronous halves share: how an object's stored
// metadata is stamped with the file's size and mtime (so a change made through NFS or SMB is
// noticed), and error shorthands. Internal to the s3 package.
//
// Example:
//   if (!StampMatches(meta, attributes)) { /* recompute the ETag */ }
#ifndef CFS_LIB_PROTOCOLS_S3_OBJECT_STORE_HELPERS_H_
#define CFS_LIB_PROTOCOLS_S3_OBJECT_STORE_HELPERS_H_

#include <openssl/rand.h>

#include <cstdint>
#include <functional>
#include <future>
#include <mutex>  // std::mutex: visible to ThreadSanitizer
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "lib/backend/errors.h"
#include "lib/backend/types.h"
#include "lib/protocols/s3/digests.h"
#include "lib/protocols/s3/object_meta.pb.h"
#include "lib/protocols/s3/s3_error.h"
#include "lib/protocols/s3/s3_result.h"

namespace cfs::s3::internal {

inline constexpr absl::string_view kUploadXattr = "user.cfs.s3.upload";
inline constexpr absl::string_view kPartXattr = "user.cfs.s3.part";
inline constexpr absl::string_view kAclXattr = "user.cfs.s3.acl";  // on a bucket: "public-read"
inline constexpr absl::string_view kAssembly = "assembly";  // an upload's in-place object file

// What one backend read asks for while streaming or digesting an object.
inline constexpr uint64_t kReadPiece = 1 << 20;

inline bool IsFsError(const absl::Status& status, backend::FsError error) {
  std::optional<backend::FsError> fs = backend::GetFsError(status);
  return fs.has_value() && *fs == error;
}

// `bytes` random bytes in hex: names of staging files and upload ids.
inline std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(raw.size()));
  return HexEncode(raw);
}

inline S3Error KeyConflict() {
  return S3Error::Make(409, "KeyConflict",
                       "A prefix of this key is an object, or the key is a prefix of other "
                       "keys; both cannot exist in the shared file namespace");
}

// Records the size and mtime the metadata (its ETag) describes.
inline void Stamp(ObjectMeta* meta, const backend::Attributes& attributes) {
  meta->set_size(attributes.size);
  meta->set_mtime_seconds(attributes.mtime.seconds);
  meta->set_mtime_nanos(attributes.mtime.nanos);
}

// True when the stored metadata still describes the file: nothing changed it outside S3.
inline bool StampMatches(const ObjectMeta& meta, const backend::Attributes& attributes) {
  return !meta.etag().empty() && meta.size() == attributes.size &&
         meta.mtime_seconds() == attributes.mtime.seconds &&
         meta.mtime_nanos() == attributes.mtime.nanos;
}

// Blocks until an asynchronous ObjectStore call answers: for the synchronous methods, which
// tests and start-up use (never a request path, never a loop or backend thread).
template <typename T, typename StartFn>
S3Or<T> Wait(StartFn&& start) {
  std::promise<S3Or<T>> result;  // std::promise: ThreadSanitizer sees through it
  std::future<S3Or<T>> done = result.get_future();
  start([&result](S3Or<T> value) { result.set_value(std::move(value)); });
  return done.get();
}

}  // namespace cfs::s3::internal

#endif  // CFS_LIB_PROTOCOLS_S3_OBJECT_STORE_HELPERS_H_
