#include "lib/server/handle_key.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "lib/backend/errors.h"
#include "lib/backend/file_handle.h"
#include "lib/common/durable_file.h"

namespace cfs::server {

absl::StatusOr<std::string> LoadOrCreateHandleKey(const std::string& data_dir) {
  std::string path = data_dir + "/file_handle.key";
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    std::string key(256, '\0');
    ssize_t n = read(fd, key.data(), key.size());
    int err = errno;
    close(fd);
    if (n < 0) return backend::ErrnoStatus(err, absl::StrCat("read ", path));
    if (static_cast<size_t>(n) < backend::FileHandleCodec::kMinKeySize) {
      return absl::DataLossError(absl::StrCat(path, " is too short to be a file-handle key"));
    }
    key.resize(n);
    return key;
  }
  if (errno != ENOENT) return backend::ErrnoStatus(errno, absl::StrCat("open ", path));
  std::string key = backend::FileHandleCodec::GenerateKey();
  absl::Status written = WriteFileDurably(path, key);
  if (!written.ok()) return written;
  return key;
}

}  // namespace cfs::server
