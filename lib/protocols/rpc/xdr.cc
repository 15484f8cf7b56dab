#include "lib/protocols/rpc/xdr.h"

namespace cfs::rpc {
namespace {
size_t Padding(size_t n) { return (4 - (n & 3)) & 3; }
}  // namespace

bool XdrReader::Need(size_t n) {
  if (!ok_ || data_.size() - pos_ < n) ok_ = false;
  return ok_;
}

uint32_t XdrReader::U32() {
  if (!Need(4)) return 0;
  const auto* p = reinterpret_cast<const uint8_t*>(data_.data() + pos_);
  pos_ += 4;
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

uint64_t XdrReader::U64() {
  uint64_t high = U32();
  uint64_t low = U32();
  return (high << 32) | low;
}

bool XdrReader::Bool() {
  uint32_t v = U32();
  if (v > 1) ok_ = false;
  return v == 1;
}

std::string XdrReader::FixedOpaque(size_t n) {
  if (!Need(n + Padding(n))) return "";
  std::string out(data_.substr(pos_, n));
  pos_ += n + Padding(n);
  return out;
}

absl::string_view XdrReader::OpaqueView(size_t max) {
  uint32_t n = U32();
  if (!ok_ || n > max) {
    ok_ = false;
    return {};
  }
  if (!Need(n + Padding(n))) return {};
  absl::string_view out = data_.substr(pos_, n);
  pos_ += n + Padding(n);
  return out;
}

std::string XdrReader::Opaque(size_t max) {
  uint32_t n = U32();
  if (!ok_) return "";
  if (n > max) {
    ok_ = false;
    return "";
  }
  return FixedOpaque(n);
}

void XdrWriter::U32(uint32_t v) {
  char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
               static_cast<char>(v)};
  out_->append(b, 4);
}

void XdrWriter::U64(uint64_t v) {
  U32(static_cast<uint32_t>(v >> 32));
  U32(static_cast<uint32_t>(v));
}

void XdrWriter::FixedOpaque(absl::string_view bytes) {
  out_->append(bytes.data(), bytes.size());
  out_->append(Padding(bytes.size()), '\0');
}

void XdrWriter::Opaque(absl::string_view bytes) {
  U32(static_cast<uint32_t>(bytes.size()));
  FixedOpaque(bytes);
}

void XdrWriter::Raw(absl::string_view bytes) { out_->append(bytes.data(), bytes.size()); }

}  // namespace cfs::rpc
