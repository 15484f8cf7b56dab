#include "lib/common/buffer.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace cfs {

namespace {
constexpr size_t kMinBlockBytes = 4096;
}  // namespace

// A block of appended copies; bytes [0, used) are written and never change again.
struct Buffer::Block {
  explicit Block(size_t n) : data(new char[n]), capacity(n) {}
  std::unique_ptr<char[]> data;
  size_t capacity;
  size_t used = 0;
};

Buffer& Buffer::operator=(const Buffer& other) {
  if (this != &other) {
    slices_ = other.slices_;
    size_ = other.size_;
    tail_block_.reset();
  }
  return *this;
}

Buffer::Buffer(Buffer&& other) noexcept
    : slices_(std::move(other.slices_)),
      size_(other.size_),
      tail_block_(std::move(other.tail_block_)) {
  other.slices_.clear();
  other.size_ = 0;
}

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this != &other) {
    slices_ = std::move(other.slices_);
    size_ = other.size_;
    tail_block_ = std::move(other.tail_block_);
    other.slices_.clear();
    other.size_ = 0;
  }
  return *this;
}

Buffer Buffer::Adopt(std::string bytes) {
  Buffer b;
  b.AppendAdopted(std::move(bytes));
  return b;
}

Buffer Buffer::CopyOf(absl::string_view bytes) {
  Buffer b;
  b.AppendCopy(bytes);
  return b;
}

Buffer Buffer::Wrap(std::shared_ptr<const void> owner, absl::string_view bytes) {
  Buffer b;
  b.PushSlice(Slice{std::move(owner), bytes});
  return b;
}

void Buffer::PushSlice(Slice slice) {
  if (slice.bytes.empty()) return;
  size_ += slice.bytes.size();
  slices_.push_back(std::move(slice));
}

void Buffer::Append(Buffer other) {
  if (slices_.empty()) {
    *this = std::move(other);
    return;
  }
  for (Slice& s : other.slices_) PushSlice(std::move(s));
  other.slices_.clear();
  other.size_ = 0;
  if (other.tail_block_ != nullptr) tail_block_ = std::move(other.tail_block_);
}

void Buffer::AppendCopy(absl::string_view bytes) {
  while (!bytes.empty()) {
    Block* block = tail_block_.get();
    bool extends_last = block != nullptr && !slices_.empty() &&
                        slices_.back().owner.get() == static_cast<const void*>(block) &&
                        slices_.back().bytes.data() + slices_.back().bytes.size() ==
                            block->data.get() + block->used;
    if (!extends_last || block->used == block->capacity) {
      tail_block_ = std::make_shared<Block>(std::max(kMinBlockBytes, bytes.size()));
      block = tail_block_.get();
      slices_.push_back(Slice{std::shared_ptr<const void>(tail_block_, tail_block_.get()),
                              absl::string_view(block->data.get(), 0)});
    }
    size_t n = std::min(bytes.size(), block->capacity - block->used);
    std::memcpy(block->data.get() + block->used, bytes.data(), n);
    Slice& last = slices_.back();
    last.bytes = absl::string_view(last.bytes.data(), last.bytes.size() + n);
    block->used += n;
    size_ += n;
    bytes.remove_prefix(n);
  }
}

void Buffer::AppendAdopted(std::string bytes) {
  if (bytes.empty()) return;
  if (bytes.size() < 256) return AppendCopy(bytes);  // cheaper than one more slice
  auto owner = std::make_shared<const std::string>(std::move(bytes));
  absl::string_view view = *owner;
  PushSlice(Slice{std::move(owner), view});
}

Buffer Buffer::Take(size_t n) {
  Buffer taken;
  n = std::min(n, size_);
  size_t whole = 0;
  while (whole < slices_.size() && slices_[whole].bytes.size() <= n) {
    n -= slices_[whole].bytes.size();
    taken.PushSlice(std::move(slices_[whole]));
    ++whole;
  }
  slices_.erase(slices_.begin(), slices_.begin() + whole);
  if (n > 0) {
    Slice& first = slices_.front();
    taken.PushSlice(Slice{first.owner, first.bytes.substr(0, n)});
    first.bytes.remove_prefix(n);
  }
  size_ -= taken.size_;
  if (slices_.empty()) tail_block_.reset();
  return taken;
}

void Buffer::Drain(size_t n) { Take(n); }

void Buffer::Clear() {
  slices_.clear();
  size_ = 0;
  tail_block_.reset();
}

Buffer Buffer::Sub(size_t offset, size_t n) const {
  Buffer sub;
  if (offset >= size_) return sub;
  n = std::min(n, size_ - offset);
  for (const Slice& s : slices_) {
    if (n == 0) break;
    if (offset >= s.bytes.size()) {
      offset -= s.bytes.size();
      continue;
    }
    size_t k = std::min(n, s.bytes.size() - offset);
    sub.PushSlice(Slice{s.owner, s.bytes.substr(offset, k)});
    offset = 0;
    n -= k;
  }
  return sub;
}

size_t Buffer::CopyOut(size_t offset, size_t n, char* out) const {
  size_t copied = 0;
  if (offset >= size_) return 0;
  n = std::min(n, size_ - offset);
  for (const Slice& s : slices_) {
    if (copied == n) break;
    if (offset >= s.bytes.size()) {
      offset -= s.bytes.size();
      continue;
    }
    size_t k = std::min(n - copied, s.bytes.size() - offset);
    std::memcpy(out + copied, s.bytes.data() + offset, k);
    copied += k;
    offset = 0;
  }
  return copied;
}

char Buffer::At(size_t offset) const {
  for (const Slice& s : slices_) {
    if (offset < s.bytes.size()) return s.bytes[offset];
    offset -= s.bytes.size();
  }
  return '\0';
}

size_t Buffer::Find(char c, size_t from) const {
  size_t base = 0;
  for (const Slice& s : slices_) {
    if (from < base + s.bytes.size()) {
      size_t start = from > base ? from - base : 0;
      size_t at = s.bytes.find(c, start);
      if (at != absl::string_view::npos) return base + at;
    }
    base += s.bytes.size();
  }
  return npos;
}

std::string Buffer::ToString() const {
  std::string out;
  out.resize(size_);
  CopyOut(0, size_, out.data());
  return out;
}

absl::string_view Buffer::Flatten() {
  if (slices_.empty()) return absl::string_view();
  if (slices_.size() > 1) *this = Adopt(ToString());
  return slices_.front().bytes;
}

bool Buffer::Equals(absl::string_view bytes) const {
  if (bytes.size() != size_) return false;
  for (const Slice& s : slices_) {
    if (bytes.substr(0, s.bytes.size()) != s.bytes) return false;
    bytes.remove_prefix(s.bytes.size());
  }
  return true;
}

}  // namespace cfs
