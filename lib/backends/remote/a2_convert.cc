#include "lib/backends/remote/a2_convert.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "lib/backend/errors.h"

namespace cfs::remote {
namespace {

pb::Timestamp ToProto(const backend::Timestamp& t) {
  pb::Timestamp out;
  out.set_seconds(t.seconds);
  out.set_nanos(t.nanos);
  return out;
}

backend::Timestamp FromProto(const pb::Timestamp& t) {
  backend::Timestamp out;
  out.seconds = t.seconds();
  out.nanos = t.nanos() < 1000000000 ? t.nanos() : 999999999;
  return out;
}

constexpr char kFsErrorPrefix[] = "fs:";

}  // namespace

pb::Caller ToProto(const backend::RequestContext& ctx) {
  pb::Caller out;
  pb::Identity* id = out.mutable_identity();
  id->set_uid(ctx.identity.uid);
  id->set_gid(ctx.identity.gid);
  for (uint32_t g : ctx.identity.groups) id->add_groups(g);
  id->set_principal(ctx.identity.principal);
  if (ctx.deadline != absl::InfiniteFuture()) {
    out.set_deadline_unix_micros(absl::ToUnixMicros(ctx.deadline));
  }
  out.set_trace_id(ctx.trace_id);
  out.set_origin(ctx.origin);
  return out;
}

backend::RequestContext FromProto(const pb::Caller& caller) {
  backend::RequestContext ctx;
  ctx.identity.uid = caller.identity().uid();
  ctx.identity.gid = caller.identity().gid();
  ctx.identity.groups.assign(caller.identity().groups().begin(), caller.identity().groups().end());
  ctx.identity.principal = caller.identity().principal();
  if (caller.deadline_unix_micros() != 0) {
    ctx.deadline = absl::FromUnixMicros(caller.deadline_unix_micros());
  }
  ctx.trace_id = caller.trace_id();
  ctx.origin = caller.origin();
  return ctx;
}

pb::Attributes ToProto(const backend::Attributes& a) {
  pb::Attributes out;
  out.set_inode(a.inode);
  out.set_generation(a.generation);
  out.set_type(static_cast<uint32_t>(a.type));
  out.set_mode(a.mode);
  out.set_nlink(a.nlink);
  out.set_uid(a.uid);
  out.set_gid(a.gid);
  out.set_size(a.size);
  out.set_space_used(a.space_used);
  out.set_rdev_major(a.rdev_major);
  out.set_rdev_minor(a.rdev_minor);
  *out.mutable_atime() = ToProto(a.atime);
  *out.mutable_mtime() = ToProto(a.mtime);
  *out.mutable_ctime() = ToProto(a.ctime);
  *out.mutable_birth_time() = ToProto(a.birth_time);
  out.set_change_id(a.change_id);
  out.set_flags(a.flags);
  return out;
}

backend::Attributes FromProto(const pb::Attributes& a) {
  backend::Attributes out;
  out.inode = a.inode();
  out.generation = a.generation();
  uint32_t type = a.type();
  out.type =
      type >= 1 && type <= 7 ? static_cast<backend::FileType>(type) : backend::FileType::kRegular;
  out.mode = a.mode();
  out.nlink = a.nlink();
  out.uid = a.uid();
  out.gid = a.gid();
  out.size = a.size();
  out.space_used = a.space_used();
  out.rdev_major = a.rdev_major();
  out.rdev_minor = a.rdev_minor();
  out.atime = FromProto(a.atime());
  out.mtime = FromProto(a.mtime());
  out.ctime = FromProto(a.ctime());
  out.birth_time = FromProto(a.birth_time());
  out.change_id = a.change_id();
  out.flags = a.flags();
  return out;
}

pb::SetAttributes ToProto(const backend::SetAttributes& s) {
  pb::SetAttributes out;
  if (s.mode) out.set_mode(*s.mode);
  if (s.uid) out.set_uid(*s.uid);
  if (s.gid) out.set_gid(*s.gid);
  if (s.size) out.set_size(*s.size);
  out.set_atime_how(static_cast<uint32_t>(s.atime_how));
  *out.mutable_atime() = ToProto(s.atime);
  out.set_mtime_how(static_cast<uint32_t>(s.mtime_how));
  *out.mutable_mtime() = ToProto(s.mtime);
  if (s.guard_ctime) *out.mutable_guard_ctime() = ToProto(*s.guard_ctime);
  if (s.birth_time) *out.mutable_birth_time() = ToProto(*s.birth_time);
  if (s.ctime) *out.mutable_ctime() = ToProto(*s.ctime);
  if (s.flags) out.set_flags(*s.flags);
  return out;
}

backend::SetAttributes FromProto(const pb::SetAttributes& s) {
  using How = backend::SetAttributes::TimeHow;
  auto how = [](uint32_t v) { return v <= 2 ? static_cast<How>(v) : How::kDontChange; };
  backend::SetAttributes out;
  if (s.has_mode()) out.mode = s.mode();
  if (s.has_uid()) out.uid = s.uid();
  if (s.has_gid()) out.gid = s.gid();
  if (s.has_size()) out.size = s.size();
  out.atime_how = how(s.atime_how());
  out.atime = FromProto(s.atime());
  out.mtime_how = how(s.mtime_how());
  out.mtime = FromProto(s.mtime());
  if (s.has_guard_ctime()) out.guard_ctime = FromProto(s.guard_ctime());
  if (s.has_birth_time()) out.birth_time = FromProto(s.birth_time());
  if (s.has_ctime()) out.ctime = FromProto(s.ctime());
  if (s.has_flags()) out.flags = s.flags();
  return out;
}

pb::AttrChange ToProto(const backend::AttrChange& c) {
  pb::AttrChange out;
  *out.mutable_before() = ToProto(c.before);
  *out.mutable_after() = ToProto(c.after);
  return out;
}

backend::AttrChange FromProto(const pb::AttrChange& c) {
  return backend::AttrChange{FromProto(c.before()), FromProto(c.after())};
}

pb::EntryResult ToProto(const backend::EntryResult& e) {
  pb::EntryResult out;
  *out.mutable_attributes() = ToProto(e.attributes);
  *out.mutable_parent() = ToProto(e.parent);
  return out;
}

backend::EntryResult FromProto(const pb::EntryResult& e) {
  return backend::EntryResult{FromProto(e.attributes()), FromProto(e.parent())};
}

pb::ReadDirResponse ToProto(const backend::ReadDirResult& page) {
  pb::ReadDirResponse out;
  for (const backend::DirEntry& e : page.entries) {
    pb::DirEntry* d = out.add_entries();
    d->set_name(e.name);
    d->set_inode(e.inode);
    d->set_type(static_cast<uint32_t>(e.type));
    d->set_cookie(e.cookie);
    if (e.attributes) *d->mutable_attributes() = ToProto(*e.attributes);
  }
  out.set_eof(page.eof);
  out.set_cookie_verifier(page.cookie_verifier);
  *out.mutable_directory() = ToProto(page.directory);
  return out;
}

backend::ReadDirResult FromProto(const pb::ReadDirResponse& page) {
  backend::ReadDirResult out;
  out.entries.reserve(page.entries_size());
  for (const pb::DirEntry& d : page.entries()) {
    backend::DirEntry e;
    e.name = d.name();
    e.inode = d.inode();
    e.type = d.type() >= 1 && d.type() <= 7 ? static_cast<backend::FileType>(d.type())
                                            : backend::FileType::kRegular;
    e.cookie = d.cookie();
    if (d.has_attributes()) e.attributes = FromProto(d.attributes());
    out.entries.push_back(std::move(e));
  }
  out.eof = page.eof();
  out.cookie_verifier = page.cookie_verifier();
  out.directory = FromProto(page.directory());
  return out;
}

pb::FsStatResponse ToProto(const backend::FsStatResult& s) {
  pb::FsStatResponse out;
  out.set_total_bytes(s.total_bytes);
  out.set_free_bytes(s.free_bytes);
  out.set_available_bytes(s.available_bytes);
  out.set_total_files(s.total_files);
  out.set_free_files(s.free_files);
  out.set_available_files(s.available_files);
  *out.mutable_root() = ToProto(s.root);
  return out;
}

backend::FsStatResult FromProto(const pb::FsStatResponse& s) {
  backend::FsStatResult out;
  out.total_bytes = s.total_bytes();
  out.free_bytes = s.free_bytes();
  out.available_bytes = s.available_bytes();
  out.total_files = s.total_files();
  out.free_files = s.free_files();
  out.available_files = s.available_files();
  out.root = FromProto(s.root());
  return out;
}

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  std::string details;
  if (std::optional<backend::FsError> fs = backend::GetFsError(status)) {
    details = kFsErrorPrefix + std::to_string(static_cast<int>(*fs));
  }
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()),
                      details);
}

absl::Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  const std::string& details = status.error_details();
  int fs = 0;
  if (absl::StartsWith(details, kFsErrorPrefix) &&
      absl::SimpleAtoi(absl::string_view(details).substr(3), &fs) && fs >= 0 &&
      fs <= static_cast<int>(backend::FsError::kIo)) {
    return backend::FsErrorStatus(static_cast<backend::FsError>(fs), status.error_message());
  }
  int code = static_cast<int>(status.error_code());
  if (code <= 0 || code > static_cast<int>(absl::StatusCode::kUnauthenticated)) {
    code = static_cast<int>(absl::StatusCode::kUnknown);
  }
  return absl::Status(static_cast<absl::StatusCode>(code), status.error_message());
}

}  // namespace cfs::remote
