// Buffer: owned payload bytes as a chain of reference-counted slices, the one type payloads
// travel in from the socket to the disk (like Envoy's Buffer::Instance or Ceph's bufferlist).
//
// A slice is a view of bytes plus a shared owner that keeps them alive: a receive buffer, an
// RPC record, a string the Buffer adopted, or a block the Buffer allocated for appended copies.
// Moving bytes between Buffers (Append of a Buffer, Take, Sub) moves or shares slices and never
// copies bytes; only AppendCopy and Flatten of a chain of several slices copy. The bytes a slice
// shows never change once appended, so copies of a Buffer (which share slices) may be read on
// several threads at once.
//
// Thread-compatible: one Buffer is used by one thread at a time; distinct Buffers sharing
// slices may be used on different threads.
//
// Example:
//   cfs::Buffer body = cfs::Buffer::Adopt(std::move(received));  // no copy
//   cfs::Buffer head = body.Take(8);                               // shares, no copy
//   for (const cfs::Buffer::Slice& s : body.slices()) Digest(s.bytes);
//   backend.Write(ctx, inode, 0, std::move(body), Stability::kFileSync, done);

#ifndef CFS_LIB_COMMON_BUFFER_H_
#define CFS_LIB_COMMON_BUFFER_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/container/inlined_vector.h"
#include "absl/strings/string_view.h"

namespace cfs {

class Buffer {
 public:
  // One contiguous piece: `bytes` stay valid while `owner` lives.
  struct Slice {
    std::shared_ptr<const void> owner;
    absl::string_view bytes;
  };
  using Slices = absl::InlinedVector<Slice, 2>;

  Buffer() = default;
  // Copies share the slices (reference counts, no bytes); a copy never appends into the
  // original's growing block.
  Buffer(const Buffer& other) : slices_(other.slices_), size_(other.size_) {}
  Buffer& operator=(const Buffer& other);
  Buffer(Buffer&& other) noexcept;
  Buffer& operator=(Buffer&& other) noexcept;

  // A Buffer that owns `bytes` (moved in, not copied).
  static Buffer Adopt(std::string bytes);
  // A Buffer of a copy of `bytes`.
  static Buffer CopyOf(absl::string_view bytes);
  // A Buffer viewing `bytes`, which `owner` keeps alive (an RPC record, a receive buffer).
  static Buffer Wrap(std::shared_ptr<const void> owner, absl::string_view bytes);

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const Slices& slices() const { return slices_; }

  // Moves `other`'s slices to the end of this one (no bytes copied).
  void Append(Buffer other);
  // Copies `bytes` to the end, into this Buffer's growing block (new blocks of at least
  // 4 KiB, so many small appends make few slices).
  void AppendCopy(absl::string_view bytes);
  // Appends `bytes` as one more slice (moved in, not copied).
  void AppendAdopted(std::string bytes);

  // Removes the first min(n, size()) bytes and returns them; a slice cut in two is shared by
  // both halves.
  Buffer Take(size_t n);
  // Drops the first min(n, size()) bytes.
  void Drain(size_t n);
  // Drops everything.
  void Clear();
  // The bytes [offset, offset + n) clipped to size(), sharing slices with this one.
  Buffer Sub(size_t offset, size_t n) const;

  // Copies bytes [offset, offset + n) clipped to size() to `out`; returns how many.
  size_t CopyOut(size_t offset, size_t n, char* out) const;
  // The byte at `offset` (< size()).
  char At(size_t offset) const;
  // The offset of the first `c` at or after `from`, or npos.
  size_t Find(char c, size_t from = 0) const;
  static constexpr size_t npos = static_cast<size_t>(-1);

  // All bytes as one string (a copy).
  std::string ToString() const;
  // Makes the bytes one slice (copying only when there are several) and returns them.
  absl::string_view Flatten();
  // True when the bytes equal `bytes` (for tests and small comparisons).
  bool Equals(absl::string_view bytes) const;

 private:
  struct Block;
  void PushSlice(Slice slice);

  Slices slices_;
  size_t size_ = 0;
  // The block AppendCopy writes into; the last slice ends at its fill mark while it is set.
  std::shared_ptr<Block> tail_block_;
};

}  // namespace cfs

#endif  // CFS_LIB_COMMON_BUFFER_H_
