#include "lib/protocols/smb/smb_server.h"

#include "absl/strings/match.h"
#include "lib/backend/errors.h"
#include "lib/backend/sync_backend.h"
#include "lib/protocols/smb/ntstatus.h"
#include "lib/protocols/smb/smb_connection.h"
#include "lib/protocols/smb/smb_crypto.h"
#include "lib/protocols/smb/smb_info.h"
#include "lib/protocols/smb/smb_streams.h"

namespace cfs::smb {

SmbServer::SmbServer(SmbServerConfig config, backend::Backend& backend, auth::UserStore& users,
                     std::vector<Share> shares)
    : config_(std::move(config)),
      backend_(backend),
      users_(users),
      shares_(std::make_shared<const std::vector<Share>>(std::move(shares))),
      guid_(RandomBytes(16)),
      start_filetime_(FiletimeNow()) {
  timer_thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(timer_mu_);
    while (!timer_stop_) {
      if (timers_.empty()) {
        timer_cv_.wait(lock);
        continue;
      }
      absl::Time next = timers_.begin()->first;
      if (absl::Now() < next) {
        timer_cv_.wait_for(lock, absl::ToChronoNanoseconds(next - absl::Now()));
        continue;
      }
      std::function<void()> fn = std::move(timers_.begin()->second);
      timers_.erase(timers_.begin());
      lock.unlock();
      fn();
      lock.lock();
    }
  });
}

void SmbServer::RunAfter(absl::Duration delay, std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(timer_mu_);
  if (timer_stop_) return;
  timers_.emplace(absl::Now() + delay, std::move(fn));
  timer_cv_.notify_one();
}

void SmbServer::SendBreaks(const std::vector<SmbServerState::OplockBreak>& breaks) {
  for (const SmbServerState::OplockBreak& b : breaks) {
    // The open's own connection, or another channel of its session when that one closed.
    std::shared_ptr<SmbConnection> conn = b.open->conn.lock();
    if (conn == nullptr) {
      if (std::shared_ptr<Session> session = b.open->session.lock()) conn = session->AnyChannel();
    }
    if (conn == nullptr) continue;
    if (b.lease != nullptr) {
      conn->SendLeaseBreak(*b.open, b);
    } else {
      conn->SendOplockBreak(*b.open, b.to);
    }
  }
}

namespace {

// One ReleaseOpenAsync: the steps after the server state let go of the open.
struct Release {
  std::shared_ptr<Open> open;
  backend::Backend* backend = nullptr;
  SmbServerState* state = nullptr;
  bool want_after = false;
  bool remove = false;
  bool deleted = false;
  uint32_t status = nt::kSuccess;
  SmbServer::Released done;

  void Fail(const absl::Status& error) {
    if (!error.ok() && status == nt::kSuccess) status = NtStatusFor(error);
  }
  // Delete-on-close: the entry goes if it is still this file.
  static void RemoveEntry(std::shared_ptr<Release> r) {
    const Open& open = *r->open;
    r->backend->Lookup(
        open.tree->ctx, open.parent, open.name,
        [r](absl::StatusOr<backend::Attributes> still) mutable {
          if (!still.ok() || still->inode != r->open->inode) return Commit(std::move(r));
          auto removed = [r](absl::StatusOr<backend::DirChange> result) mutable {
            r->Fail(result.status());
            if (result.ok()) r->state->DirectoryChanged(r->open->parent);
            r->deleted = result.ok();
            Commit(std::move(r));
          };
          const Open& open = *r->open;
          if (still->type == backend::FileType::kDirectory) {
            r->backend->RemoveDirectory(open.tree->ctx, open.parent, open.name, std::move(removed));
          } else {
            r->backend->Unlink(open.tree->ctx, open.parent, open.name, std::move(removed));
          }
        });
  }
  // Unstable writes become durable before the CLOSE answers.
  static void Commit(std::shared_ptr<Release> r) {
    bool dirty;
    {
      std::lock_guard<std::mutex> lock(r->open->mu);
      dirty = r->open->dirty;
      r->open->dirty = false;
    }
    if (!dirty || r->deleted) return Let(std::move(r));
    const Open& open = *r->open;
    r->backend->Commit(open.tree->ctx, open.inode, 0, 0,
                       [r](absl::StatusOr<backend::CommitResult> committed) mutable {
                         r->Fail(committed.status());
                         Let(std::move(r));
                       });
  }
  static void Let(std::shared_ptr<Release> r) {
    const Open& open = *r->open;
    r->backend->Release(open.tree->ctx, open.inode, [r](absl::StatusOr<backend::Done>) mutable {
      if (!r->want_after || r->remove) return r->done(r->status, backend::Attributes());
      const Open& open = *r->open;
      r->backend->GetAttr(
          open.tree->ctx, open.inode, [r](absl::StatusOr<backend::Attributes> attrs) {
            if (!attrs.ok()) return r->done(r->status, backend::Attributes());
            const Open& open = *r->open;
            if (open.stream.empty()) return r->done(r->status, *attrs);
            // A named stream's handle shows the stream's size.
            ReadStreamAsync(*r->backend, open.tree->ctx, open.inode, open.stream,
                            [r, base = *attrs](absl::StatusOr<std::string> content) {
                              r->done(r->status,
                                      StreamAttributes(base, content.ok() ? content->size() : 0));
                            });
          });
    });
  }
  // After the stream (when it was the last open with delete pending) is gone: the file itself
  // goes when it was deleted while this stream handle was open.
  static void AfterStream(std::shared_ptr<Release> r, bool delete_file) {
    r->remove = delete_file;
    if (r->remove && !r->open->name.empty()) return RemoveEntry(std::move(r));
    Commit(std::move(r));
  }
};

}  // namespace

void SmbServer::ReleaseOpenAsync(const std::shared_ptr<Open>& open, bool want_after,
                                 Released done) {
  // Share modes, locks and delete-pending are released before the commit: other clients may
  // open the file at once (its data is visible already); only this CLOSE's answer waits.
  state_.UnlockAll(open->Key(), open->id);
  state_.WakeLockWaiters(open->Key());
  bool delete_file = false;
  auto r = std::make_shared<Release>();
  r->open = open;
  r->backend = &backend_;
  r->state = &state_;
  r->want_after = want_after;
  r->remove = state_.UnregisterOpen(*open, &delete_file);
  r->done = std::move(done);
  state_.WakeOplockWaiters(open->Key());  // CREATEs waiting for this handle's break
  if (!open->stream.empty()) {
    if (!r->remove) return Release::AfterStream(std::move(r), delete_file);
    // The stream's last handle with delete pending: the stream goes, under the file's lock.
    state_.WithStreamLock(open->inode, [r, delete_file](SmbServerState::StreamUnlock unlock) {
      const Open& open = *r->open;
      RemoveStreamAsync(
          *r->backend, open.tree->ctx, open.inode, open.stream,
          [r, delete_file, unlock](absl::Status removed) {
            unlock();
            if (!removed.ok() && backend::GetFsError(removed) != backend::FsError::kNoEntry) {
              r->Fail(removed);
            }
            Release::AfterStream(r, delete_file);
          });
    });
    return;
  }
  if (r->remove && !open->name.empty()) return Release::RemoveEntry(std::move(r));
  Release::Commit(std::move(r));
}

void SmbServer::KeepDurable(const std::shared_ptr<Open>& open) {
  state_.KeepDisconnected(open);
  uint64_t id = open->id;
  RunAfter(absl::Milliseconds(open->durable_timeout_ms), [this, id] {
    if (std::shared_ptr<Open> expired = state_.TakeDisconnected(id)) {
      // Its owner did not come back in time.
      ReleaseOpenAsync(expired, false, [](uint32_t, backend::Attributes) {});
    }
  });
}

SmbServer::~SmbServer() { Shutdown(); }

std::shared_ptr<const std::vector<Share>> SmbServer::shares() const {
  std::lock_guard<std::mutex> lock(shares_mu_);
  return shares_;
}

void SmbServer::SetShares(std::vector<Share> shares) {
  auto fresh = std::make_shared<const std::vector<Share>>(std::move(shares));
  std::lock_guard<std::mutex> lock(shares_mu_);
  shares_ = std::move(fresh);
}

std::shared_ptr<const Share> SmbServer::FindShare(absl::string_view name) const {
  std::shared_ptr<const std::vector<Share>> all = shares();
  for (const Share& share : *all) {
    // Aliasing: the share keeps its whole snapshot alive.
    if (absl::EqualsIgnoreCase(share.name, name)) return std::shared_ptr<const Share>(all, &share);
  }
  return nullptr;
}

bool SmbServer::ShareEncrypted(const Share& share) const {
  return config_.encryption_required || (share.export_ != nullptr && share.export_->smb_encrypt);
}

void SmbServer::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(timer_mu_);
    timer_stop_ = true;
    timers_.clear();
    timer_cv_.notify_one();
  }
  if (timer_thread_.joinable()) timer_thread_.join();
}

}  // namespace cfs::smb
