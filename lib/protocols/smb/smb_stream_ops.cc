// Named streams of SmbConnection: CREATE of "file:stream", and READ, WRITE, resize and rename
// of a stream handle. The streams live in the file's extended attributes (smb_streams.h);
// share modes, locks and delete-on-close are kept per stream (Open::Key).
#include "absl/strings/match.h"
#include "lib/backend/errors.h"
#include "lib/backend/sync_backend.h"
#include "lib/common/logging.h"
#include "lib/protocols/smb/le_bytes.h"
#include "lib/protocols/smb/ntstatus.h"
#include "lib/protocols/smb/smb_access.h"
#include "lib/protocols/smb/smb_connection.h"
#include "lib/protocols/smb/smb_create_helpers.h"
#include "lib/protocols/smb/smb_info.h"
#include "lib/protocols/smb/smb_streams.h"

namespace cfs::smb {

namespace {

bool IsMissing(const absl::Status& status) {
  return backend::GetFsError(status) == backend::FsError::kNoEntry;
}

}  // namespace

SmbResponse SmbConnection::CreateStreamOpen(SmbRequest& r, const CreateRequest& req,
                                            const ParsedPath& path, ResolvedParent& parent,
                                            const std::shared_ptr<Open>& open, uint32_t desired,
                                            std::optional<LeaseContext>& lease_request,
                                            const std::string& lease_id) {
  const std::shared_ptr<Session>& session = r.session;
  using namespace create;  // NOLINT: the dispositions, actions and options of CREATE
  const std::shared_ptr<Tree>& tree = open->tree;
  if (path.stream.size() > kMaxStreamNameLength) return SmbResponse{nt::kObjectNameInvalid};
  backend::SyncBackend fs(server_.backend(), tree->ctx);
  bool creates = req.disposition != kOpen && req.disposition != kOverwrite;
  bool truncates = req.disposition == kOverwrite || req.disposition == kOverwriteIf ||
                   req.disposition == kSupersede;

  // The file the stream belongs to; a CREATE that may make the stream makes a missing file.
  backend::Attributes base;
  bool made_base = false;
  absl::StatusOr<backend::Attributes> found = LookupIgnoringCase(fs, parent.dir, &parent.name);
  if (found.ok()) {
    base = *found;
    if (base.type != backend::FileType::kRegular && base.type != backend::FileType::kDirectory) {
      return SmbResponse{nt::kAccessDenied};
    }
    if (server_.state().DeletePending(base.inode)) return SmbResponse{nt::kDeletePending};
  } else if (found.status().code() != absl::StatusCode::kNotFound) {
    return SmbResponse{NtStatusFor(found.status())};
  } else {
    if (!creates) return SmbResponse{nt::kObjectNameNotFound};
    if (tree->read_only) return SmbResponse{nt::kAccessDenied};
    absl::StatusOr<std::optional<Dacl>> dacl = DaclOfCreateContexts(req.contexts);
    if (!dacl.ok()) return SmbResponse{nt::kInvalidParameter};
    absl::StatusOr<backend::EntryResult> made =
        fs.Create(parent.dir, parent.name, backend::CreateMode::kGuarded, 0, 0644);
    if (!made.ok()) return SmbResponse{NtStatusFor(made.status())};
    base = made->attributes;
    made_base = true;
    server_.state().DirectoryChanged(parent.dir);
    SetNewFileDacl(fs, parent.dir, base, *dacl);  // as for any new file
  }

  // Access to a stream is access to its file (there is one security descriptor per file).
  bool by_dacl = false;
  uint32_t maximal =
      HandleAccess(fs, tree->ctx.identity, base, &parent.dir_attrs, tree->read_only, &by_dacl);
  if (made_base) maximal |= access::kAll;  // the creator gets what it asked for
  if (uint32_t s = CheckOpenAccess(tree->ctx.identity, base, maximal, by_dacl && !made_base,
                                   truncates, tree->read_only, &desired);
      s != nt::kSuccess) {
    return SmbResponse{s};
  }

  std::lock_guard<std::mutex> streams(server_.state().StreamLock(base.inode));
  absl::StatusOr<std::string> stored = FindStream(fs, base.inode, path.stream);
  if (!stored.ok() && !IsMissing(stored.status())) {
    return SmbResponse{NtStatusFor(stored.status())};
  }
  bool exists = stored.ok();
  if (exists && req.disposition == kCreate) return SmbResponse{nt::kObjectNameCollision};
  if (!exists && !creates) return SmbResponse{nt::kObjectNameNotFound};
  open->inode = base.inode;
  open->stream = exists ? *stored : path.stream;
  open->stream_key = SmbServerState::StreamKey(base.inode, open->stream);
  open->granted_access = desired;
  // A stream is a file of its own for oplocks and leases too (its own lease key).
  SmbServerState& state = server_.state();
  uint64_t key = open->Key();
  if (lease_request.has_value()) {
    if (uint32_t s = state.CheckLeaseKey(lease_id, key); s != nt::kSuccess) return SmbResponse{s};
  }
  SmbServerState::Intent intent{truncates, desired, req.share_access, lease_id};
  using Step = SmbServerState::BreakStep;
  bool breaks = exists && (!access::IsStatAccess(desired) || truncates);
  if (breaks) {
    if (std::optional<SmbResponse> wait =
            WaitForOplockBreaks(r, key, intent, Step::kBeforeShareCheck)) {
      return *wait;
    }
  }
  if (uint32_t s = state.RegisterOpen(open); s != nt::kSuccess) return SmbResponse{s};
  if (breaks) {
    if (std::optional<SmbResponse> wait =
            WaitForOplockBreaks(r, key, intent, Step::kAfterShareCheck)) {
      state.UnregisterOpen(*open);  // registered again when the CREATE runs again
      return *wait;
    }
  }
  uint32_t action = kActionOpened;
  absl::Status changed;
  if (!exists) {
    changed = CreateStream(fs, base.inode, open->stream);
    action = kActionCreated;
  } else if (truncates) {
    changed = TruncateStream(fs, base.inode, open->stream, 0);
    action = req.disposition == kSupersede ? kActionSuperseded : kActionOverwritten;
  }
  uint64_t size = 0;
  if (changed.ok() && exists && !truncates) {
    absl::StatusOr<std::string> content = ReadStream(fs, base.inode, open->stream);
    if (content.ok()) {
      size = content->size();
    } else {
      changed = content.status();
    }
  }
  if (!changed.ok()) {
    server_.state().UnregisterOpen(*open);
    return SmbResponse{NtStatusFor(changed)};
  }

  open->parent = parent.dir;
  open->name = parent.name;
  open->path = parent.PathOf(parent.name) + ":" + open->stream;
  open->directory = false;
  open->delete_on_close = (req.options & kOptDeleteOnClose) != 0;
  open->conn = weak_from_this();
  open->session = session;
  open->encrypted = r.encrypted;
  uint8_t oplock = GrantCaching(open, req.oplock_level, &lease_request, lease_id);
  fs.Open(base.inode).IgnoreError();
  {
    std::lock_guard<std::mutex> lock(session->mu);
    session->opens[open->id] = open;
  }
  // No durable handle is granted on a stream: the response leaves DHnQ/DH2Q out.
  CreateResponse resp = ResponseFor(StreamAttributes(base, size), open->id, action);
  resp.oplock_level = oplock;
  AddLeaseContext(lease_request, &resp);
  for (const CreateContext& ctx : req.contexts) {
    if (ctx.name == "MxAc") {
      std::string data;
      Put32(&data, 0);
      Put32(&data, maximal);
      resp.contexts.push_back({"MxAc", data});
    } else if (ctx.name == "QFid") {
      std::string data;
      Put64(&data, base.inode);  // a stream has its file's id (as in Windows)
      Put64(&data, tree->share->export_->id);
      data.append(16, '\0');
      resp.contexts.push_back({"QFid", data});
    }
  }
  SmbResponse out;
  out.body = EncodeCreateResponse(resp);
  out.created = resp.file;
  return out;
}

void SmbConnection::RemoveNamedStreams(backend::SyncBackend& fs, backend::InodeNumber inode) {
  SmbServerState& state = server_.state();
  std::lock_guard<std::mutex> streams(state.StreamLock(inode));
  absl::StatusOr<std::vector<StreamInfo>> names = ListStreams(fs, inode);
  if (!names.ok()) return;
  for (const StreamInfo& stream : *names) {
    if (state.OpenElsewhere(SmbServerState::StreamKey(inode, stream.name), 0)) continue;
    absl::Status removed = RemoveStream(fs, inode, stream.name);
    if (!removed.ok()) {
      CFS_LOG(WARNING, "smb") << "inode " << inode << ": removing stream '" << stream.name
                              << "' on overwrite failed: " << removed.message();
    }
  }
}

SmbResponse SmbConnection::ReadStreamOpen(const Open& open, const ReadRequest& req) {
  // Stream I/O bypasses the backend's data path (and so the ChangeFeed): breaks are sent here.
  server_.SendBreaks(server_.state().BreakForAccess(open.Key(), open.id, false));
  backend::SyncBackend fs(server_.backend(), open.tree->ctx);
  absl::StatusOr<std::string> content = ReadStream(fs, open.inode, open.stream);
  if (!content.ok()) return SmbResponse{NtStatusFor(content.status())};
  if (req.offset >= content->size() && req.length > 0) return SmbResponse{nt::kEndOfFile};
  size_t from = std::min<uint64_t>(req.offset, content->size());
  std::string data = content->substr(from, req.length);
  if (data.size() < req.minimum_count) return SmbResponse{nt::kEndOfFile};
  SmbResponse out;
  out.body = EncodeReadResponseHead(static_cast<uint32_t>(data.size())) + data;
  return out;
}

SmbResponse SmbConnection::WriteStreamOpen(Open& open, const WriteRequest& req) {
  server_.SendBreaks(server_.state().BreakForAccess(open.Key(), open.id, true));
  backend::SyncBackend fs(server_.backend(), open.tree->ctx);
  {
    // Stored at once and durably (attribute changes are synchronous): nothing to commit later.
    std::lock_guard<std::mutex> streams(server_.state().StreamLock(open.inode));
    absl::StatusOr<uint64_t> size = WriteStream(fs, open.inode, open.stream, req.offset, req.data);
    if (!size.ok()) return SmbResponse{NtStatusFor(size.status())};
  }
  {
    std::lock_guard<std::mutex> lock(open.mu);
    open.position = req.offset + req.data.size();
  }
  SmbResponse out;
  out.body = EncodeWriteResponse(static_cast<uint32_t>(req.data.size()));
  return out;
}

SmbResponse SmbConnection::ResizeStreamOpen(const Open& open, uint64_t size, bool allocation) {
  backend::SyncBackend fs(server_.backend(), open.tree->ctx);
  std::lock_guard<std::mutex> streams(server_.state().StreamLock(open.inode));
  if (allocation) {
    absl::StatusOr<std::string> content = ReadStream(fs, open.inode, open.stream);
    if (!content.ok()) return SmbResponse{NtStatusFor(content.status())};
    if (size >= content->size()) size = content->size();  // allocated as data is written
  }
  absl::Status resized = TruncateStream(fs, open.inode, open.stream, size);
  if (!resized.ok()) return SmbResponse{NtStatusFor(resized)};
  SmbResponse ok;
  ok.body = EncodeSmallBody(2);
  return ok;
}

SmbResponse SmbConnection::RenameStreamOpen(const std::shared_ptr<Open>& open,
                                            absl::string_view target, bool replace_if_exists) {
  // Only a stream is renamed to a stream, within its file: the target is ":name[:$DATA]".
  ParsedPath parsed;
  std::string probe = "x" + std::string(target);
  if (open->stream.empty() || !absl::StartsWith(target, ":") ||
      ParseSmbPath(probe, &parsed) != nt::kSuccess || parsed.stream.empty()) {
    return SmbResponse{nt::kInvalidParameter};
  }
  if (parsed.stream.size() > kMaxStreamNameLength) return SmbResponse{nt::kObjectNameInvalid};
  SmbServerState& state = server_.state();
  backend::SyncBackend fs(server_.backend(), open->tree->ctx);
  std::lock_guard<std::mutex> streams(state.StreamLock(open->inode));
  absl::StatusOr<std::string> existing = FindStream(fs, open->inode, parsed.stream);
  bool same = existing.ok() && absl::EqualsIgnoreCase(*existing, open->stream);
  SmbResponse ok;
  ok.body = EncodeSmallBody(2);
  if (same && parsed.stream == open->stream) return ok;
  if (existing.ok() && !same) {
    if (!replace_if_exists) return SmbResponse{nt::kObjectNameCollision};
    if (state.OpenElsewhere(SmbServerState::StreamKey(open->inode, *existing), 0)) {
      return SmbResponse{nt::kAccessDenied};
    }
  }
  // Other handles on the stream keep its name (they would lose it otherwise).
  if (state.OpenElsewhere(open->Key(), open->id)) return SmbResponse{nt::kSharingViolation};
  if (existing.ok() && !same) {
    absl::Status removed = RemoveStream(fs, open->inode, *existing);
    if (!removed.ok()) return SmbResponse{NtStatusFor(removed)};
  }
  absl::Status moved = RenameStream(fs, open->inode, open->stream, parsed.stream, false);
  if (!moved.ok()) return SmbResponse{NtStatusFor(moved)};
  state.RekeyStreamOpen(open, parsed.stream);
  return ok;
}

}  // namespace cfs::smb
