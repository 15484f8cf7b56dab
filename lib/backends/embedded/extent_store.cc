#include "lib/backends/embedded/extent_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lib/backend/errors.h"

namespace cfs::embedded {

using backend::ErrnoStatus;
using backend::Extent;
using backend::InodeNumber;

namespace {
constexpr size_t kEarlyWritebackBytes = 256 * 1024;
}  // namespace

absl::Status WouldBlock() { return absl::UnavailableError("cfs-embedded: would block"); }

bool IsWouldBlock(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable &&
         status.message() == "cfs-embedded: would block";
}

class ExtentStore::OpenFile {
 public:
  explicit OpenFile(int fd) : fd_(fd) {}
  ~OpenFile() { close(fd_); }
  int fd() const { return fd_; }

 private:
  const int fd_;
};

absl::StatusOr<std::unique_ptr<ExtentStore>> ExtentStore::Open(std::string root,
                                                               size_t max_open_files) {
  if (mkdir(root.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoStatus(errno, absl::StrCat("mkdir ", root));
  }
  return std::unique_ptr<ExtentStore>(new ExtentStore(std::move(root), max_open_files));
}

ExtentStore::ExtentStore(std::string root, size_t max_open_files)
    : root_(std::move(root)), max_open_files_(max_open_files) {}

ExtentStore::~ExtentStore() = default;

std::string ExtentStore::PathOf(InodeNumber inode) const {
  return absl::StrFormat("%s/%02x/%016x", root_, inode & 0xff, inode);
}

absl::StatusOr<std::shared_ptr<ExtentStore::OpenFile>> ExtentStore::Get(InodeNumber inode,
                                                                        bool create) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = open_.find(inode);
    if (it != open_.end()) return it->second;
  }
  std::string path = PathOf(inode);
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    if (!create) return std::shared_ptr<OpenFile>();
    std::string dir = absl::StrFormat("%s/%02x", root_, inode & 0xff);
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return ErrnoStatus(errno, absl::StrCat("mkdir ", dir));
    }
    fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  }
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("open ", path));
  auto file = std::make_shared<OpenFile>(fd);
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, inserted] = open_.emplace(inode, file);
  if (!inserted) return it->second;  // another thread opened it first; ours closes now
  if (open_.size() > max_open_files_) {
    // Evict some other descriptor; users holding it keep it open until they finish.
    auto victim = open_.begin();
    if (victim->first == inode) ++victim;
    open_.erase(victim);
  }
  return file;
}

absl::Status ExtentStore::Read(InodeNumber inode, uint64_t offset, uint64_t count, std::string* out,
                               bool cache_only) {
  out->clear();
  absl::StatusOr<std::shared_ptr<OpenFile>> file = Get(inode, /*create=*/false);
  if (!file.ok()) return file.status();
  if (*file == nullptr || count == 0) return absl::OkStatus();
  out->resize(count);
  size_t done = 0;
  while (done < count) {
    iovec iov{out->data() + done, count - done};
    ssize_t n = preadv2((*file)->fd(), &iov, 1, static_cast<off_t>(offset + done),
                        cache_only ? RWF_NOWAIT : 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN && cache_only) {
        return WouldBlock();
      }
      return ErrnoStatus(errno, "pread");
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  out->resize(done);
  return absl::OkStatus();
}

absl::Status ExtentStore::Write(InodeNumber inode, uint64_t offset, const Buffer& data) {
  absl::StatusOr<std::shared_ptr<OpenFile>> file = Get(inode, /*create=*/true);
  if (!file.ok()) return file.status();
  const Buffer::Slices& slices = data.slices();
  size_t first = 0;  // the first slice not yet written whole
  size_t skip = 0;   // bytes of it already written
  uint64_t at = offset;
  while (first < slices.size()) {
    constexpr int kMaxIov = 64;  // well under IOV_MAX
    iovec iov[kMaxIov];
    int n_iov = 0;
    for (size_t i = first; i < slices.size() && n_iov < kMaxIov; ++i) {
      absl::string_view bytes = slices[i].bytes;
      if (i == first) bytes.remove_prefix(skip);
      iov[n_iov++] = iovec{const_cast<char*>(bytes.data()), bytes.size()};
    }
    ssize_t n = pwritev((*file)->fd(), iov, n_iov, static_cast<off_t>(at));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "pwritev");
    }
    at += static_cast<uint64_t>(n);
    size_t left = static_cast<size_t>(n);
    while (first < slices.size() && left >= slices[first].bytes.size() - skip) {
      left -= slices[first].bytes.size() - skip;
      skip = 0;
      ++first;
    }
    skip += left;
  }
  if (data.size() >= kEarlyWritebackBytes) {
    // Start writing large writes back now, without waiting: a later COMMIT (or fdatasync)
    // then finds most of the data already on disk instead of flushing it all at once.
    sync_file_range((*file)->fd(), static_cast<off_t>(offset), static_cast<off_t>(data.size()),
                    SYNC_FILE_RANGE_WRITE);
  }
  return absl::OkStatus();
}

absl::Status ExtentStore::Sync(InodeNumber inode) {
  absl::StatusOr<std::shared_ptr<OpenFile>> file = Get(inode, /*create=*/false);
  if (!file.ok()) return file.status();
  if (*file == nullptr) return absl::OkStatus();
  if (fdatasync((*file)->fd()) != 0) return ErrnoStatus(errno, "fdatasync");
  return absl::OkStatus();
}

absl::Status ExtentStore::Truncate(InodeNumber inode, uint64_t size) {
  absl::StatusOr<std::shared_ptr<OpenFile>> file = Get(inode, /*create=*/size > 0);
  if (!file.ok()) return file.status();
  if (*file == nullptr) return absl::OkStatus();
  if (ftruncate((*file)->fd(), static_cast<off_t>(size)) != 0) {
    return ErrnoStatus(errno, "ftruncate");
  }
  return absl::OkStatus();
}

absl::Status ExtentStore::Remove(InodeNumber inode) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    open_.erase(inode);
  }
  std::string path = PathOf(inode);
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, absl::StrCat("unlink ", path));
  }
  return absl::OkStatus();
}

uint64_t ExtentStore::SpaceUsed(InodeNumber inode) {
  absl::StatusOr<std::shared_ptr<OpenFile>> file = Get(inode, /*create=*/false);
  struct stat st;
  if (!file.ok() || *file == nullptr || fstat((*file)->fd(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

uint64_t ExtentStore::Length(InodeNumber inode) {
  absl::StatusOr<std::shared_ptr<OpenFile>> file = Get(inode, /*create=*/false);
  struct stat st;
  if (!file.ok() || *file == nullptr || fstat((*file)->fd(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_size);
}

absl::StatusOr<std::vector<Extent>> ExtentStore::Map(InodeNumber inode, uint64_t offset,
                                                     uint64_t length, uint64_t file_size) {
  std::vector<Extent> extents;
  uint64_t end = length > file_size - std::min(offset, file_size) ? file_size : offset + length;
  if (offset >= end) return extents;
  absl::StatusOr<std::shared_ptr<OpenFile>> file = Get(inode, /*create=*/false);
  if (!file.ok()) return file.status();
  auto add = [&](uint64_t from, uint64_t to, bool hole) {
    if (from >= to) return;
    if (!extents.empty() && extents.back().hole == hole) {
      extents.back().length = to - extents.back().offset;
      return;
    }
    Extent e;
    e.offset = from;
    e.length = to - from;
    e.hole = hole;
    e.data_server = hole ? "" : "local";
    extents.push_back(e);
  };
  if (*file == nullptr) {
    add(offset, end, /*hole=*/true);
    return extents;
  }
  int fd = (*file)->fd();
  uint64_t pos = offset;
  while (pos < end) {
    off_t data = lseek(fd, static_cast<off_t>(pos), SEEK_DATA);
    if (data < 0) {
      if (errno != ENXIO) return ErrnoStatus(errno, "lseek SEEK_DATA");
      add(pos, end, /*hole=*/true);  // no data after pos within the file
      break;
    }
    uint64_t data_start = std::min<uint64_t>(static_cast<uint64_t>(data), end);
    add(pos, data_start, /*hole=*/true);
    if (data_start >= end) break;
    off_t hole = lseek(fd, data, SEEK_HOLE);
    if (hole < 0) return ErrnoStatus(errno, "lseek SEEK_HOLE");
    uint64_t data_end = std::min<uint64_t>(static_cast<uint64_t>(hole), end);
    add(data_start, data_end, /*hole=*/false);
    pos = data_end;
  }
  return extents;
}

std::vector<InodeNumber> ExtentStore::ListInodes() const {
  std::vector<InodeNumber> inodes;
  DIR* top = opendir(root_.c_str());
  if (top == nullptr) return inodes;
  while (dirent* bucket = readdir(top)) {
    std::string bucket_name = bucket->d_name;
    if (bucket_name.size() != 2) continue;
    std::string bucket_path = absl::StrCat(root_, "/", bucket_name);
    DIR* files = opendir(bucket_path.c_str());
    if (files == nullptr) continue;
    while (dirent* f = readdir(files)) {
      uint64_t inode;
      std::string name = f->d_name;
      if (name.size() == 16 && absl::SimpleHexAtoi(name, &inode)) inodes.push_back(inode);
    }
    closedir(files);
  }
  closedir(top);
  return inodes;
}

}  // namespace cfs::embedded
