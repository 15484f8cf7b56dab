#include "lib/backends/embedded/inode_record.h"

#include "absl/strings/str_cat.h"

namespace cfs::embedded {
namespace {

// Version 2 appended Attributes::flags; version 1 records (no flags) still load.
constexpr uint8_t kInodeVersion = 2;
constexpr uint8_t kInodeVersionWithoutFlags = 1;

void PutU64(uint64_t v, std::string* out) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void PutU32(uint32_t v, std::string* out) {
  for (int i = 3; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void PutBytes(absl::string_view bytes, std::string* out) {
  PutU32(static_cast<uint32_t>(bytes.size()), out);
  out->append(bytes.data(), bytes.size());
}

uint64_t ReadU64At(absl::string_view in, size_t pos) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in[pos + i]);
  return v;
}

// Sequential reader that records the first overrun instead of reading past the end.
class Reader {
 public:
  explicit Reader(absl::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool done() const { return pos_ == in_.size(); }

  uint64_t U64() {
    if (!Need(8)) return 0;
    uint64_t v = ReadU64At(in_, pos_);
    pos_ += 8;
    return v;
  }
  uint32_t U32() {
    if (!Need(4)) return 0;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(in_[pos_ + i]);
    pos_ += 4;
    return v;
  }
  uint8_t U8() {
    if (!Need(1)) return 0;
    return static_cast<uint8_t>(in_[pos_++]);
  }
  std::string Bytes() {
    uint32_t n = U32();
    if (!Need(n)) return "";
    std::string s(in_.substr(pos_, n));
    pos_ += n;
    return s;
  }

 private:
  bool Need(size_t n) {
    if (!ok_ || in_.size() - pos_ < n) ok_ = false;
    return ok_;
  }

  absl::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

void PutTime(const backend::Timestamp& t, std::string* out) {
  PutU64(static_cast<uint64_t>(t.seconds), out);
  PutU32(t.nanos, out);
}

backend::Timestamp ReadTime(Reader& r) {
  backend::Timestamp t;
  t.seconds = static_cast<int64_t>(r.U64());
  t.nanos = r.U32();
  return t;
}

std::string KeyWithInode(char prefix, backend::InodeNumber inode) {
  std::string key(1, prefix);
  PutU64(inode, &key);
  return key;
}

}  // namespace

std::string InodeKey(backend::InodeNumber inode) { return KeyWithInode('i', inode); }
std::string DirentPrefix(backend::InodeNumber dir) { return KeyWithInode('d', dir); }
std::string DirentKey(backend::InodeNumber dir, absl::string_view name) {
  return absl::StrCat(DirentPrefix(dir), name);
}
std::string CookiePrefix(backend::InodeNumber dir) { return KeyWithInode('c', dir); }
std::string CookieKey(backend::InodeNumber dir, uint64_t cookie) {
  std::string key = CookiePrefix(dir);
  PutU64(cookie, &key);
  return key;
}
std::string XattrPrefix(backend::InodeNumber inode) { return KeyWithInode('x', inode); }
std::string XattrKey(backend::InodeNumber inode, absl::string_view name) {
  return absl::StrCat(XattrPrefix(inode), name);
}
std::string OrphanKey(backend::InodeNumber inode) { return KeyWithInode('o', inode); }

backend::InodeNumber InodeOfKey(absl::string_view key) {
  return key.size() >= 9 ? ReadU64At(key, 1) : 0;
}
absl::string_view NameOfKey(absl::string_view key) {
  return key.size() >= 9 ? key.substr(9) : absl::string_view();
}
uint64_t CookieOfKey(absl::string_view key) { return key.size() >= 17 ? ReadU64At(key, 9) : 0; }

std::string EncodeInode(const InodeRecord& record) {
  const backend::Attributes& a = record.attrs;
  std::string out;
  out.reserve(160);
  out.push_back(static_cast<char>(kInodeVersion));
  PutU64(a.inode, &out);
  PutU64(a.generation, &out);
  out.push_back(static_cast<char>(a.type));
  PutU32(a.mode, &out);
  PutU32(a.nlink, &out);
  PutU32(a.uid, &out);
  PutU32(a.gid, &out);
  PutU64(a.size, &out);
  PutU32(a.rdev_major, &out);
  PutU32(a.rdev_minor, &out);
  PutTime(a.atime, &out);
  PutTime(a.mtime, &out);
  PutTime(a.ctime, &out);
  PutTime(a.birth_time, &out);
  PutU64(a.change_id, &out);
  PutU64(record.parent, &out);
  PutU64(record.next_cookie, &out);
  PutBytes(record.symlink_target, &out);
  out.push_back(record.create_verifier.has_value() ? 1 : 0);
  PutU64(record.create_verifier.value_or(0), &out);
  PutU32(a.flags, &out);
  return out;
}

absl::StatusOr<InodeRecord> DecodeInode(absl::string_view value) {
  Reader r(value);
  uint8_t version = r.U8();
  if (version != kInodeVersion && version != kInodeVersionWithoutFlags) {
    return absl::DataLossError("inode record has an unknown version");
  }
  InodeRecord record;
  backend::Attributes& a = record.attrs;
  a.inode = r.U64();
  a.generation = r.U64();
  uint8_t type = r.U8();
  if (type < 1 || type > 7) return absl::DataLossError("inode record has an unknown file type");
  a.type = static_cast<backend::FileType>(type);
  a.mode = r.U32();
  a.nlink = r.U32();
  a.uid = r.U32();
  a.gid = r.U32();
  a.size = r.U64();
  a.rdev_major = r.U32();
  a.rdev_minor = r.U32();
  a.atime = ReadTime(r);
  a.mtime = ReadTime(r);
  a.ctime = ReadTime(r);
  a.birth_time = ReadTime(r);
  a.change_id = r.U64();
  record.parent = r.U64();
  record.next_cookie = r.U64();
  record.symlink_target = r.Bytes();
  bool has_verifier = r.U8() != 0;
  uint64_t verifier = r.U64();
  if (has_verifier) record.create_verifier = verifier;
  if (version != kInodeVersionWithoutFlags) a.flags = r.U32();
  if (!r.ok() || !r.done()) return absl::DataLossError("inode record is truncated or too long");
  return record;
}

std::string EncodeDirent(const DirentValue& value) {
  std::string out;
  PutU64(value.inode, &out);
  out.push_back(static_cast<char>(value.type));
  PutU64(value.cookie, &out);
  return out;
}

absl::StatusOr<DirentValue> DecodeDirent(absl::string_view value) {
  if (value.size() != 17) return absl::DataLossError("directory entry has the wrong size");
  DirentValue d;
  d.inode = ReadU64At(value, 0);
  uint8_t type = static_cast<uint8_t>(value[8]);
  if (type < 1 || type > 7) return absl::DataLossError("directory entry has an unknown type");
  d.type = static_cast<backend::FileType>(type);
  d.cookie = ReadU64At(value, 9);
  return d;
}

std::string EncodeU64(uint64_t value) {
  std::string out;
  PutU64(value, &out);
  return out;
}

absl::StatusOr<uint64_t> DecodeU64(absl::string_view value) {
  if (value.size() != 8) return absl::DataLossError("counter has the wrong size");
  return ReadU64At(value, 0);
}

}  // namespace cfs::embedded
