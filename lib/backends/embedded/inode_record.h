// The embedded backend's persistent records and the RocksDB key schema that holds them.
//
// Keys (big-endian numbers, so RocksDB's byte order is numeric order):
//   'i' ino                 -> InodeRecord
//   'd' dir name            -> DirentValue (child inode, type, cookie)
//   'c' dir cookie          -> name                  (readdir order: stable cookies)
//   'x' ino name            -> xattr value
//   'o' ino                 -> ""                    (unlinked while open: reclaim at start)
//   'm' name                -> counters (next inode, boot count), clean-shutdown marker
// Pure functions; thread-safe.
//
// Example:
//   std::string key = InodeKey(42);
//   std::string value = EncodeInode(record);
//   absl::StatusOr<InodeRecord> back = DecodeInode(value);

#ifndef CFS_LIB_BACKENDS_EMBEDDED_INODE_RECORD_H_
#define CFS_LIB_BACKENDS_EMBEDDED_INODE_RECORD_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/backend/types.h"

namespace cfs::embedded {

struct InodeRecord {
  backend::Attributes attrs;
  backend::InodeNumber parent = 0;  // directories: the directory holding them (root: itself)
  uint64_t next_cookie = 3;         // directories: cookie for the next entry (1 and 2 reserved)
  std::string symlink_target;       // symlinks
  std::optional<uint64_t> create_verifier;  // files made by exclusive create
};

struct DirentValue {
  backend::InodeNumber inode = 0;
  backend::FileType type = backend::FileType::kRegular;
  uint64_t cookie = 0;
};

std::string InodeKey(backend::InodeNumber inode);
std::string DirentKey(backend::InodeNumber dir, absl::string_view name);
std::string DirentPrefix(backend::InodeNumber dir);
std::string CookieKey(backend::InodeNumber dir, uint64_t cookie);
std::string CookiePrefix(backend::InodeNumber dir);
std::string XattrKey(backend::InodeNumber inode, absl::string_view name);
std::string XattrPrefix(backend::InodeNumber inode);
std::string OrphanKey(backend::InodeNumber inode);
inline constexpr char kInodePrefix[] = "i";
inline constexpr char kOrphanPrefix[] = "o";
inline constexpr char kDirentPrefixByte[] = "d";
inline constexpr char kMetaNextInode[] = "mnext_inode";
inline constexpr char kMetaBootCount[] = "mboot_count";
inline constexpr char kMetaCleanShutdown[] = "mclean_shutdown";

// The inode number in an 'i', 'o' or 'x' key, the directory in a 'd' or 'c' key.
backend::InodeNumber InodeOfKey(absl::string_view key);
// The name in a 'd' or 'x' key.
absl::string_view NameOfKey(absl::string_view key);
// The cookie in a 'c' key.
uint64_t CookieOfKey(absl::string_view key);

std::string EncodeInode(const InodeRecord& record);
// Errors: kDataLoss for a truncated or unknown-version record.
absl::StatusOr<InodeRecord> DecodeInode(absl::string_view value);

std::string EncodeDirent(const DirentValue& value);
absl::StatusOr<DirentValue> DecodeDirent(absl::string_view value);

std::string EncodeU64(uint64_t value);
absl::StatusOr<uint64_t> DecodeU64(absl::string_view value);

}  // namespace cfs::embedded

#endif  // CFS_LIB_BACKENDS_EMBEDDED_INODE_RECORD_H_
