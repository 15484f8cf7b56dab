// Named streams of SmbConnection: CREATE of "file:stream", and READ, WRITE, resize and rename
// of a stream handle, as chains of backend callbacks. The streams live in the file's extended
// attributes (smb_streams.h); their read-modify-write updates run under the file's stream lock
// (SmbServerState::WithStreamLock, which holds no thread); share modes, locks and
// delete-on-close are kept per stream (Open::Key).
#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/match.h"
#include "lib/backend/errors.h"
#include "lib/common/logging.h"
#include "lib/protocols/smb/le_bytes.h"
#include "lib/protocols/smb/ntstatus.h"
#include "lib/protocols/smb/smb_access.h"
#include "lib/protocols/smb/smb_connection.h"
#include "lib/protocols/smb/smb_create_helpers.h"
#include "lib/protocols/smb/smb_create_run.h"
#include "lib/protocols/smb/smb_info.h"
#include "lib/protocols/smb/smb_streams.h"

namespace cfs::smb {

namespace {

using namespace create;  // NOLINT: the dispositions, actions and options of CREATE

bool IsMissing(const absl::Status& status) {
  return backend::GetFsError(status) == backend::FsError::kNoEntry;
}

SmbResponse Ok() {
  SmbResponse ok;
  ok.body = EncodeSmallBody(2);
  return ok;
}

bool Creates(uint32_t disposition) { return disposition != kOpen && disposition != kOverwrite; }

bool Truncates(uint32_t disposition) {
  return disposition == kOverwrite || disposition == kOverwriteIf || disposition == kSupersede;
}

}  // namespace

void SmbConnection::CreateStreamOpen(const std::shared_ptr<CreateRun>& run) {
  const Tree& tree = *run->open->tree;
  if (run->path.stream.size() > kMaxStreamNameLength) {
    return run->later(SmbResponse{nt::kObjectNameInvalid});
  }
  // The file the stream belongs to; a CREATE that may make the stream makes a missing file.
  std::shared_ptr<SmbConnection> self = shared_from_this();
  LookupIgnoringCaseAsync(
      server_.backend(), tree.ctx, run->parent.dir, run->parent.name,
      [self, run](absl::StatusOr<backend::Attributes> found, std::string stored) {
        const CreateRequest& req = run->req;
        const Tree& tree = *run->open->tree;
        if (found.ok()) {
          run->parent.name = std::move(stored);
          run->base = *found;
          if (run->base.type != backend::FileType::kRegular &&
              run->base.type != backend::FileType::kDirectory) {
            return run->later(SmbResponse{nt::kAccessDenied});
          }
          if (self->server_.state().DeletePending(run->base.inode)) {
            return run->later(SmbResponse{nt::kDeletePending});
          }
          return self->CreateStreamChecked(run);
        }
        if (found.status().code() != absl::StatusCode::kNotFound) {
          return run->later(SmbResponse{NtStatusFor(found.status())});
        }
        if (!Creates(req.disposition)) return run->later(SmbResponse{nt::kObjectNameNotFound});
        if (tree.read_only) return run->later(SmbResponse{nt::kAccessDenied});
        absl::StatusOr<std::optional<Dacl>> dacl = DaclOfCreateContexts(req.contexts);
        if (!dacl.ok()) return run->later(SmbResponse{nt::kInvalidParameter});
        auto given = std::make_shared<std::optional<Dacl>>(*std::move(dacl));
        backend::CreateRequest request;
        request.parent = run->parent.dir;
        request.name = run->parent.name;
        request.how = backend::CreateMode::kGuarded;
        request.attributes.mode = 0644;
        self->server_.backend().Create(
            tree.ctx, request, [self, run, given](absl::StatusOr<backend::EntryResult> made) {
              if (!made.ok()) return run->later(SmbResponse{NtStatusFor(made.status())});
              run->base = made->attributes;
              run->made_base = true;
              self->server_.state().DirectoryChanged(run->parent.dir);
              // As for any new file.
              SetNewFileDaclAsync(self->server_.backend(), run->open->tree->ctx, run->parent.dir,
                                  run->base, *given,
                                  [self, run] { self->CreateStreamChecked(run); });
            });
      });
}

void SmbConnection::CreateStreamChecked(const std::shared_ptr<CreateRun>& run) {
  // Access to a stream is access to its file (there is one security descriptor per file).
  const Tree& tree = *run->open->tree;
  std::shared_ptr<SmbConnection> self = shared_from_this();
  HandleAccessAsync(
      server_.backend(), tree.ctx, tree.ctx.identity, run->base, run->parent.dir_attrs,
      tree.read_only, [self, run](uint32_t maximal, bool by_dacl) {
        const Tree& tree = *run->open->tree;
        if (run->made_base) maximal |= access::kAll;  // the creator gets what it asked for
        run->maximal_access = maximal;
        if (uint32_t s =
                CheckOpenAccess(tree.ctx.identity, run->base, maximal, by_dacl && !run->made_base,
                                Truncates(run->req.disposition), tree.read_only, &run->desired);
            s != nt::kSuccess) {
          return run->later(SmbResponse{s});
        }
        self->server_.state().WithStreamLock(run->base.inode,
                                             [self, run](SmbServerState::StreamUnlock unlock) {
                                               self->CreateStreamLocked(run, unlock);
                                             });
      });
}

void SmbConnection::CreateStreamLocked(const std::shared_ptr<CreateRun>& run,
                                       const SmbServerState::StreamUnlock& unlock) {
  std::shared_ptr<SmbConnection> self = shared_from_this();
  // Every answer from here lets the stream lock go first.
  auto answer = [run, unlock](SmbResponse response) {
    unlock();
    run->later(std::move(response));
  };
  FindStreamAsync(
      server_.backend(), run->open->tree->ctx, run->base.inode, run->path.stream,
      [self, run, unlock, answer](absl::StatusOr<std::string> stored) {
        if (!stored.ok() && !IsMissing(stored.status())) {
          return answer(SmbResponse{NtStatusFor(stored.status())});
        }
        const CreateRequest& req = run->req;
        bool exists = stored.ok();
        bool truncates = Truncates(req.disposition);
        if (exists && req.disposition == kCreate) {
          return answer(SmbResponse{nt::kObjectNameCollision});
        }
        if (!exists && !Creates(req.disposition)) {
          return answer(SmbResponse{nt::kObjectNameNotFound});
        }
        Open& open = *run->open;
        open.inode = run->base.inode;
        open.stream = exists ? *stored : run->path.stream;
        open.stream_key = SmbServerState::StreamKey(run->base.inode, open.stream);
        open.granted_access = run->desired;
        // A stream is a file of its own for oplocks and leases too (its own lease key).
        SmbServerState& state = self->server_.state();
        uint64_t key = open.Key();
        if (run->lease_request.has_value()) {
          uint32_t s = state.CheckLeaseKey(run->lease_id, key);
          if (s != nt::kSuccess) return answer(SmbResponse{s});
        }
        SmbServerState::Intent intent{truncates, run->desired, req.share_access, run->lease_id};
        using Step = SmbServerState::BreakStep;
        bool breaks = exists && (!access::IsStatAccess(run->desired) || truncates);
        SmbRequest& r = *run->r;
        if (breaks) {
          if (std::optional<SmbResponse> wait =
                  self->WaitForOplockBreaks(r, key, intent, Step::kBeforeShareCheck)) {
            return answer(*std::move(wait));
          }
        }
        if (uint32_t s = state.RegisterOpen(run->open); s != nt::kSuccess) {
          return answer(SmbResponse{s});
        }
        if (breaks) {
          if (std::optional<SmbResponse> wait =
                  self->WaitForOplockBreaks(r, key, intent, Step::kAfterShareCheck)) {
            state.UnregisterOpen(open);  // registered again when the CREATE runs again
            return answer(*std::move(wait));
          }
        }
        // The stream made, cut or measured; a failure lets the registration go.
        auto changed = [self, run, unlock](absl::Status status, uint64_t size) {
          unlock();
          if (!status.ok()) {
            self->server_.state().UnregisterOpen(*run->open);
            return run->later(SmbResponse{NtStatusFor(status)});
          }
          self->CreateStreamFinish(run, size);
        };
        backend::Backend& backend = self->server_.backend();
        const backend::RequestContext& ctx = open.tree->ctx;
        if (!exists) {
          run->action = kActionCreated;
          return CreateStreamAsync(backend, ctx, open.inode, open.stream,
                                   [changed](absl::Status made) { changed(made, 0); });
        }
        if (truncates) {
          run->action = req.disposition == kSupersede ? kActionSuperseded : kActionOverwritten;
          return TruncateStreamAsync(backend, ctx, open.inode, open.stream, 0,
                                     [changed](absl::Status cut) { changed(cut, 0); });
        }
        ReadStreamAsync(backend, ctx, open.inode, open.stream,
                        [changed](absl::StatusOr<std::string> content) {
                          if (!content.ok()) return changed(content.status(), 0);
                          changed(absl::OkStatus(), content->size());
                        });
      });
}

void SmbConnection::CreateStreamFinish(const std::shared_ptr<CreateRun>& run, uint64_t size) {
  SmbRequest& r = *run->r;
  Open& open = *run->open;
  open.parent = run->parent.dir;
  open.name = run->parent.name;
  open.path = run->parent.PathOf(run->parent.name) + ":" + open.stream;
  open.directory = false;
  open.delete_on_close = (run->req.options & kOptDeleteOnClose) != 0;
  open.conn = weak_from_this();
  open.session = r.session;
  open.encrypted = r.encrypted;
  uint8_t oplock =
      GrantCaching(run->open, run->req.oplock_level, &run->lease_request, run->lease_id);
  server_.backend().Open(
      open.tree->ctx, run->base.inode, [run, oplock, size](absl::StatusOr<backend::Done>) {
        SmbRequest& r = *run->r;
        Open& open = *run->open;
        {
          std::lock_guard<std::mutex> lock(r.session->mu);
          r.session->opens[open.id] = run->open;
        }
        // No durable handle is granted on a stream: the response leaves DHnQ/DH2Q out.
        CreateResponse resp = ResponseFor(StreamAttributes(run->base, size), open.id, run->action);
        resp.oplock_level = oplock;
        AddLeaseContext(run->lease_request, &resp);
        for (const CreateContext& ctx : run->req.contexts) {
          if (ctx.name == "MxAc") {
            std::string data;
            Put32(&data, 0);
            Put32(&data, run->maximal_access);
            resp.contexts.push_back({"MxAc", data});
          } else if (ctx.name == "QFid") {
            std::string data;
            Put64(&data, run->base.inode);  // a stream has its file's id (as in Windows)
            Put64(&data, open.tree->share->export_->id);
            data.append(16, '\0');
            resp.contexts.push_back({"QFid", data});
          }
        }
        SmbResponse out;
        out.body = EncodeCreateResponse(resp);
        out.created = resp.file;
        run->later(std::move(out));
      });
}

void SmbConnection::RemoveNamedStreamsAsync(const backend::RequestContext& ctx,
                                            backend::InodeNumber inode,
                                            std::function<void()> done) {
  // Most files have no named stream: a listing of the attributes tells, without the lock.
  std::shared_ptr<SmbConnection> self = shared_from_this();
  server_.backend().ListXattrs(
      ctx, inode, [self, ctx, inode, done](absl::StatusOr<std::vector<std::string>> names) {
        bool any =
            names.ok() && std::any_of(names->begin(), names->end(), [](const std::string& name) {
              return absl::StartsWith(name, kStreamXattrPrefix);
            });
        if (!any) return done();
        self->server_.state().WithStreamLock(
            inode, [self, ctx, inode, done](SmbServerState::StreamUnlock unlock) {
              ListStreamsAsync(self->server_.backend(), ctx, inode,
                               [self, ctx, inode, done,
                                unlock](absl::StatusOr<std::vector<StreamInfo>> streams) {
                                 auto left = std::make_shared<std::vector<std::string>>();
                                 if (streams.ok()) {
                                   for (const StreamInfo& stream : *streams) {
                                     // Those other handles have open stay (Windows keeps them too).
                                     if (self->server_.state().OpenElsewhere(
                                             SmbServerState::StreamKey(inode, stream.name), 0)) {
                                       continue;
                                     }
                                     left->push_back(stream.name);
                                   }
                                 }
                                 self->RemoveStreams(ctx, inode, left, [done, unlock] {
                                   unlock();
                                   done();
                                 });
                               });
            });
      });
}

void SmbConnection::RemoveStreams(const backend::RequestContext& ctx, backend::InodeNumber inode,
                                  const std::shared_ptr<std::vector<std::string>>& names,
                                  std::function<void()> done) {
  if (names->empty()) return done();
  std::string name = std::move(names->back());
  names->pop_back();
  std::shared_ptr<SmbConnection> self = shared_from_this();
  RemoveStreamAsync(server_.backend(), ctx, inode, name,
                    [self, ctx, inode, names, name, done](absl::Status removed) {
                      if (!removed.ok()) {
                        CFS_LOG(WARNING, "smb")
                            << "inode " << inode << ": removing stream '" << name
                            << "' on overwrite failed: " << removed.message();
                      }
                      self->RemoveStreams(ctx, inode, names, done);
                    });
}

void SmbConnection::ReadStreamOpen(const std::shared_ptr<Open>& open, const ReadRequest& req,
                                   SmbLater later) {
  // Stream I/O bypasses the backend's data path (and so the ChangeFeed): breaks are sent here.
  server_.SendBreaks(server_.state().BreakForAccess(open->Key(), open->id, false));
  ReadStreamAsync(server_.backend(), open->tree->ctx, open->inode, open->stream,
                  [req, later](absl::StatusOr<std::string> content) {
                    if (!content.ok()) return later(SmbResponse{NtStatusFor(content.status())});
                    if (req.offset >= content->size() && req.length > 0) {
                      return later(SmbResponse{nt::kEndOfFile});
                    }
                    size_t from = std::min<uint64_t>(req.offset, content->size());
                    std::string data = content->substr(from, req.length);
                    if (data.size() < req.minimum_count) return later(SmbResponse{nt::kEndOfFile});
                    SmbResponse out;
                    out.body = EncodeReadResponseHead(static_cast<uint32_t>(data.size()));
                    out.payload = std::move(data);
                    later(std::move(out));
                  });
}

void SmbConnection::WriteStreamOpen(const std::shared_ptr<Open>& open, const WriteRequest& req,
                                    std::shared_ptr<const void> keep, SmbLater later) {
  server_.SendBreaks(server_.state().BreakForAccess(open->Key(), open->id, true));
  std::shared_ptr<SmbConnection> self = shared_from_this();
  // Stored at once and durably (attribute changes are synchronous): nothing to commit later.
  server_.state().WithStreamLock(
      open->inode, [self, open, req, keep, later](SmbServerState::StreamUnlock unlock) {
        WriteStreamAsync(self->server_.backend(), open->tree->ctx, open->inode, open->stream,
                         req.offset, req.data,
                         [open, req, keep, unlock, later](absl::StatusOr<uint64_t> size) {
                           unlock();
                           if (!size.ok()) return later(SmbResponse{NtStatusFor(size.status())});
                           {
                             std::lock_guard<std::mutex> lock(open->mu);
                             open->position = req.offset + req.data.size();
                           }
                           SmbResponse out;
                           out.body = EncodeWriteResponse(static_cast<uint32_t>(req.data.size()));
                           later(std::move(out));
                         });
      });
}

void SmbConnection::ResizeStreamOpen(const std::shared_ptr<Open>& open, uint64_t size,
                                     bool allocation, SmbLater later) {
  std::shared_ptr<SmbConnection> self = shared_from_this();
  server_.state().WithStreamLock(
      open->inode, [self, open, size, allocation, later](SmbServerState::StreamUnlock unlock) {
        backend::Backend* backend = &self->server_.backend();
        auto resize = [backend, open, unlock, later](uint64_t to) {
          TruncateStreamAsync(*backend, open->tree->ctx, open->inode, open->stream, to,
                              [unlock, later](absl::Status resized) {
                                unlock();
                                later(resized.ok() ? Ok() : SmbResponse{NtStatusFor(resized)});
                              });
        };
        if (!allocation) return resize(size);
        ReadStreamAsync(*backend, open->tree->ctx, open->inode, open->stream,
                        [size, resize, unlock, later](absl::StatusOr<std::string> content) {
                          if (!content.ok()) {
                            unlock();
                            return later(SmbResponse{NtStatusFor(content.status())});
                          }
                          // Allocation only shrinks: space is allocated as data is written.
                          resize(std::min<uint64_t>(size, content->size()));
                        });
      });
}

void SmbConnection::RenameStreamOpen(const std::shared_ptr<Open>& open, std::string target,
                                     bool replace_if_exists, SmbLater later) {
  // Only a stream is renamed to a stream, within its file: the target is ":name[:$DATA]".
  ParsedPath parsed;
  std::string probe = "x" + target;
  if (open->stream.empty() || !absl::StartsWith(target, ":") ||
      ParseSmbPath(probe, &parsed) != nt::kSuccess || parsed.stream.empty()) {
    return later(SmbResponse{nt::kInvalidParameter});
  }
  if (parsed.stream.size() > kMaxStreamNameLength) {
    return later(SmbResponse{nt::kObjectNameInvalid});
  }
  std::shared_ptr<SmbConnection> self = shared_from_this();
  std::string to = parsed.stream;
  server_.state().WithStreamLock(open->inode, [self, open, to, replace_if_exists,
                                               later](SmbServerState::StreamUnlock unlock) {
    auto answer = [unlock, later](SmbResponse response) {
      unlock();
      later(std::move(response));
    };
    backend::Backend* backend = &self->server_.backend();
    FindStreamAsync(
        *backend, open->tree->ctx, open->inode, to,
        [self, backend, open, to, replace_if_exists, answer](absl::StatusOr<std::string> existing) {
          SmbServerState& state = self->server_.state();
          bool same = existing.ok() && absl::EqualsIgnoreCase(*existing, open->stream);
          if (same && to == open->stream) return answer(Ok());
          bool replaces = existing.ok() && !same;
          if (replaces) {
            if (!replace_if_exists) return answer(SmbResponse{nt::kObjectNameCollision});
            if (state.OpenElsewhere(SmbServerState::StreamKey(open->inode, *existing), 0)) {
              return answer(SmbResponse{nt::kAccessDenied});
            }
          }
          // Other handles on the stream keep its name (they would lose it otherwise).
          if (state.OpenElsewhere(open->Key(), open->id)) {
            return answer(SmbResponse{nt::kSharingViolation});
          }
          auto rename = [self, backend, open, to, answer] {
            RenameStreamAsync(*backend, open->tree->ctx, open->inode, open->stream, to, false,
                              [self, open, to, answer](absl::Status moved) {
                                if (!moved.ok()) return answer(SmbResponse{NtStatusFor(moved)});
                                self->server_.state().RekeyStreamOpen(open, to);
                                answer(Ok());
                              });
          };
          if (!replaces) return rename();
          RemoveStreamAsync(*backend, open->tree->ctx, open->inode, *existing,
                            [rename, answer](absl::Status removed) {
                              if (!removed.ok()) return answer(SmbResponse{NtStatusFor(removed)});
                              rename();
                            });
        });
  });
}

}  // namespace cfs::smb
