// Value types of the backend SPI: what the metadata (A2) and data (A4) services take and return.
//
// Everything here is a plain copyable value with no behaviour beyond small helpers, so protocols,
// filters and backends can share them without depending on each other.
//
// Example:
//   cfs::backend::RequestContext ctx = cfs::backend::RequestContext::WithTimeout(
//       cfs::backend::Identity::Root(), absl::Seconds(5));

#ifndef CFS_LIB_BACKEND_TYPES_H_
#define CFS_LIB_BACKEND_TYPES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace cfs::backend {

using InodeNumber = uint64_t;

// The namespace root of every backend.
inline constexpr InodeNumber kRootInode = 1;

// Longest name of one directory entry, in bytes (POSIX NAME_MAX).
inline constexpr size_t kMaxNameLength = 255;

// Longest symlink target, in bytes (POSIX PATH_MAX).
inline constexpr size_t kMaxSymlinkLength = 4095;

// Who is asking. Protocols fill it after authentication and export squashing.
struct Identity {
  uint32_t uid = 65534;
  uint32_t gid = 65534;
  std::vector<uint32_t> groups;  // supplementary groups, not including gid
  std::string principal;         // user name, S3 access key id or SMB account, for logs

  bool IsRoot() const { return uid == 0; }
  bool InGroup(uint32_t group) const;

  static Identity Root();
  static Identity Of(uint32_t uid, uint32_t gid, std::vector<uint32_t> groups = {});
};

// Names the gateway keeps for its own state (S3 staging and upload parts: ".cfs-s3"). No
// protocol's client sees, looks up, creates, renames or removes an entry whose name starts
// with this, in any directory (filters::ReservedNamesFilter); only calls whose context sets
// `internal` reach them.
inline constexpr char kReservedNamePrefix[] = ".cfs-";

// Carried by every SPI call. Passed explicitly, never through a thread-local.
struct RequestContext {
  Identity identity;
  absl::Time deadline = absl::InfiniteFuture();
  uint64_t trace_id = 0;
  // Opaque tag of the handle the call is made through (an SMB open id; 0: none), so a
  // ChangeFeed listener can tell a handle's own I/O from everyone else's.
  uint64_t origin = 0;
  // Set only by a frontend reaching its own state under a reserved name (kReservedNamePrefix),
  // never for a request made on a client's behalf.
  bool internal = false;
  // Read and Write let the file's owner move its data whatever the mode bits say: NFSv3 READ
  // and WRITE set it, as knfsd and nfs-ganesha allow, because the client checked access when
  // it opened the file and may go on writing a file its owner made read-only since.
  bool owner_override = false;

  bool Expired() const { return absl::Now() >= deadline; }
  static RequestContext WithTimeout(Identity identity, absl::Duration timeout);
};

enum class FileType : uint8_t {
  kRegular = 1,
  kDirectory = 2,
  kSymlink = 3,
  kBlockDevice = 4,
  kCharDevice = 5,
  kSocket = 6,
  kFifo = 7,
};

// Seconds and nanoseconds since the Unix epoch, as the wire protocols carry them.
struct Timestamp {
  int64_t seconds = 0;
  uint32_t nanos = 0;

  static Timestamp FromTime(absl::Time t);
  static Timestamp Now() { return FromTime(absl::Now()); }
  absl::Time ToTime() const;
  friend bool operator==(const Timestamp& a, const Timestamp& b) {
    return a.seconds == b.seconds && a.nanos == b.nanos;
  }
  friend bool operator!=(const Timestamp& a, const Timestamp& b) { return !(a == b); }
};

struct Attributes {
  InodeNumber inode = 0;
  uint64_t generation = 0;  // never reused for an inode number: file handles go stale
  FileType type = FileType::kRegular;
  uint32_t mode = 0;  // permission bits and setuid/setgid/sticky (07777)
  uint32_t nlink = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  uint64_t space_used = 0;  // bytes allocated on disk (sparse files use less than size)
  uint32_t rdev_major = 0;
  uint32_t rdev_minor = 0;
  Timestamp atime;
  Timestamp mtime;
  Timestamp ctime;
  Timestamp birth_time;
  uint64_t change_id = 0;  // increases on every change of data or metadata (NFSv4 change)
  uint32_t flags = 0;      // FileFlag bits: what protocols keep about a file beyond POSIX
};

// Bits of Attributes::flags. The backend stores them; protocols give them their meaning.
enum FileFlag : uint32_t {
  kFileFlagSparse = 1u << 0,  // marked sparse (SMB FSCTL_SET_SPARSE); every file may have holes
};

// Which attributes SetAttr changes. Unset fields stay as they are.
struct SetAttributes {
  enum class TimeHow : uint8_t { kDontChange, kServerTime, kClientTime };

  std::optional<uint32_t> mode;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  std::optional<uint64_t> size;
  TimeHow atime_how = TimeHow::kDontChange;
  Timestamp atime;
  TimeHow mtime_how = TimeHow::kDontChange;
  Timestamp mtime;
  // When set, SetAttr fails with FsError::kNotSync unless the file's ctime equals this
  // (NFSv3 sattrguard3).
  std::optional<Timestamp> guard_ctime;
  // Explicit creation and change times (SMB clients set them; POSIX has no call for it). Like
  // explicit atime and mtime, only the owner or root sets them; a given ctime replaces the
  // one the change itself would set.
  std::optional<Timestamp> birth_time;
  std::optional<Timestamp> ctime;
  // New FileFlag bits, replacing the old: the owner, root or a writer sets them.
  std::optional<uint32_t> flags;
};

// Attributes of an object before and after a change (NFS weak cache consistency).
struct AttrChange {
  Attributes before;
  Attributes after;
};

// The directory an entry was added to or removed from, before and after.
using DirChange = AttrChange;

enum class CreateMode : uint8_t {
  kUnchecked,  // an existing regular file is opened (and truncated if attrs.size says so)
  kGuarded,    // an existing entry fails with FsError::kExists
  kExclusive,  // idempotent by verifier: a replay with the same verifier succeeds
};

struct CreateRequest {
  InodeNumber parent = 0;
  std::string name;
  CreateMode how = CreateMode::kUnchecked;
  uint64_t verifier = 0;     // kExclusive only
  SetAttributes attributes;  // mode (default 0644), owner (default the caller), size
};

// What Create, MakeDirectory, MakeSymlink, MakeNode and Link return.
struct EntryResult {
  Attributes attributes;  // of the new (or, for kUnchecked/kExclusive, existing) object
  DirChange parent;
};

struct RenameResult {
  DirChange from_dir;
  DirChange to_dir;
};

struct DirEntry {
  std::string name;
  InodeNumber inode = 0;
  FileType type = FileType::kRegular;
  uint64_t cookie = 0;                   // pass back to ReadDir to continue after this entry
  std::optional<Attributes> attributes;  // when requested
};

struct ReadDirResult {
  std::vector<DirEntry> entries;
  bool eof = false;
  uint64_t cookie_verifier = 0;
  Attributes directory;
};

struct FsStatResult {
  uint64_t total_bytes = 0;
  uint64_t free_bytes = 0;
  uint64_t available_bytes = 0;
  uint64_t total_files = 0;
  uint64_t free_files = 0;
  uint64_t available_files = 0;
  Attributes root;
};

enum class XattrSetMode : uint8_t { kCreateOrReplace, kCreateOnly, kReplaceOnly };

// One range of a file and where its bytes live (what pNFS layouts are made of).
struct Extent {
  uint64_t offset = 0;
  uint64_t length = 0;
  bool hole = false;        // reads as zeros, no storage
  std::string data_server;  // backend-specific address of the node holding the range
};

enum class Stability : uint8_t {
  kUnstable = 0,  // may sit in memory until Commit
  kDataSync = 1,  // data on stable storage before the reply
  kFileSync = 2,  // data and metadata on stable storage before the reply
};

// Changes whenever the data service restarts: a client that sees a new verifier resends its
// unstable writes.
using WriteVerifier = uint64_t;

struct ReadResult {
  std::string data;
  bool eof = false;
  Attributes attributes;
};

struct WriteResult {
  uint64_t count = 0;
  Stability committed = Stability::kUnstable;
  WriteVerifier verifier = 0;
  AttrChange attributes;
};

struct CommitResult {
  WriteVerifier verifier = 0;
  AttrChange attributes;
};

// POSIX access bits asked of Access(); the result holds the subset granted.
inline constexpr uint32_t kAccessRead = 4;
inline constexpr uint32_t kAccessWrite = 2;
inline constexpr uint32_t kAccessExecute = 1;

}  // namespace cfs::backend

#endif  // CFS_LIB_BACKEND_TYPES_H_
