// ExtentStore: the bytes of each regular file, in one sparse file per inode on the local file
// system (`<root>/<last two hex digits>/<inode as 16 hex digits>`).
//
// Files are created on first write; holes stay holes (the extent map reports them via
// SEEK_DATA/SEEK_HOLE). Open descriptors are cached, bounded; an evicted descriptor closes when
// its last in-flight user finishes. Thread-safe: concurrent reads and writes of one inode are
// passed straight to pread/pwrite.
//
// Example:
//   auto store = ExtentStore::Open("/var/lib/cfs/data");
//   CFS_RETURN_IF_ERROR((*store)->Write(42, 0, "hello"));
//   CFS_RETURN_IF_ERROR((*store)->Sync(42));

#ifndef CFS_LIB_BACKENDS_EMBEDDED_EXTENT_STORE_H_
#define CFS_LIB_BACKENDS_EMBEDDED_EXTENT_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>  // std::mutex: visible to ThreadSanitizer (Debian's Abseil is not instrumented)
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/backend/types.h"
#include "lib/common/buffer.h"

namespace cfs::embedded {

// What a cache-only read returns where it would have waited for the disk or a lock.
absl::Status WouldBlock();
bool IsWouldBlock(const absl::Status& status);

class ExtentStore {
 public:
  // Creates `root` if missing. Errors: the errno-derived FsError of mkdir.
  static absl::StatusOr<std::unique_ptr<ExtentStore>> Open(std::string root,
                                                           size_t max_open_files = 1024);
  ~ExtentStore();

  // Reads up to `count` bytes at `offset` into `out` (resized to what was read: less at the
  // end of the file; nothing when there is no file yet).
  // With `cache_only`, only bytes already in the page cache are read (RWF_NOWAIT); otherwise it
  // fails with WouldBlock().
  absl::Status Read(backend::InodeNumber inode, uint64_t offset, uint64_t count, std::string* out,
                    bool cache_only = false);
  // Writes the slices of `data` at `offset` (pwritev, no copy). Errors: kNoSpace, kQuota,
  // kTooBig, kIo.
  absl::Status Write(backend::InodeNumber inode, uint64_t offset, const Buffer& data);
  // The same for bytes the caller holds.
  absl::Status Write(backend::InodeNumber inode, uint64_t offset, absl::string_view data) {
    return Write(inode, offset, Buffer::Wrap(nullptr, data));
  }
  // fdatasync of the inode's file (nothing to do when it has none).
  absl::Status Sync(backend::InodeNumber inode);
  // Sets the file's length (creates it when growing from nothing).
  absl::Status Truncate(backend::InodeNumber inode, uint64_t size);
  // Deletes the inode's file (missing is fine).
  absl::Status Remove(backend::InodeNumber inode);
  // Bytes allocated on disk (0 when there is no file).
  uint64_t SpaceUsed(backend::InodeNumber inode);
  // The file's current length (0 when there is no file).
  uint64_t Length(backend::InodeNumber inode);
  // Data and hole ranges within [offset, min(offset + length, file_size)).
  absl::StatusOr<std::vector<backend::Extent>> Map(backend::InodeNumber inode, uint64_t offset,
                                                   uint64_t length, uint64_t file_size);
  // Every inode that has a file (for recovery).
  std::vector<backend::InodeNumber> ListInodes() const;

  const std::string& root() const { return root_; }

 private:
  class OpenFile;
  ExtentStore(std::string root, size_t max_open_files);
  std::string PathOf(backend::InodeNumber inode) const;
  // The cached descriptor, opening (and with `create`, creating) the file. Null with OK status
  // when the file does not exist and `create` is false.
  absl::StatusOr<std::shared_ptr<OpenFile>> Get(backend::InodeNumber inode, bool create);

  const std::string root_;
  const size_t max_open_files_;
  std::mutex mu_;
  std::map<backend::InodeNumber, std::shared_ptr<OpenFile>> open_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cfs::embedded

#endif  // CFS_LIB_BACKENDS_EMBEDDED_EXTENT_STORE_H_
