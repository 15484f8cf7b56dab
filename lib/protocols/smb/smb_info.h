// The information classes SMB2 QUERY_INFO, SET_INFO and QUERY_DIRECTORY carry (MS-FSCC 2.4,
// 2.5, 2.4.x directory classes; MS-DTYP 2.4.6 security descriptors), built from and parsed into
// the backend's POSIX attributes. Pure functions; the SET_INFO and security decoders are fuzzed.
//
// Mapping: owners and groups are the Unix SIDs S-1-22-1-<uid> and S-1-22-2-<gid> (as Samba
// shows them); the DACL has one allow ACE each for owner, group and Everyone from the mode bits.
#ifndef CFS_LIB_PROTOCOLS_SMB_SMB_INFO_H_
#define CFS_LIB_PROTOCOLS_SMB_SMB_INFO_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/backend/types.h"
#include "lib/protocols/smb/nt_acl.h"

namespace cfs::smb {

namespace info {
// File classes (QUERY_INFO / SET_INFO with info type 1, and directory classes).
inline constexpr uint8_t kDirectory = 1;
inline constexpr uint8_t kFullDirectory = 2;
inline constexpr uint8_t kBothDirectory = 3;
inline constexpr uint8_t kBasic = 4;
inline constexpr uint8_t kStandard = 5;
inline constexpr uint8_t kInternal = 6;
inline constexpr uint8_t kEa = 7;
inline constexpr uint8_t kAccess = 8;
inline constexpr uint8_t kName = 9;
inline constexpr uint8_t kRename = 10;
inline constexpr uint8_t kLink = 11;
inline constexpr uint8_t kNames = 12;
inline constexpr uint8_t kDisposition = 13;
inline constexpr uint8_t kPosition = 14;
inline constexpr uint8_t kFullEa = 15;
inline constexpr uint8_t kMode = 16;
inline constexpr uint8_t kAlignment = 17;
inline constexpr uint8_t kAll = 18;
inline constexpr uint8_t kAllocation = 19;
inline constexpr uint8_t kEndOfFile = 20;
inline constexpr uint8_t kAlternateName = 21;
inline constexpr uint8_t kStream = 22;
inline constexpr uint8_t kCompression = 28;
inline constexpr uint8_t kNetworkOpen = 34;
inline constexpr uint8_t kAttributeTag = 35;
inline constexpr uint8_t kIdBothDirectory = 37;
inline constexpr uint8_t kIdFullDirectory = 38;
inline constexpr uint8_t kNormalizedName = 48;
inline constexpr uint8_t kDispositionEx = 64;
// File system classes (info type 2).
inline constexpr uint8_t kFsVolume = 1;
inline constexpr uint8_t kFsSize = 3;
inline constexpr uint8_t kFsDevice = 4;
inline constexpr uint8_t kFsAttribute = 5;
inline constexpr uint8_t kFsControl = 6;
inline constexpr uint8_t kFsFullSize = 7;
inline constexpr uint8_t kFsObjectId = 8;
inline constexpr uint8_t kFsSectorSize = 11;
}  // namespace info

inline constexpr uint32_t kAttrReadonly = 0x01;
inline constexpr uint32_t kAttrHidden = 0x02;
inline constexpr uint32_t kAttrDirectory = 0x10;
inline constexpr uint32_t kAttrArchive = 0x20;
inline constexpr uint32_t kAttrSparse = 0x200;
inline constexpr uint32_t kAttrNormal = 0x80;

// FILETIME: 100 ns ticks since 1601-01-01.
uint64_t ToFiletime(const backend::Timestamp& t);
backend::Timestamp FromFiletime(uint64_t filetime);
uint64_t FiletimeNow();

uint32_t FileAttributesOf(const backend::Attributes& attrs);
uint64_t AllocationSizeOf(const backend::Attributes& attrs);

// What a file information class is built from, besides the attributes.
struct OpenFacts {
  backend::Attributes attrs;
  std::string path;  // UTF-8, share-relative, backslashes ("" for the share root)
  uint32_t granted_access = 0;
  uint64_t position = 0;
  uint32_t mode = 0;  // FILE_SYNCHRONOUS_IO_* create options
  bool delete_pending = false;
  // FileStreamInformation: the file's named streams (name as stored, size) after its own data.
  std::vector<std::pair<std::string, uint64_t>> named_streams;
};

// A file class (info type 1). Errors: kInvalidArgument -> STATUS_INVALID_INFO_CLASS,
// kUnimplemented -> STATUS_NOT_IMPLEMENTED (8.3 alternate names: there are none).
absl::StatusOr<std::string> EncodeFileInfo(uint8_t info_class, const OpenFacts& facts);
// The fixed size a file or file system class needs at least (0 for unknown classes).
size_t MinFileInfoSize(uint8_t info_class);
size_t MinFsInfoSize(uint8_t info_class);

struct VolumeFacts {
  backend::FsStatResult stat;
  uint64_t creation_filetime = 0;
  uint32_t serial = 0;
  std::string label;  // UTF-8
};
// Errors: kInvalidArgument for an unknown class.
absl::StatusOr<std::string> EncodeFsInfo(uint8_t info_class, const VolumeFacts& facts);

// One directory entry of a directory class with NextEntryOffset 0 (the caller links entries).
// Errors: kInvalidArgument for classes that are not directory classes.
absl::StatusOr<std::string> EncodeDirectoryEntry(uint8_t info_class,
                                                 const backend::Attributes& attrs,
                                                 absl::string_view name);

// Windows wildcard match of a file name (case-insensitive ASCII): '*', '?', and the DOS forms
// '<' (DOS_STAR), '>' (DOS_QM) and '"' (DOS_DOT).
bool MatchPattern(absl::string_view pattern, absl::string_view name);

// ---- SET_INFO buffers ----

struct BasicInfoChange {
  std::optional<backend::Timestamp> atime;
  std::optional<backend::Timestamp> mtime;
  std::optional<backend::Timestamp> ctime;
  std::optional<backend::Timestamp> birth_time;  // CreationTime
  uint32_t attributes = 0;                       // 0: unchanged
};
// Errors: kInvalidArgument (short: STATUS_INFO_LENGTH_MISMATCH).
absl::StatusOr<BasicInfoChange> DecodeBasicInfo(absl::string_view buffer);

struct RenameInfo {
  bool replace_if_exists = false;
  std::string target;  // UTF-8, share-relative
};
absl::StatusOr<RenameInfo> DecodeRenameInfo(absl::string_view buffer);

// ---- security descriptors ----

inline constexpr uint32_t kSecOwner = 0x1;
inline constexpr uint32_t kSecGroup = 0x2;
inline constexpr uint32_t kSecDacl = 0x4;
inline constexpr uint32_t kSecSacl = 0x8;

// The self-relative descriptor with the parts `additional` asks for: owner and group from
// the POSIX ids, the DACL `stored` with the file (nt_acl.h) or else one from the mode bits.
std::string EncodeSecurityDescriptor(const backend::Attributes& attrs, uint32_t additional,
                                     const Dacl* stored = nullptr);

struct SecurityChange {
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  std::optional<uint32_t> mode;  // permission bits from the DACL
};
// Reads owner, group and DACL (those `additional` names). Errors: kInvalidArgument
// (malformed), kUnimplemented (a SID with no POSIX id, an ACE form that has no mode bits).
absl::StatusOr<SecurityChange> DecodeSecurityDescriptor(absl::string_view sd, uint32_t additional,
                                                        const backend::Attributes& current);

}  // namespace cfs::smb

#endif  // CFS_LIB_PROTOCOLS_SMB_SMB_INFO_H_
