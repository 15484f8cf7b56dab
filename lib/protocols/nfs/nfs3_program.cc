#include "lib/protocols/nfs/nfs3_program.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/auth/posix_permissions.h"
#include "lib/backend/errors.h"

namespace cfs::nfs {

using backend::AttrChange;
using backend::Attributes;
using backend::EntryResult;
using backend::FileType;
using rpc::AcceptStat;
using rpc::XdrWriter;

namespace {

using Reply = rpc::RpcReply;

void Send(Reply& reply, XdrWriter& out, std::string tail = "") {
  std::move(reply)(AcceptStat::kSuccess, out.Release(), std::move(tail));
}

// The empty result tail after a failure status, per procedure (absent attributes).
int EmptyTailWords(Nfs3Proc proc) {
  switch (proc) {
    case Nfs3Proc::kGetAttr:
      return 0;
    case Nfs3Proc::kSetAttr:
    case Nfs3Proc::kWrite:
    case Nfs3Proc::kCreate:
    case Nfs3Proc::kMkdir:
    case Nfs3Proc::kSymlink:
    case Nfs3Proc::kMknod:
    case Nfs3Proc::kRemove:
    case Nfs3Proc::kRmdir:
    case Nfs3Proc::kCommit:
      return 2;  // wcc_data: no pre, no post
    case Nfs3Proc::kRename:
      return 4;
    case Nfs3Proc::kLink:
      return 3;
    default:
      return 1;  // post_op_attr: none
  }
}

void Fail(Reply& reply, Nfs3Proc proc, Nfs3Status status) {
  XdrWriter out;
  EncodeStatus(out, status);
  for (int i = 0; i < EmptyTailWords(proc); ++i) out.Bool(false);
  Send(reply, out);
}

void Fail(Reply& reply, Nfs3Proc proc, const absl::Status& status) {
  Fail(reply, proc, NfsContext::StatusToNfs(status));
}

bool Modifies(Nfs3Proc proc) {
  switch (proc) {
    case Nfs3Proc::kSetAttr:
    case Nfs3Proc::kWrite:
    case Nfs3Proc::kCreate:
    case Nfs3Proc::kMkdir:
    case Nfs3Proc::kSymlink:
    case Nfs3Proc::kMknod:
    case Nfs3Proc::kRemove:
    case Nfs3Proc::kRmdir:
    case Nfs3Proc::kRename:
    case Nfs3Proc::kLink:
      return true;
    default:
      return false;
  }
}

uint64_t FsId(const NfsTarget& t) { return t.export_->id; }

// Reply for CREATE, MKDIR, SYMLINK, MKNOD.
void SendEntry(Reply& reply, const NfsContext& context, const NfsTarget& target,
               const absl::StatusOr<EntryResult>& made, Nfs3Proc proc) {
  if (!made.ok()) return Fail(reply, proc, made.status());
  XdrWriter out;
  EncodeStatus(out, Nfs3Status::kOk);
  std::string handle = context.HandleFor(*target.export_, made->attributes);
  EncodePostOpFh(out, &handle);
  EncodePostOpAttr(out, &made->attributes, FsId(target));
  EncodeWcc(out, &made->parent, FsId(target));
  Send(reply, out);
}

}  // namespace

bool Nfs3Program::IsNonIdempotent(uint32_t, uint32_t procedure) const {
  auto proc = static_cast<Nfs3Proc>(procedure);
  return proc == Nfs3Proc::kCreate || proc == Nfs3Proc::kMkdir || proc == Nfs3Proc::kSymlink ||
         proc == Nfs3Proc::kMknod || proc == Nfs3Proc::kRemove || proc == Nfs3Proc::kRmdir ||
         proc == Nfs3Proc::kRename || proc == Nfs3Proc::kLink;
}

std::string Nfs3Program::ProcedureName(uint32_t procedure) const {
  static constexpr const char* kNames[] = {
      "NULL",    "GETATTR",     "SETATTR", "LOOKUP", "ACCESS",   "READLINK", "READ",   "WRITE",
      "CREATE",  "MKDIR",       "SYMLINK", "MKNOD",  "REMOVE",   "RMDIR",    "RENAME", "LINK",
      "READDIR", "READDIRPLUS", "FSSTAT",  "FSINFO", "PATHCONF", "COMMIT"};
  if (procedure < sizeof kNames / sizeof kNames[0]) return kNames[procedure];
  return rpc::RpcProgram::ProcedureName(procedure);
}

std::string Nfs3Program::ResultStatusName(uint32_t procedure, absl::string_view result) const {
  if (procedure == 0 || result.size() < 4) return "";
  uint32_t status = (static_cast<uint32_t>(static_cast<uint8_t>(result[0])) << 24) |
                    (static_cast<uint32_t>(static_cast<uint8_t>(result[1])) << 16) |
                    (static_cast<uint32_t>(static_cast<uint8_t>(result[2])) << 8) |
                    static_cast<uint32_t>(static_cast<uint8_t>(result[3]));
  switch (static_cast<Nfs3Status>(status)) {
    case Nfs3Status::kOk:
      return "";
    case Nfs3Status::kPerm:
      return "NFS3ERR_PERM";
    case Nfs3Status::kNoEnt:
      return "NFS3ERR_NOENT";
    case Nfs3Status::kIo:
      return "NFS3ERR_IO";
    case Nfs3Status::kNxio:
      return "NFS3ERR_NXIO";
    case Nfs3Status::kAcces:
      return "NFS3ERR_ACCES";
    case Nfs3Status::kExist:
      return "NFS3ERR_EXIST";
    case Nfs3Status::kXdev:
      return "NFS3ERR_XDEV";
    case Nfs3Status::kNoDev:
      return "NFS3ERR_NODEV";
    case Nfs3Status::kNotDir:
      return "NFS3ERR_NOTDIR";
    case Nfs3Status::kIsDir:
      return "NFS3ERR_ISDIR";
    case Nfs3Status::kInval:
      return "NFS3ERR_INVAL";
    case Nfs3Status::kFbig:
      return "NFS3ERR_FBIG";
    case Nfs3Status::kNoSpc:
      return "NFS3ERR_NOSPC";
    case Nfs3Status::kRofs:
      return "NFS3ERR_ROFS";
    case Nfs3Status::kMlink:
      return "NFS3ERR_MLINK";
    case Nfs3Status::kNameTooLong:
      return "NFS3ERR_NAMETOOLONG";
    case Nfs3Status::kNotEmpty:
      return "NFS3ERR_NOTEMPTY";
    case Nfs3Status::kDquot:
      return "NFS3ERR_DQUOT";
    case Nfs3Status::kStale:
      return "NFS3ERR_STALE";
    case Nfs3Status::kRemote:
      return "NFS3ERR_REMOTE";
    case Nfs3Status::kBadHandle:
      return "NFS3ERR_BADHANDLE";
    case Nfs3Status::kNotSync:
      return "NFS3ERR_NOT_SYNC";
    case Nfs3Status::kBadCookie:
      return "NFS3ERR_BAD_COOKIE";
    case Nfs3Status::kNotSupp:
      return "NFS3ERR_NOTSUPP";
    case Nfs3Status::kTooSmall:
      return "NFS3ERR_TOOSMALL";
    case Nfs3Status::kServerFault:
      return "NFS3ERR_SERVERFAULT";
    case Nfs3Status::kBadType:
      return "NFS3ERR_BADTYPE";
    case Nfs3Status::kJukebox:
      return "NFS3ERR_JUKEBOX";
  }
  return absl::StrCat("NFS3ERR_", status);
}

void Nfs3Program::Dispatch(Call call, Reply reply) {
  auto proc = static_cast<Nfs3Proc>(call.procedure);
  switch (proc) {
    case Nfs3Proc::kNull:
      return std::move(reply)(AcceptStat::kSuccess, "", "");
    case Nfs3Proc::kGetAttr:
      return GetAttr(std::move(call), std::move(reply));
    case Nfs3Proc::kSetAttr:
      return SetAttr(std::move(call), std::move(reply));
    case Nfs3Proc::kLookup:
      return Lookup(std::move(call), std::move(reply));
    case Nfs3Proc::kAccess:
      return Access(std::move(call), std::move(reply));
    case Nfs3Proc::kReadLink:
      return ReadLink(std::move(call), std::move(reply));
    case Nfs3Proc::kRead:
      return Read(std::move(call), std::move(reply));
    case Nfs3Proc::kWrite:
      return Write(std::move(call), std::move(reply));
    case Nfs3Proc::kCreate:
      return Create(std::move(call), std::move(reply));
    case Nfs3Proc::kMkdir:
      return Mkdir(std::move(call), std::move(reply));
    case Nfs3Proc::kSymlink:
      return Symlink(std::move(call), std::move(reply));
    case Nfs3Proc::kMknod:
      return Mknod(std::move(call), std::move(reply));
    case Nfs3Proc::kRemove:
      return Remove(std::move(call), std::move(reply), /*directory=*/false);
    case Nfs3Proc::kRmdir:
      return Remove(std::move(call), std::move(reply), /*directory=*/true);
    case Nfs3Proc::kRename:
      return Rename(std::move(call), std::move(reply));
    case Nfs3Proc::kLink:
      return Link(std::move(call), std::move(reply));
    case Nfs3Proc::kReadDir:
      return ReadDir(std::move(call), std::move(reply), /*plus=*/false);
    case Nfs3Proc::kReadDirPlus:
      return ReadDir(std::move(call), std::move(reply), /*plus=*/true);
    case Nfs3Proc::kFsStat:
      return FsStat(std::move(call), std::move(reply));
    case Nfs3Proc::kFsInfo:
      return FsInfo(std::move(call), std::move(reply), /*pathconf=*/false);
    case Nfs3Proc::kPathConf:
      return FsInfo(std::move(call), std::move(reply), /*pathconf=*/true);
    case Nfs3Proc::kCommit:
      return Commit(std::move(call), std::move(reply));
  }
  std::move(reply)(AcceptStat::kProcUnavail, "", "");
}

// Resolves `handle` for `proc` into `target`; on failure it answers the call and returns.
#define CFS_RESOLVE(target, handle, proc)                            \
  absl::StatusOr<NfsTarget> target = context_.Resolve(handle, call); \
  if (!target.ok()) return Fail(reply, proc, target.status());       \
  if (target->read_only && Modifies(proc)) return Fail(reply, proc, Nfs3Status::kRofs)

#define CFS_DECODE(args, decoder) \
  auto args = decoder;            \
  if (!args.has_value()) return std::move(reply)(AcceptStat::kGarbageArgs, "", "")

void Nfs3Program::GetAttr(Call call, Reply reply) {
  CFS_DECODE(fh, DecodeHandleArgs(call.args));
  CFS_RESOLVE(t, *fh, Nfs3Proc::kGetAttr);
  NfsTarget target = *t;
  context_.backend().GetAttr(
      target.ctx, target.inode,
      [target, reply = std::move(reply)](absl::StatusOr<Attributes> attrs) mutable {
        if (!attrs.ok()) return Fail(reply, Nfs3Proc::kGetAttr, attrs.status());
        if (attrs->generation != target.generation) {
          return Fail(reply, Nfs3Proc::kGetAttr, Nfs3Status::kStale);
        }
        XdrWriter out;
        EncodeStatus(out, Nfs3Status::kOk);
        EncodeFattr(out, *attrs, FsId(target));
        Send(reply, out);
      });
}

void Nfs3Program::SetAttr(Call call, Reply reply) {
  CFS_DECODE(args, DecodeSetAttrArgs(call.args));
  CFS_RESOLVE(t, args->object, Nfs3Proc::kSetAttr);
  NfsTarget target = *t;
  context_.backend().SetAttr(
      target.ctx, target.inode, args->attrs,
      [target, reply = std::move(reply)](absl::StatusOr<AttrChange> change) mutable {
        if (!change.ok()) return Fail(reply, Nfs3Proc::kSetAttr, change.status());
        XdrWriter out;
        EncodeStatus(out, Nfs3Status::kOk);
        EncodeWcc(out, &*change, FsId(target));
        Send(reply, out);
      });
}

void Nfs3Program::Lookup(Call call, Reply reply) {
  CFS_DECODE(args, DecodeDirOpArgs(call.args));
  CFS_RESOLVE(t, args->dir, Nfs3Proc::kLookup);
  NfsTarget target = *t;
  const NfsContext* context = &context_;
  // ".." at an export's root stays there: no handle outside the export is ever handed out.
  absl::string_view name = args->name;
  if (name == ".." && target.inode == target.root) name = ".";
  context_.backend().Lookup(
      target.ctx, target.inode, name,
      [context, target, reply = std::move(reply)](absl::StatusOr<Attributes> attrs) mutable {
        if (!attrs.ok()) return Fail(reply, Nfs3Proc::kLookup, attrs.status());
        XdrWriter out;
        EncodeStatus(out, Nfs3Status::kOk);
        out.Opaque(context->HandleFor(*target.export_, *attrs));
        EncodePostOpAttr(out, &*attrs, FsId(target));
        EncodePostOpAttr(out, nullptr, FsId(target));  // directory attributes: not fetched
        Send(reply, out);
      });
}

void Nfs3Program::Access(Call call, Reply reply) {
  CFS_DECODE(args, DecodeAccessArgs(call.args));
  CFS_RESOLVE(t, args->object, Nfs3Proc::kAccess);
  NfsTarget target = *t;
  uint32_t requested = args->access;
  context_.backend().GetAttr(
      target.ctx, target.inode,
      [target, requested, reply = std::move(reply)](absl::StatusOr<Attributes> attrs) mutable {
        if (!attrs.ok()) return Fail(reply, Nfs3Proc::kAccess, attrs.status());
        uint32_t posix = auth::GrantedAccess(target.ctx.identity, *attrs, 7);
        bool dir = attrs->type == FileType::kDirectory;
        uint32_t granted = 0;
        if (posix & backend::kAccessRead) granted |= kAccess3Read;
        if (!target.read_only && (posix & backend::kAccessWrite)) {
          granted |= kAccess3Modify | kAccess3Extend;
          if (dir) granted |= kAccess3Delete;
        }
        if (posix & backend::kAccessExecute) granted |= dir ? kAccess3Lookup : kAccess3Execute;
        XdrWriter out;
        EncodeStatus(out, Nfs3Status::kOk);
        EncodePostOpAttr(out, &*attrs, FsId(target));
        out.U32(granted & requested);
        Send(reply, out);
      });
}

void Nfs3Program::ReadLink(Call call, Reply reply) {
  CFS_DECODE(fh, DecodeHandleArgs(call.args));
  CFS_RESOLVE(t, *fh, Nfs3Proc::kReadLink);
  NfsTarget target = *t;
  context_.backend().ReadLink(
      target.ctx, target.inode,
      [target, reply = std::move(reply)](absl::StatusOr<std::string> path) mutable {
        if (!path.ok()) return Fail(reply, Nfs3Proc::kReadLink, path.status());
        XdrWriter out;
        EncodeStatus(out, Nfs3Status::kOk);
        EncodePostOpAttr(out, nullptr, FsId(target));
        out.String(*path);
        Send(reply, out);
      });
}

void Nfs3Program::Read(Call call, Reply reply) {
  CFS_DECODE(args, DecodeReadArgs(call.args));
  CFS_RESOLVE(t, args->file, Nfs3Proc::kRead);
  NfsTarget target = *t;
  target.ctx.owner_override = true;  // as knfsd: the client checked access at open
  // Over UDP a reply must fit in one datagram: a short read is a valid answer (eof false).
  uint32_t limit = call.datagram ? rpc::kMaxDatagramReply - 512 : kMaxTransfer;
  uint32_t count = std::min(args->count, limit);
  context_.backend().Read(
      target.ctx, target.inode, args->offset, count,
      [target, reply = std::move(reply)](absl::StatusOr<backend::ReadResult> r) mutable {
        if (!r.ok()) return Fail(reply, Nfs3Proc::kRead, r.status());
        XdrWriter out;
        EncodeStatus(out, Nfs3Status::kOk);
        EncodePostOpAttr(out, &r->attributes, FsId(target));
        out.U32(static_cast<uint32_t>(r->data.size()));
        out.Bool(r->eof);
        out.U32(static_cast<uint32_t>(r->data.size()));  // opaque length; the bytes follow
        r->data.append((4 - (r->data.size() & 3)) & 3, '\0');
        Send(reply, out, std::move(r->data));  // sent as is, not copied into the reply
      });
}

void Nfs3Program::Write(Call call, Reply reply) {
  CFS_DECODE(args, DecodeWriteArgs(call.args));
  CFS_RESOLVE(t, args->file, Nfs3Proc::kWrite);
  NfsTarget target = *t;
  target.ctx.owner_override = true;                // as knfsd: the client checked access at open
  args->data = args->data.substr(0, args->count);  // a view into the call's record
  // The payload stays in the call's record buffer, which the backend keeps alive: no copy.
  context_.backend().Write(
      target.ctx, target.inode, args->offset, Buffer::Wrap(call.record, args->data), args->stable,
      [target, reply = std::move(reply)](absl::StatusOr<backend::WriteResult> r) mutable {
        if (!r.ok()) return Fail(reply, Nfs3Proc::kWrite, r.status());
        XdrWriter out;
        EncodeStatus(out, Nfs3Status::kOk);
        EncodeWcc(out, &r->attributes, FsId(target));
        out.U32(static_cast<uint32_t>(r->count));
        out.U32(static_cast<uint32_t>(r->committed));
        out.U64(r->verifier);
        Send(reply, out);
      });
}

void Nfs3Program::Create(Call call, Reply reply) {
  CFS_DECODE(args, DecodeCreateArgs(call.args));
  CFS_RESOLVE(t, args->where.dir, Nfs3Proc::kCreate);
  NfsTarget target = *t;
  backend::CreateRequest request;
  request.parent = target.inode;
  request.name = args->where.name;
  request.how = args->how;
  request.verifier = args->verifier;
  request.attributes = args->attrs;
  const NfsContext* context = &context_;
  context_.backend().Create(
      target.ctx, request,
      [context, target, reply = std::move(reply)](absl::StatusOr<EntryResult> made) mutable {
        SendEntry(reply, *context, target, made, Nfs3Proc::kCreate);
      });
}

void Nfs3Program::Mkdir(Call call, Reply reply) {
  CFS_DECODE(args, DecodeMkdirArgs(call.args));
  CFS_RESOLVE(t, args->where.dir, Nfs3Proc::kMkdir);
  NfsTarget target = *t;
  const NfsContext* context = &context_;
  context_.backend().MakeDirectory(
      target.ctx, target.inode, args->where.name, args->attrs,
      [context, target, reply = std::move(reply)](absl::StatusOr<EntryResult> made) mutable {
        SendEntry(reply, *context, target, made, Nfs3Proc::kMkdir);
      });
}

void Nfs3Program::Symlink(Call call, Reply reply) {
  CFS_DECODE(args, DecodeSymlinkArgs(call.args));
  CFS_RESOLVE(t, args->where.dir, Nfs3Proc::kSymlink);
  NfsTarget target = *t;
  const NfsContext* context = &context_;
  context_.backend().MakeSymlink(
      target.ctx, target.inode, args->where.name, args->target, args->attrs,
      [context, target, reply = std::move(reply)](absl::StatusOr<EntryResult> made) mutable {
        SendEntry(reply, *context, target, made, Nfs3Proc::kSymlink);
      });
}

void Nfs3Program::Mknod(Call call, Reply reply) {
  CFS_DECODE(args, DecodeMknodArgs(call.args));
  CFS_RESOLVE(t, args->where.dir, Nfs3Proc::kMknod);
  if (args->type == FileType::kRegular) return Fail(reply, Nfs3Proc::kMknod, Nfs3Status::kBadType);
  NfsTarget target = *t;
  const NfsContext* context = &context_;
  context_.backend().MakeNode(
      target.ctx, target.inode, args->where.name, args->type, args->major, args->minor, args->attrs,
      [context, target, reply = std::move(reply)](absl::StatusOr<EntryResult> made) mutable {
        SendEntry(reply, *context, target, made, Nfs3Proc::kMknod);
      });
}

void Nfs3Program::Remove(Call call, Reply reply, bool directory) {
  Nfs3Proc proc = directory ? Nfs3Proc::kRmdir : Nfs3Proc::kRemove;
  CFS_DECODE(args, DecodeDirOpArgs(call.args));
  CFS_RESOLVE(t, args->dir, proc);
  NfsTarget target = *t;
  auto done = [target, proc, reply = std::move(reply)](absl::StatusOr<AttrChange> change) mutable {
    if (!change.ok()) return Fail(reply, proc, change.status());
    XdrWriter out;
    EncodeStatus(out, Nfs3Status::kOk);
    EncodeWcc(out, &*change, FsId(target));
    Send(reply, out);
  };
  if (directory) {
    context_.backend().RemoveDirectory(target.ctx, target.inode, args->name, std::move(done));
  } else {
    context_.backend().Unlink(target.ctx, target.inode, args->name, std::move(done));
  }
}

void Nfs3Program::Rename(Call call, Reply reply) {
  CFS_DECODE(args, DecodeRenameArgs(call.args));
  CFS_RESOLVE(from, args->from.dir, Nfs3Proc::kRename);
  CFS_RESOLVE(to, args->to.dir, Nfs3Proc::kRename);
  if (from->export_->id != to->export_->id) {
    return Fail(reply, Nfs3Proc::kRename, Nfs3Status::kXdev);
  }
  NfsTarget target = *from;
  context_.backend().Rename(
      target.ctx, from->inode, args->from.name, to->inode, args->to.name,
      [target, reply = std::move(reply)](absl::StatusOr<backend::RenameResult> r) mutable {
        if (!r.ok()) return Fail(reply, Nfs3Proc::kRename, r.status());
        XdrWriter out;
        EncodeStatus(out, Nfs3Status::kOk);
        EncodeWcc(out, &r->from_dir, FsId(target));
        EncodeWcc(out, &r->to_dir, FsId(target));
        Send(reply, out);
      });
}

void Nfs3Program::Link(Call call, Reply reply) {
  CFS_DECODE(args, DecodeLinkArgs(call.args));
  CFS_RESOLVE(file, args->file, Nfs3Proc::kLink);
  CFS_RESOLVE(dir, args->link.dir, Nfs3Proc::kLink);
  if (file->export_->id != dir->export_->id) {
    return Fail(reply, Nfs3Proc::kLink, Nfs3Status::kXdev);
  }
  NfsTarget target = *dir;
  context_.backend().Link(
      target.ctx, file->inode, dir->inode, args->link.name,
      [target, reply = std::move(reply)](absl::StatusOr<EntryResult> r) mutable {
        if (!r.ok()) return Fail(reply, Nfs3Proc::kLink, r.status());
        XdrWriter out;
        EncodeStatus(out, Nfs3Status::kOk);
        EncodePostOpAttr(out, &r->attributes, FsId(target));
        EncodeWcc(out, &r->parent, FsId(target));
        Send(reply, out);
      });
}

void Nfs3Program::ReadDir(Call call, Reply reply, bool plus) {
  Nfs3Proc proc = plus ? Nfs3Proc::kReadDirPlus : Nfs3Proc::kReadDir;
  CFS_DECODE(args, DecodeReadDirArgs(call.args, plus));
  CFS_RESOLVE(t, args->dir, proc);
  NfsTarget target = *t;
  // Cookies 1 and 2 are "." and ".."; the backend's own cookies start at 3.
  bool want_dots = args->cookie < 2;
  uint64_t backend_cookie = args->cookie <= 2 ? 0 : args->cookie;
  uint32_t maxcount =
      std::min<uint32_t>(args->maxcount, call.datagram ? rpc::kMaxDatagramReply : kMaxTransfer);
  uint32_t dircount = plus ? args->dircount : maxcount;
  size_t per_entry = plus ? 200 : 24;
  size_t max_entries = maxcount / per_entry + 2;
  uint64_t start_cookie = args->cookie;
  const NfsContext* context = &context_;
  context_.backend().ReadDir(
      target.ctx, target.inode, backend_cookie, args->cookie <= 2 ? 0 : args->verifier, max_entries,
      plus,
      [context, target, plus, proc, want_dots, start_cookie, maxcount, dircount,
       reply = std::move(reply)](absl::StatusOr<backend::ReadDirResult> r) mutable {
        if (!r.ok()) return Fail(reply, proc, r.status());
        XdrWriter out;
        EncodeStatus(out, Nfs3Status::kOk);
        EncodePostOpAttr(out, &r->directory, FsId(target));
        out.U64(r->cookie_verifier);
        size_t reply_budget = maxcount > 128 ? maxcount - 128 : 0;
        size_t dir_budget = dircount;
        size_t used_reply = 0, used_dir = 0;
        size_t written = 0;
        bool complete = true;
        auto add = [&](uint64_t fileid, absl::string_view name, uint64_t cookie,
                       const Attributes* attrs) {
          size_t name_bytes = 4 + ((name.size() + 3) & ~size_t{3});
          size_t dir_cost = 8 + name_bytes + 8;
          size_t cost = 4 + dir_cost + (plus ? 4 + 84 + 4 + 4 + 40 : 0);
          if (used_reply + cost > reply_budget || (plus && used_dir + dir_cost > dir_budget)) {
            complete = false;
            return false;
          }
          used_reply += cost;
          used_dir += dir_cost;
          out.Bool(true);
          out.U64(fileid);
          out.String(name);
          out.U64(cookie);
          if (plus) {
            EncodePostOpAttr(out, attrs, FsId(target));
            if (attrs != nullptr) {
              std::string handle = context->HandleFor(*target.export_, *attrs);
              EncodePostOpFh(out, &handle);
            } else {
              EncodePostOpFh(out, nullptr);
            }
          }
          ++written;
          return true;
        };
        bool room = true;
        if (want_dots) {
          if (start_cookie == 0) room = add(r->directory.inode, ".", 1, &r->directory);
          // ".." names the parent; its number is not fetched, so the directory stands in.
          if (room) room = add(r->directory.inode, "..", 2, nullptr);
        }
        for (size_t i = 0; room && i < r->entries.size(); ++i) {
          const backend::DirEntry& e = r->entries[i];
          room = add(e.inode, e.name, e.cookie, e.attributes ? &*e.attributes : nullptr);
        }
        if (written == 0 && !complete) return Fail(reply, proc, Nfs3Status::kTooSmall);
        out.Bool(false);  // no more entries in this reply
        out.Bool(complete && r->eof);
        Send(reply, out);
      });
}

void Nfs3Program::FsStat(Call call, Reply reply) {
  CFS_DECODE(fh, DecodeHandleArgs(call.args));
  CFS_RESOLVE(t, *fh, Nfs3Proc::kFsStat);
  NfsTarget target = *t;
  context_.backend().FsStat(
      target.ctx, target.inode,
      [target, reply = std::move(reply)](absl::StatusOr<backend::FsStatResult> s) mutable {
        if (!s.ok()) return Fail(reply, Nfs3Proc::kFsStat, s.status());
        XdrWriter out;
        EncodeStatus(out, Nfs3Status::kOk);
        EncodePostOpAttr(out, &s->root, FsId(target));
        out.U64(s->total_bytes);
        out.U64(s->free_bytes);
        out.U64(s->available_bytes);
        out.U64(s->total_files);
        out.U64(s->free_files);
        out.U64(s->available_files);
        out.U32(0);  // invarsec
        Send(reply, out);
      });
}

void Nfs3Program::FsInfo(Call call, Reply reply, bool pathconf) {
  Nfs3Proc proc = pathconf ? Nfs3Proc::kPathConf : Nfs3Proc::kFsInfo;
  CFS_DECODE(fh, DecodeHandleArgs(call.args));
  CFS_RESOLVE(t, *fh, proc);
  NfsTarget target = *t;
  context_.backend().GetAttr(
      target.ctx, target.inode,
      [target, pathconf, proc, reply = std::move(reply)](absl::StatusOr<Attributes> a) mutable {
        if (!a.ok()) return Fail(reply, proc, a.status());
        XdrWriter out;
        EncodeStatus(out, Nfs3Status::kOk);
        EncodePostOpAttr(out, &*a, FsId(target));
        if (pathconf) {
          out.U32(65000);  // linkmax
          out.U32(static_cast<uint32_t>(backend::kMaxNameLength));
          out.Bool(true);   // no_trunc: long names fail
          out.Bool(true);   // chown_restricted
          out.Bool(false);  // case_insensitive
          out.Bool(true);   // case_preserving
        } else {
          out.U32(kMaxTransfer);  // rtmax
          out.U32(kMaxTransfer);  // rtpref
          out.U32(4096);          // rtmult
          out.U32(kMaxTransfer);  // wtmax
          out.U32(kMaxTransfer);  // wtpref
          out.U32(4096);          // wtmult
          out.U32(64 * 1024);     // dtpref
          out.U64(1ULL << 44);    // maxfilesize
          out.U32(0);             // time_delta: 1 ns
          out.U32(1);
          out.U32(0x1 | 0x2 | 0x8 | 0x10);  // LINK, SYMLINK, HOMOGENEOUS, CANSETTIME
        }
        Send(reply, out);
      });
}

void Nfs3Program::Commit(Call call, Reply reply) {
  CFS_DECODE(args, DecodeCommitArgs(call.args));
  CFS_RESOLVE(t, args->file, Nfs3Proc::kCommit);
  NfsTarget target = *t;
  context_.backend().Commit(
      target.ctx, target.inode, args->offset, args->count,
      [target, reply = std::move(reply)](absl::StatusOr<backend::CommitResult> r) mutable {
        if (!r.ok()) return Fail(reply, Nfs3Proc::kCommit, r.status());
        XdrWriter out;
        EncodeStatus(out, Nfs3Status::kOk);
        EncodeWcc(out, &r->attributes, FsId(target));
        out.U64(r->verifier);
        Send(reply, out);
      });
}

}  // namespace cfs::nfs
