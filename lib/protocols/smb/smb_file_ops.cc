// CLOSE, FLUSH, READ, WRITE, LOCK, OPLOCK_BREAK and CHANGE_NOTIFY of SmbConnection, with open
// bookkeeping (share modes, delete-on-close, commit of unstable writes on close) and the waits
// for oplock breaks that CREATE and SET_INFO share.
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "lib/backend/errors.h"
#include "lib/backend/sync_backend.h"
#include "lib/common/logging.h"
#include "lib/protocols/smb/le_bytes.h"
#include "lib/protocols/smb/nt_acl.h"
#include "lib/protocols/smb/ntstatus.h"
#include "lib/protocols/smb/smb2_durable.h"
#include "lib/protocols/smb/smb2_lease.h"
#include "lib/protocols/smb/smb_access.h"
#include "lib/protocols/smb/smb_connection.h"
#include "lib/protocols/smb/smb_create_helpers.h"
#include "lib/protocols/smb/smb_info.h"
#include "lib/protocols/smb/smb_paths.h"

namespace cfs::smb {

namespace {

using namespace create;  // NOLINT: the dispositions, actions and options of CREATE

constexpr uint32_t kStatusPipeEmpty = 0xC00000D9;

std::string CloseBody(const backend::Attributes* a) {
  std::string out;
  Put16(&out, 60);
  Put16(&out, a != nullptr ? 1 : 0);
  Put32(&out, 0);
  if (a == nullptr) {
    out.resize(60, '\0');
    return out;
  }
  Put64(&out, ToFiletime(a->birth_time.seconds != 0 ? a->birth_time : a->ctime));
  Put64(&out, ToFiletime(a->atime));
  Put64(&out, ToFiletime(a->mtime));
  Put64(&out, ToFiletime(a->ctime));
  Put64(&out, AllocationSizeOf(*a));
  Put64(&out, a->type == backend::FileType::kDirectory ? 0 : a->size);
  Put32(&out, FileAttributesOf(*a));
  return out;
}

}  // namespace

backend::RequestContext SmbConnection::OwnIo(const Open& open) {
  backend::RequestContext ctx = open.tree->ctx;
  ctx.origin = open.id;  // the handle's own I/O does not break its own oplock
  return ctx;
}

std::optional<SmbResponse> SmbConnection::WaitForOplockBreaks(SmbRequest& r,
                                                              backend::InodeNumber inode,
                                                              const SmbServerState::Intent& intent,
                                                              SmbServerState::BreakStep step) {
  // Exclusive and batch oplocks of other opens break first (MS-SMB2 3.3.5.9): this CREATE waits
  // for their acknowledgement (at most 35 s), then runs again from the start.
  return WaitForBreaks(r, inode, [&](auto* breaks, std::function<void()> retry) {
    return server_.state().OplockConflict(inode, intent, step, breaks, std::move(retry));
  });
}

std::optional<SmbResponse> SmbConnection::WaitForHandleBreaks(SmbRequest& r, const Open& open) {
  backend::InodeNumber inode = open.Key();
  uint64_t origin = open.id;
  if (!r.may_go_async) {
    // Inside a compound that cannot wait: the breaks go out and the request goes on.
    std::vector<SmbServerState::OplockBreak> breaks;
    server_.state().BreakHandleCaching(inode, origin, &breaks, [] {});
    server_.SendBreaks(breaks);
    return std::nullopt;
  }
  return WaitForBreaks(r, inode, [&](auto* breaks, std::function<void()> retry) {
    return server_.state().BreakHandleCaching(inode, origin, breaks, std::move(retry));
  });
}

std::optional<SmbResponse> SmbConnection::WaitForBreaks(
    SmbRequest& r, backend::InodeNumber inode,
    const std::function<bool(std::vector<SmbServerState::OplockBreak>*, std::function<void()>)>&
        conflict) {
  uint64_t id = r.async_id;
  if (id == 0) {
    std::lock_guard<std::mutex> guard(pending_mu_);
    id = next_async_id_++;
  }
  std::weak_ptr<SmbConnection> weak = weak_from_this();
  std::vector<SmbServerState::OplockBreak> breaks;
  bool wait = conflict(&breaks, [weak, id] {
    if (std::shared_ptr<SmbConnection> self = weak.lock()) {
      // The retry runs in the connection's serial order.
      self->RunSerial(
          [self, id](std::function<void()> done) { self->RetryAfterBreaks(id, std::move(done)); });
    }
  });
  server_.SendBreaks(breaks);
  if (!wait) return std::nullopt;
  SmbServer* server = &server_;
  server_.RunAfter(absl::Seconds(35), [server, inode] { server->state().ExpireBreaks(inode); });
  if (r.async_id == 0) return GoAsync(r, 0, id);
  SmbResponse out;  // a retry that waits again: its pending entry stays
  out.go_async = true;
  out.status = nt::kPending;
  return out;
}

SmbResponse SmbConnection::GoAsync(SmbRequest& r, uint64_t open_id, uint64_t async_id) {
  auto pending = std::make_shared<Pending>();
  pending->message = std::string(r.message);
  pending->request = r;
  pending->request.message = pending->message;
  pending->open_id = open_id;
  {
    std::lock_guard<std::mutex> guard(pending_mu_);
    r.async_id = async_id != 0 ? async_id : next_async_id_++;
    pending->request.async_id = r.async_id;
    pending_[r.async_id] = pending;
  }
  SmbResponse out;
  out.go_async = true;
  out.status = nt::kPending;
  return out;
}

void SmbConnection::RetryAfterBreaks(uint64_t async_id, std::function<void()> done) {
  std::shared_ptr<Pending> p;
  {
    std::lock_guard<std::mutex> guard(pending_mu_);
    auto it = pending_.find(async_id);
    if (it != pending_.end()) p = it->second;
  }
  if (p == nullptr) return done();                    // cancelled
  auto r = std::make_shared<SmbRequest>(p->request);  // `p` keeps its message
  std::shared_ptr<SmbConnection> self = shared_from_this();
  SmbLater finish = [self, p, r, async_id, done](SmbResponse response) {
    if (!response.go_async) {  // else it waits for another break
      bool answered;
      {
        std::lock_guard<std::mutex> guard(self->pending_mu_);
        answered = self->pending_.erase(async_id) != 0;  // not cancelled meanwhile
      }
      if (answered) {
        self->SendAsync(p->request, response.status, std::move(response.body));
        if (!p->rest.empty()) {
          self->ResumeCompound(std::move(p->rest), p->rest_encrypted, p->rest_session,
                               CompoundResume{p->request.session, p->request.tree, response.created,
                                              response.status});
        }
      }
    }
    done();
  };
  std::optional<SmbResponse> now =
      r->header.command == cmd::kCreate ? Create(*r, finish) : SetInfo(*r, finish);
  if (now.has_value()) finish(*std::move(now));
}

SmbResponse SmbConnection::OplockBreakAck(SmbRequest& r) {
  if (absl::StatusOr<LeaseBreakAck> lease_ack = DecodeLeaseBreakAck(r.message); lease_ack.ok()) {
    uint32_t status = server_.state().AcknowledgeLeaseBreak(
        negotiate_request_.client_guid + lease_ack->key, lease_ack->state);
    if (status != nt::kSuccess) return SmbResponse{status};
    SmbResponse out;
    out.body = EncodeLeaseBreakAckResponse(*lease_ack);
    return out;
  }
  absl::StatusOr<OplockBreakAcknowledgment> ack = DecodeOplockBreakAck(r.message);
  if (!ack.ok()) return SmbResponse{nt::kInvalidParameter};
  std::shared_ptr<Open> open = FindOpen(r, ack->file);
  if (open == nullptr) return SmbResponse{nt::kFileClosed};
  uint32_t status = server_.state().AcknowledgeBreak(*open, ack->oplock_level);
  if (status != nt::kSuccess) return SmbResponse{status};
  SmbResponse out;
  Put16(&out.body, 24);
  out.body.push_back(static_cast<char>(ack->oplock_level));
  out.body.push_back(0);
  Put32(&out.body, 0);
  PutFileId(&out.body, FileId{open->id, open->id});
  return out;
}

void SmbConnection::DetachOpen(const std::shared_ptr<Session>& session, const Open& open) {
  {
    std::lock_guard<std::mutex> lock(session->mu);
    session->opens.erase(open.id);
  }
  // Pending CHANGE_NOTIFYs on the handle end with STATUS_NOTIFY_CLEANUP.
  std::vector<std::shared_ptr<Pending>> notified;
  {
    std::lock_guard<std::mutex> lock(pending_mu_);
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second->open_id == open.id) {
        notified.push_back(it->second);
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const std::shared_ptr<Pending>& p : notified) {
    SendAsync(
        p->request,
        p->request.header.command == cmd::kChangeNotify ? nt::kNotifyCleanup : nt::kRangeNotLocked,
        p->request.header.command == cmd::kChangeNotify ? EncodeOutputBufferResponse("") : "");
  }
}

void SmbConnection::CloseOpen(const std::shared_ptr<Session>& session,
                              const std::shared_ptr<Open>& open, bool want_after,
                              SmbServer::Released done) {
  // READs and WRITEs before the CLOSE finish (and are committed) first.
  std::shared_ptr<SmbConnection> self = shared_from_this();
  open->WhenIoIdle([self, session, open, want_after, done = std::move(done)] {
    self->DetachOpen(session, *open);
    if (open->pipe != nullptr) return done(nt::kSuccess, backend::Attributes());
    self->server_.ReleaseOpenAsync(open, want_after, done);
  });
}

std::optional<SmbResponse> SmbConnection::Close(SmbRequest& r, SmbLater later) {
  absl::StatusOr<CloseRequest> req = DecodeClose(r.message);
  if (!req.ok()) return SmbResponse{nt::kInvalidParameter};
  std::shared_ptr<Open> open = FindOpen(r, req->file);
  if (open == nullptr) return SmbResponse{nt::kFileClosed};
  bool post_query = (req->flags & 1) != 0 && open->pipe == nullptr;
  CloseOpen(r.session, open, post_query,
            [post_query, later = std::move(later)](uint32_t status, backend::Attributes after) {
              SmbResponse out;
              out.status = status;
              if (status == nt::kSuccess) {
                out.body = CloseBody(post_query && after.inode != 0 ? &after : nullptr);
              }
              later(std::move(out));
            });
  return std::nullopt;
}

std::optional<SmbResponse> SmbConnection::Flush(SmbRequest& r, SmbLater later) {
  absl::StatusOr<FlushRequest> req = DecodeFlush(r.message);
  if (!req.ok()) return SmbResponse{nt::kInvalidParameter};
  std::shared_ptr<Open> open = FindOpen(r, req->file);
  if (open == nullptr) return SmbResponse{nt::kFileClosed};
  SmbResponse out;
  out.body = EncodeSmallBody(4);
  if (open->pipe != nullptr) return out;
  if (!(open->granted_access & (access::kWriteData | access::kAppendData))) {
    return SmbResponse{nt::kAccessDenied};
  }
  if (!open->stream.empty()) return out;  // stream writes are stored durably at once
  // WRITEs sent before the FLUSH are part of what it makes durable: the commit starts once they
  // finished.
  backend::Backend* backend = &server_.backend();
  open->WhenIoIdle([backend, open, out = std::move(out), later = std::move(later)]() mutable {
    {
      std::lock_guard<std::mutex> lock(open->mu);
      open->dirty = false;
    }
    backend->Commit(open->tree->ctx, open->inode, 0, 0,
                    [out = std::move(out), later = std::move(later)](
                        absl::StatusOr<backend::CommitResult> committed) mutable {
                      if (!committed.ok())
                        return later(SmbResponse{NtStatusFor(committed.status())});
                      later(std::move(out));
                    });
  });
  return std::nullopt;
}

std::optional<SmbResponse> SmbConnection::Read(SmbRequest& r, SmbLater later) {
  absl::StatusOr<ReadRequest> req = DecodeRead(r.message);
  if (!req.ok()) return SmbResponse{nt::kInvalidParameter};
  std::shared_ptr<Open> open = FindOpen(r, req->file);
  if (open == nullptr) return SmbResponse{nt::kFileClosed};
  if (req->length > server_.config().max_io) return SmbResponse{nt::kInvalidParameter};
  if (dialect_ >= kDialect210 && req->length > 65536 &&
      (req->length - 1) / 65536 + 1 > std::max<uint16_t>(r.header.credit_charge, 1)) {
    return SmbResponse{nt::kInvalidParameter};
  }
  SmbResponse out;
  if (open->pipe != nullptr) {
    size_t pending = open->pipe->pending();
    if (pending == 0) return SmbResponse{kStatusPipeEmpty};
    std::string data = open->pipe->Read(req->length);
    out.status = open->pipe->pending() > 0 ? nt::kBufferOverflow : nt::kSuccess;
    out.body = EncodeReadResponseHead(static_cast<uint32_t>(data.size())) + data;
    return out;
  }
  if (open->directory) return SmbResponse{nt::kInvalidDeviceRequest};
  if (!(open->granted_access & (access::kReadData | access::kExecute))) {
    return SmbResponse{nt::kAccessDenied};
  }
  if (server_.state().IoConflicts(open->Key(), open->id, req->offset, req->length, false)) {
    return SmbResponse{nt::kFileLockConflict};
  }
  if (!open->stream.empty()) {
    ReadStreamOpen(open, *req, std::move(later));
    return std::nullopt;
  }
  server_.backend().Read(
      OwnIo(*open), open->inode, req->offset, req->length,
      [open, offset = req->offset, length = req->length, minimum = req->minimum_count,
       later = std::move(later)](absl::StatusOr<backend::ReadResult> data) mutable {
        if (!data.ok()) return later(SmbResponse{NtStatusFor(data.status())});
        if ((data->data.empty() && length > 0) || data->data.size() < minimum) {
          return later(SmbResponse{nt::kEndOfFile});
        }
        {
          std::lock_guard<std::mutex> lock(open->mu);
          open->position = offset + data->data.size();
        }
        SmbResponse out;
        out.body = EncodeReadResponseHead(static_cast<uint32_t>(data->data.size()));
        out.payload = std::move(data->data);
        later(std::move(out));
      });
  return std::nullopt;
}

std::optional<SmbResponse> SmbConnection::Write(SmbRequest& r, SmbLater later) {
  absl::StatusOr<WriteRequest> req = DecodeWrite(r.message);
  if (!req.ok()) return SmbResponse{nt::kInvalidParameter};
  std::shared_ptr<Open> open = FindOpen(r, req->file);
  if (open == nullptr) return SmbResponse{nt::kFileClosed};
  if (req->data.size() > server_.config().max_io) return SmbResponse{nt::kInvalidParameter};
  if (dialect_ >= kDialect210 && req->data.size() > 65536 &&
      (req->data.size() - 1) / 65536 + 1 > std::max<uint16_t>(r.header.credit_charge, 1)) {
    return SmbResponse{nt::kInvalidParameter};
  }
  SmbResponse out;
  if (open->pipe != nullptr) {
    if (!open->pipe->Write(req->data).ok()) return SmbResponse{nt::kInvalidParameter};
    out.body = EncodeWriteResponse(static_cast<uint32_t>(req->data.size()));
    return out;
  }
  if (open->directory) return SmbResponse{nt::kInvalidDeviceRequest};
  if (!(open->granted_access & (access::kWriteData | access::kAppendData))) {
    return SmbResponse{nt::kAccessDenied};
  }
  if (server_.state().IoConflicts(open->Key(), open->id, req->offset, req->data.size(), true)) {
    return SmbResponse{nt::kFileLockConflict};
  }
  if (!open->stream.empty()) {
    // The request's bytes stay valid while `r` does (it waits in its compound).
    WriteStreamOpen(open, *req, r.keep_alive, std::move(later));
    return std::nullopt;
  }
  bool through = (req->flags & 1) != 0 || (open->create_options & kOptWriteThrough) != 0;
  backend::Stability stability =
      through ? backend::Stability::kFileSync : backend::Stability::kUnstable;
  // The payload stays in the request's packet (kept alive by r.keep_alive), else it is copied.
  Buffer data =
      r.keep_alive != nullptr ? Buffer::Wrap(r.keep_alive, req->data) : Buffer::CopyOf(req->data);
  server_.backend().Write(OwnIo(*open), open->inode, req->offset, std::move(data), stability,
                          [open, offset = req->offset, later = std::move(later)](
                              absl::StatusOr<backend::WriteResult> written) mutable {
                            if (!written.ok())
                              return later(SmbResponse{NtStatusFor(written.status())});
                            {
                              std::lock_guard<std::mutex> lock(open->mu);
                              if (written->committed == backend::Stability::kUnstable)
                                open->dirty = true;
                              open->position = offset + written->count;
                            }
                            SmbResponse out;
                            out.body = EncodeWriteResponse(static_cast<uint32_t>(written->count));
                            later(std::move(out));
                          });
  return std::nullopt;
}

SmbResponse SmbConnection::Lock(SmbRequest& r) {
  absl::StatusOr<LockRequest> req = DecodeLock(r.message);
  if (!req.ok()) return SmbResponse{nt::kInvalidParameter};
  std::shared_ptr<Open> open = FindOpen(r, req->file);
  if (open == nullptr) return SmbResponse{nt::kFileClosed};
  if (open->pipe != nullptr || open->directory) return SmbResponse{nt::kInvalidParameter};
  SmbServerState& state = server_.state();
  bool unlock = (req->locks[0].flags & kLockUnlock) != 0;
  SmbResponse out;
  out.body = EncodeSmallBody(4);
  // Lock sequence verification (MS-SMB2 3.3.5.14), for 3.x where channels may replay a LOCK
  // after a channel failure: a request whose index already holds its number is a replay and
  // succeeds without taking effect again.
  uint32_t index = req->sequence >> 4;
  int8_t number = static_cast<int8_t>(req->sequence & 0xF);
  bool sequenced = dialect_ >= kDialect300 && index >= 1 && index <= 64;
  if (sequenced) {
    std::lock_guard<std::mutex> lock(open->mu);
    if (open->lock_sequences[index - 1] == number) return out;
    open->lock_sequences[index - 1] = -1;
  }
  auto done = [&]() {
    if (sequenced) {
      std::lock_guard<std::mutex> lock(open->mu);
      open->lock_sequences[index - 1] = number;
    }
    return out;
  };
  if (unlock) {
    // Elements are undone in order; the first bad or unheld one ends the request (what was
    // unlocked before it stays unlocked, as in Windows).
    uint32_t status = nt::kSuccess;
    for (const LockElement& l : req->locks) {
      if (l.flags != kLockUnlock) {
        status = nt::kInvalidParameter;
        break;
      }
      status = state.Unlock(open->Key(), ByteRangeLock{open->id, l.offset, l.length, false});
      if (status != nt::kSuccess) break;
    }
    state.WakeLockWaiters(open->Key());
    if (status != nt::kSuccess) return SmbResponse{status};
    return done();
  }
  for (const LockElement& l : req->locks) {
    uint32_t f = l.flags;
    bool valid = f == kLockShared || f == kLockExclusive ||
                 f == (kLockShared | kLockFailImmediately) ||
                 f == (kLockExclusive | kLockFailImmediately);
    // Several locks in one request must all fail immediately (MS-SMB2 3.3.5.14).
    if (!valid || (req->locks.size() > 1 && !(f & kLockFailImmediately))) {
      return SmbResponse{nt::kInvalidParameter};
    }
    if (l.length != 0 && l.offset + (l.length - 1) < l.offset) {
      return SmbResponse{nt::kInvalidLockRange};  // past the last byte of a 64-bit file
    }
  }
  std::vector<ByteRangeLock> taken;
  for (const LockElement& l : req->locks) {
    ByteRangeLock lock{open->id, l.offset, l.length, (l.flags & kLockExclusive) != 0};
    uint32_t s = state.Lock(open->Key(), lock);
    if (s == nt::kSuccess) {
      taken.push_back(lock);
      continue;
    }
    for (const ByteRangeLock& undo : taken) state.Unlock(open->Key(), undo);
    if (!(l.flags & kLockFailImmediately)) {
      if (!r.may_go_async) return SmbResponse{nt::kInternalError};
      // Wait until the range is free (or CANCEL, or the handle closes).
      SmbResponse interim = GoAsync(r, open->id);
      // Tried again in this connection's order, so after the interim response went out.
      std::shared_ptr<SmbConnection> self = shared_from_this();
      uint64_t async_id = r.async_id;
      RunSerial([self, open, lock, async_id](std::function<void()> done) {
        self->TryLockOrWait(open, lock, async_id);
        done();
      });
      return interim;
    }
    // A conflict with a lock just released by this open returns FILE_LOCK_CONFLICT in
    // Windows; fail-immediately requests get LOCK_NOT_GRANTED.
    return SmbResponse{nt::kLockNotGranted};
  }
  server_.SendBreaks(state.BreakForLock(open->Key(), open->id));
  return done();
}

void SmbConnection::TryLockOrWait(std::shared_ptr<Open> open, ByteRangeLock lock,
                                  uint64_t async_id) {
  SmbServerState& state = server_.state();
  std::weak_ptr<SmbConnection> weak = weak_from_this();
  uint32_t status = state.LockOrWait(open->Key(), lock, [weak, open, lock, async_id] {
    if (std::shared_ptr<SmbConnection> self = weak.lock()) {
      self->RunSerial([self, open, lock, async_id](std::function<void()> done) {
        self->TryLockOrWait(open, lock, async_id);
        done();
      });
    }
  });
  if (status != nt::kSuccess) return;  // waiting
  std::shared_ptr<Pending> p;
  {
    std::lock_guard<std::mutex> guard(pending_mu_);
    auto it = pending_.find(async_id);
    if (it != pending_.end()) {
      p = it->second;
      pending_.erase(it);
    }
  }
  if (p == nullptr) {
    state.Unlock(open->Key(), lock);  // cancelled or closed meanwhile
    state.WakeLockWaiters(open->Key());
    return;
  }
  SendAsync(p->request, nt::kSuccess, EncodeSmallBody(4));
}

SmbResponse SmbConnection::ChangeNotify(SmbRequest& r) {
  absl::StatusOr<ChangeNotifyRequest> req = DecodeChangeNotify(r.message);
  if (!req.ok()) return SmbResponse{nt::kInvalidParameter};
  std::shared_ptr<Open> open = FindOpen(r, req->file);
  if (open == nullptr) return SmbResponse{nt::kFileClosed};
  if (!open->directory) return SmbResponse{nt::kInvalidParameter};
  if (!r.may_go_async) return SmbResponse{nt::kInternalError};
  // The request waits for a change of the directory's entries made through this server
  // (STATUS_NOTIFY_ENUM_DIR), the handle's close (STATUS_NOTIFY_CLEANUP) or a CANCEL.
  SmbResponse interim = GoAsync(r, open->id);
  std::weak_ptr<SmbConnection> weak = weak_from_this();
  uint64_t async_id = r.async_id;
  server_.state().WatchDirectory(open->inode, [weak, async_id] {
    if (std::shared_ptr<SmbConnection> self = weak.lock()) {
      self->RunSerial([self, async_id](std::function<void()> done) {
        self->CompleteNotify(async_id);
        done();
      });
    }
  });
  return interim;
}

void SmbConnection::CompleteNotify(uint64_t async_id) {
  std::shared_ptr<Pending> p;
  {
    std::lock_guard<std::mutex> guard(pending_mu_);
    auto it = pending_.find(async_id);
    if (it == pending_.end()) return;  // cancelled or its handle closed
    p = it->second;
    pending_.erase(it);
  }
  // The changes are not itemised: the client re-reads the directory (MS-SMB2 3.3.4.4).
  SendAsync(p->request, nt::kNotifyEnumDir, EncodeOutputBufferResponse(""));
}

}  // namespace cfs::smb
