#include "lib/protocols/nfs/nfs3_xdr.h"

namespace cfs::nfs {

using backend::SetAttributes;
using rpc::XdrReader;
using rpc::XdrWriter;

namespace {

std::string Handle(XdrReader& in) { return in.Opaque(kMaxFileHandle); }

backend::Timestamp NfsTime(XdrReader& in) {
  backend::Timestamp t;
  t.seconds = in.U32();
  t.nanos = in.U32();
  if (t.nanos >= 1000000000u) in.Fail();
  return t;
}

SetAttributes::TimeHow TimeHow(XdrReader& in, backend::Timestamp* t) {
  uint32_t how = in.U32();
  if (how == 1) return SetAttributes::TimeHow::kServerTime;
  if (how == 2) {
    *t = NfsTime(in);
    return SetAttributes::TimeHow::kClientTime;
  }
  if (how != 0) in.Fail();
  return SetAttributes::TimeHow::kDontChange;
}

SetAttributes Sattr(XdrReader& in) {
  SetAttributes a;
  if (in.Bool()) a.mode = in.U32() & 07777;
  if (in.Bool()) a.uid = in.U32();
  if (in.Bool()) a.gid = in.U32();
  if (in.Bool()) a.size = in.U64();
  a.atime_how = TimeHow(in, &a.atime);
  a.mtime_how = TimeHow(in, &a.mtime);
  return a;
}

DirOpArgs DirOp(XdrReader& in) {
  DirOpArgs d;
  d.dir = Handle(in);
  d.name = in.String(kMaxPath);
  return d;
}

template <typename T>
std::optional<T> Done(XdrReader& in, T value) {
  if (!in.ok()) return std::nullopt;
  return value;
}

}  // namespace

std::optional<std::string> DecodeHandleArgs(absl::string_view args) {
  XdrReader in(args);
  std::string fh = Handle(in);
  return Done(in, std::move(fh));
}

std::optional<SetAttrArgs> DecodeSetAttrArgs(absl::string_view args) {
  XdrReader in(args);
  SetAttrArgs a;
  a.object = Handle(in);
  a.attrs = Sattr(in);
  if (in.Bool()) a.attrs.guard_ctime = NfsTime(in);
  return Done(in, std::move(a));
}

std::optional<DirOpArgs> DecodeDirOpArgs(absl::string_view args) {
  XdrReader in(args);
  DirOpArgs d = DirOp(in);
  return Done(in, std::move(d));
}

std::optional<AccessArgs> DecodeAccessArgs(absl::string_view args) {
  XdrReader in(args);
  AccessArgs a;
  a.object = Handle(in);
  a.access = in.U32();
  return Done(in, std::move(a));
}

std::optional<ReadArgs> DecodeReadArgs(absl::string_view args) {
  XdrReader in(args);
  ReadArgs a;
  a.file = Handle(in);
  a.offset = in.U64();
  a.count = in.U32();
  return Done(in, std::move(a));
}

std::optional<WriteArgs> DecodeWriteArgs(absl::string_view args) {
  XdrReader in(args);
  WriteArgs a;
  a.file = Handle(in);
  a.offset = in.U64();
  a.count = in.U32();
  uint32_t stable = in.U32();
  if (stable > 2) in.Fail();
  a.stable = static_cast<backend::Stability>(stable);
  a.data = in.OpaqueView(kMaxTransfer);
  if (a.data.size() < a.count) in.Fail();  // count larger than the data sent
  return Done(in, std::move(a));
}

std::optional<CreateArgs> DecodeCreateArgs(absl::string_view args) {
  XdrReader in(args);
  CreateArgs a;
  a.where = DirOp(in);
  uint32_t how = in.U32();
  if (how == 0 || how == 1) {
    a.how = how == 0 ? backend::CreateMode::kUnchecked : backend::CreateMode::kGuarded;
    a.attrs = Sattr(in);
  } else if (how == 2) {
    a.how = backend::CreateMode::kExclusive;
    a.verifier = in.U64();
  } else {
    in.Fail();
  }
  return Done(in, std::move(a));
}

std::optional<MkdirArgs> DecodeMkdirArgs(absl::string_view args) {
  XdrReader in(args);
  MkdirArgs a;
  a.where = DirOp(in);
  a.attrs = Sattr(in);
  return Done(in, std::move(a));
}

std::optional<SymlinkArgs> DecodeSymlinkArgs(absl::string_view args) {
  XdrReader in(args);
  SymlinkArgs a;
  a.where = DirOp(in);
  a.attrs = Sattr(in);
  a.target = in.String(kMaxPath * 4);
  return Done(in, std::move(a));
}

std::optional<MknodArgs> DecodeMknodArgs(absl::string_view args) {
  XdrReader in(args);
  MknodArgs a;
  a.where = DirOp(in);
  uint32_t type = in.U32();
  switch (type) {
    case 3:  // NF3BLK
    case 4:  // NF3CHR
      a.type = type == 3 ? backend::FileType::kBlockDevice : backend::FileType::kCharDevice;
      a.attrs = Sattr(in);
      a.major = in.U32();
      a.minor = in.U32();
      break;
    case 6:  // NF3SOCK
    case 7:  // NF3FIFO
      a.type = type == 6 ? backend::FileType::kSocket : backend::FileType::kFifo;
      a.attrs = Sattr(in);
      break;
    default:
      a.type = backend::FileType::kRegular;  // answered with NFS3ERR_BADTYPE
      break;
  }
  return Done(in, std::move(a));
}

std::optional<RenameArgs> DecodeRenameArgs(absl::string_view args) {
  XdrReader in(args);
  RenameArgs a;
  a.from = DirOp(in);
  a.to = DirOp(in);
  return Done(in, std::move(a));
}

std::optional<LinkArgs> DecodeLinkArgs(absl::string_view args) {
  XdrReader in(args);
  LinkArgs a;
  a.file = Handle(in);
  a.link = DirOp(in);
  return Done(in, std::move(a));
}

std::optional<ReadDirArgs> DecodeReadDirArgs(absl::string_view args, bool plus) {
  XdrReader in(args);
  ReadDirArgs a;
  a.dir = Handle(in);
  a.cookie = in.U64();
  a.verifier = in.U64();
  if (plus) a.dircount = in.U32();
  a.maxcount = in.U32();
  return Done(in, std::move(a));
}

std::optional<CommitArgs> DecodeCommitArgs(absl::string_view args) {
  XdrReader in(args);
  CommitArgs a;
  a.file = Handle(in);
  a.offset = in.U64();
  a.count = in.U32();
  return Done(in, std::move(a));
}

std::optional<std::string> DecodeMountPath(absl::string_view args) {
  XdrReader in(args);
  std::string path = in.String(kMaxPath);
  return Done(in, std::move(path));
}

void EncodeStatus(XdrWriter& out, Nfs3Status status) { out.U32(static_cast<uint32_t>(status)); }

uint32_t FileTypeToNfs(backend::FileType type) {
  switch (type) {
    case backend::FileType::kRegular:
      return 1;
    case backend::FileType::kDirectory:
      return 2;
    case backend::FileType::kBlockDevice:
      return 3;
    case backend::FileType::kCharDevice:
      return 4;
    case backend::FileType::kSymlink:
      return 5;
    case backend::FileType::kSocket:
      return 6;
    case backend::FileType::kFifo:
      return 7;
  }
  return 1;
}

void EncodeNfsTime(XdrWriter& out, const backend::Timestamp& t) {
  out.U32(static_cast<uint32_t>(t.seconds));
  out.U32(t.nanos);
}

void EncodeFattr(XdrWriter& out, const backend::Attributes& a, uint64_t fsid) {
  out.U32(FileTypeToNfs(a.type));
  out.U32(a.mode & 07777);
  out.U32(a.nlink);
  out.U32(a.uid);
  out.U32(a.gid);
  out.U64(a.size);
  out.U64(a.space_used);
  out.U32(a.rdev_major);
  out.U32(a.rdev_minor);
  out.U64(fsid);
  out.U64(a.inode);
  EncodeNfsTime(out, a.atime);
  EncodeNfsTime(out, a.mtime);
  EncodeNfsTime(out, a.ctime);
}

void EncodePostOpAttr(XdrWriter& out, const backend::Attributes* attrs, uint64_t fsid) {
  out.Bool(attrs != nullptr);
  if (attrs != nullptr) EncodeFattr(out, *attrs, fsid);
}

void EncodeWcc(XdrWriter& out, const backend::AttrChange* change, uint64_t fsid) {
  out.Bool(change != nullptr);  // pre_op_attr
  if (change != nullptr) {
    out.U64(change->before.size);
    EncodeNfsTime(out, change->before.mtime);
    EncodeNfsTime(out, change->before.ctime);
  }
  EncodePostOpAttr(out, change != nullptr ? &change->after : nullptr, fsid);
}

void EncodePostOpFh(XdrWriter& out, const std::string* handle) {
  out.Bool(handle != nullptr);
  if (handle != nullptr) out.Opaque(*handle);
}

}  // namespace cfs::nfs
