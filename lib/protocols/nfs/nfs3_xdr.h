// NFSv3 (RFC 1813) and MOUNT v3 wire types: argument decoders (pure, fuzzed) and result
// encoders. Decoders return nullopt for malformed input (the caller answers GARBAGE_ARGS).
//
// Example:
//   std::optional<DirOpArgs> args = DecodeDirOpArgs(call.args);
//   XdrWriter out; EncodeStatus(out, Nfs3Status::kOk); EncodePostOpAttr(out, attrs, fsid);

#ifndef CFS_LIB_PROTOCOLS_NFS_NFS3_XDR_H_
#define CFS_LIB_PROTOCOLS_NFS_NFS3_XDR_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "lib/backend/types.h"
#include "lib/protocols/rpc/xdr.h"

namespace cfs::nfs {

inline constexpr uint32_t kNfsProgram = 100003;
inline constexpr uint32_t kMountProgram = 100005;
inline constexpr size_t kMaxFileHandle = 64;
inline constexpr size_t kMaxPath = 1024;
inline constexpr uint32_t kMaxTransfer = 1 << 20;  // rtmax / wtmax

enum class Nfs3Proc : uint32_t {
  kNull = 0,
  kGetAttr,
  kSetAttr,
  kLookup,
  kAccess,
  kReadLink,
  kRead,
  kWrite,
  kCreate,
  kMkdir,
  kSymlink,
  kMknod,
  kRemove,
  kRmdir,
  kRename,
  kLink,
  kReadDir,
  kReadDirPlus,
  kFsStat,
  kFsInfo,
  kPathConf,
  kCommit,
};

enum class Nfs3Status : uint32_t {
  kOk = 0,
  kPerm = 1,
  kNoEnt = 2,
  kIo = 5,
  kNxio = 6,
  kAcces = 13,
  kExist = 17,
  kXdev = 18,
  kNoDev = 19,
  kNotDir = 20,
  kIsDir = 21,
  kInval = 22,
  kFbig = 27,
  kNoSpc = 28,
  kRofs = 30,
  kMlink = 31,
  kNameTooLong = 63,
  kNotEmpty = 66,
  kDquot = 69,
  kStale = 70,
  kRemote = 71,
  kBadHandle = 10001,
  kNotSync = 10002,
  kBadCookie = 10003,
  kNotSupp = 10004,
  kTooSmall = 10005,
  kServerFault = 10006,
  kBadType = 10007,
  kJukebox = 10008,
};

// NFS3 ACCESS bits.
inline constexpr uint32_t kAccess3Read = 0x01;
inline constexpr uint32_t kAccess3Lookup = 0x02;
inline constexpr uint32_t kAccess3Modify = 0x04;
inline constexpr uint32_t kAccess3Extend = 0x08;
inline constexpr uint32_t kAccess3Delete = 0x10;
inline constexpr uint32_t kAccess3Execute = 0x20;

struct DirOpArgs {
  std::string dir;  // file handle
  std::string name;
};

struct SetAttrArgs {
  std::string object;
  backend::SetAttributes attrs;  // guard_ctime set when the client sent a guard
};

struct AccessArgs {
  std::string object;
  uint32_t access = 0;
};

struct ReadArgs {
  std::string file;
  uint64_t offset = 0;
  uint32_t count = 0;
};

struct WriteArgs {
  std::string file;
  uint64_t offset = 0;
  uint32_t count = 0;
  backend::Stability stable = backend::Stability::kUnstable;
  absl::string_view data;  // points into the decoded buffer
};

struct CreateArgs {
  DirOpArgs where;
  backend::CreateMode how = backend::CreateMode::kUnchecked;
  backend::SetAttributes attrs;  // unchecked/guarded
  uint64_t verifier = 0;         // exclusive
};

struct MkdirArgs {
  DirOpArgs where;
  backend::SetAttributes attrs;
};

struct SymlinkArgs {
  DirOpArgs where;
  backend::SetAttributes attrs;
  std::string target;
};

struct MknodArgs {
  DirOpArgs where;
  backend::FileType type = backend::FileType::kFifo;
  backend::SetAttributes attrs;
  uint32_t major = 0;
  uint32_t minor = 0;
};

struct RenameArgs {
  DirOpArgs from;
  DirOpArgs to;
};

struct LinkArgs {
  std::string file;
  DirOpArgs link;
};

struct ReadDirArgs {
  std::string dir;
  uint64_t cookie = 0;
  uint64_t verifier = 0;
  uint32_t dircount = 0;  // READDIRPLUS only
  uint32_t maxcount = 0;  // READDIR's count
};

struct CommitArgs {
  std::string file;
  uint64_t offset = 0;
  uint32_t count = 0;
};

// Argument decoders. A handle is the raw nfs_fh3 bytes (at most 64).
std::optional<std::string> DecodeHandleArgs(absl::string_view args);  // GETATTR, READLINK, ...
std::optional<SetAttrArgs> DecodeSetAttrArgs(absl::string_view args);
std::optional<DirOpArgs> DecodeDirOpArgs(absl::string_view args);  // LOOKUP, REMOVE, RMDIR
std::optional<AccessArgs> DecodeAccessArgs(absl::string_view args);
std::optional<ReadArgs> DecodeReadArgs(absl::string_view args);
std::optional<WriteArgs> DecodeWriteArgs(absl::string_view args);
std::optional<CreateArgs> DecodeCreateArgs(absl::string_view args);
std::optional<MkdirArgs> DecodeMkdirArgs(absl::string_view args);
std::optional<SymlinkArgs> DecodeSymlinkArgs(absl::string_view args);
std::optional<MknodArgs> DecodeMknodArgs(absl::string_view args);
std::optional<RenameArgs> DecodeRenameArgs(absl::string_view args);
std::optional<LinkArgs> DecodeLinkArgs(absl::string_view args);
std::optional<ReadDirArgs> DecodeReadDirArgs(absl::string_view args, bool plus);
std::optional<CommitArgs> DecodeCommitArgs(absl::string_view args);
// MOUNT: MNT and UMNT take a dirpath.
std::optional<std::string> DecodeMountPath(absl::string_view args);

// Result pieces.
void EncodeStatus(rpc::XdrWriter& out, Nfs3Status status);
void EncodeFattr(rpc::XdrWriter& out, const backend::Attributes& attrs, uint64_t fsid);
void EncodePostOpAttr(rpc::XdrWriter& out, const backend::Attributes* attrs, uint64_t fsid);
void EncodeWcc(rpc::XdrWriter& out, const backend::AttrChange* change, uint64_t fsid);
void EncodePostOpFh(rpc::XdrWriter& out, const std::string* handle);
void EncodeNfsTime(rpc::XdrWriter& out, const backend::Timestamp& t);
uint32_t FileTypeToNfs(backend::FileType type);

}  // namespace cfs::nfs

#endif  // CFS_LIB_PROTOCOLS_NFS_NFS3_XDR_H_
