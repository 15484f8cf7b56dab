// XDR (RFC 4506) encoding and decoding as pure functions over byte spans.
//
// XdrReader reads big-endian items from a span; the first malformed or truncated item makes it
// fail for good (ok() false) and every later read returns a zero value, so decoders read a whole
// structure and check ok() once. XdrWriter appends to a string. Both are thread-compatible.
//
// Example:
//   XdrReader in(bytes);
//   uint32_t xid = in.U32();
//   std::string name = in.String(255);
//   if (!in.ok()) return GarbageArgs();

#ifndef CFS_LIB_PROTOCOLS_RPC_XDR_H_
#define CFS_LIB_PROTOCOLS_RPC_XDR_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace cfs::rpc {

class XdrReader {
 public:
  explicit XdrReader(absl::string_view data) : data_(data) {}

  uint32_t U32();
  int32_t I32() { return static_cast<int32_t>(U32()); }
  uint64_t U64();
  bool Bool();  // only 0 and 1 are valid
  // Fixed-length opaque of `n` bytes (plus padding to 4).
  std::string FixedOpaque(size_t n);
  // Variable-length opaque/string of at most `max` bytes; a longer one fails the reader.
  std::string Opaque(size_t max);
  std::string String(size_t max) { return Opaque(max); }
  // As Opaque, but a view into the input (valid while the input is).
  absl::string_view OpaqueView(size_t max);
  // Makes the reader fail (for semantic errors found by the caller).
  void Fail() { ok_ = false; }

  bool ok() const { return ok_; }
  size_t remaining() const { return ok_ ? data_.size() - pos_ : 0; }
  size_t position() const { return pos_; }
  absl::string_view Rest() const { return ok_ ? data_.substr(pos_) : absl::string_view(); }

 private:
  bool Need(size_t n);

  absl::string_view data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

class XdrWriter {
 public:
  XdrWriter() = default;
  explicit XdrWriter(std::string* out) : out_(out) {}

  void U32(uint32_t v);
  void I32(int32_t v) { U32(static_cast<uint32_t>(v)); }
  void U64(uint64_t v);
  void Bool(bool v) { U32(v ? 1 : 0); }
  void FixedOpaque(absl::string_view bytes);  // pads to 4
  void Opaque(absl::string_view bytes);       // length, bytes, padding
  void String(absl::string_view s) { Opaque(s); }
  void Raw(absl::string_view bytes);  // already-encoded XDR

  std::string& buffer() { return *out_; }
  std::string Release() { return std::move(*out_); }

 private:
  std::string own_;
  std::string* out_ = &own_;
};

}  // namespace cfs::rpc

#endif  // CFS_LIB_PROTOCOLS_RPC_XDR_H_
