#include "lib/server/handle_key.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "lib/backend/errors.h"
#include "lib/backend/file_handle.h"

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
  std::string tmp = path + ".tmp";
  fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return backend::ErrnoStatus(errno, absl::StrCat("create ", tmp));
  bool ok = write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size()) && fsync(fd) == 0;
  int err = errno;
  close(fd);
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    if (ok) err = errno;
    return backend::ErrnoStatus(err, absl::StrCat("write ", path));
  }
  int dir = open(data_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    fsync(dir);
    close(dir);
  }
  return key;
}

}  // namespace cfs::server
