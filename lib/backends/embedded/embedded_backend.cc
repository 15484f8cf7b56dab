#include "lib/backends/embedded/embedded_backend.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace cfs::embedded {

using backend::Callback;
using backend::InodeNumber;
using backend::RequestContext;

absl::StatusOr<std::unique_ptr<EmbeddedBackend>> EmbeddedBackend::Open(
    const EmbeddedBackendOptions& options) {
  if (options.worker_threads < 1) {
    return absl::InvalidArgumentError("embedded backend: worker_threads must be at least 1");
  }
  if (options.max_queued_requests < 1) {
    return absl::InvalidArgumentError("embedded backend: max_queued_requests must be at least 1");
  }
  absl::StatusOr<std::unique_ptr<EmbeddedStore>> store = EmbeddedStore::Open(options);
  if (!store.ok()) return store.status();
  return std::unique_ptr<EmbeddedBackend>(new EmbeddedBackend(std::move(*store), options));
}

EmbeddedBackend::EmbeddedBackend(std::unique_ptr<EmbeddedStore> store,
                                 const EmbeddedBackendOptions& options)
    : store_(std::move(store)),
      data_dir_(options.data_dir),
      inline_cached_reads_(options.inline_cached_reads),
      max_inline_read_bytes_(options.max_inline_read_bytes),
      pool_(options.worker_threads, options.max_queued_requests) {}

EmbeddedBackend::~EmbeddedBackend() { Shutdown(absl::InfiniteFuture()).IgnoreError(); }

const RecoveryReport& EmbeddedBackend::recovery_report() const { return store_->recovery_report(); }

std::vector<std::string> EmbeddedBackend::CheckInvariants() { return store_->CheckInvariants(); }

backend::WriteVerifier EmbeddedBackend::CurrentWriteVerifier() const {
  return store_->write_verifier();
}

std::string EmbeddedBackend::Describe() const { return absl::StrCat("embedded:", data_dir_); }

absl::Status EmbeddedBackend::Health() const {
  if (shut_down_.load()) return absl::UnavailableError("embedded backend is shut down");
  return absl::OkStatus();
}

absl::Status EmbeddedBackend::Shutdown(absl::Time deadline) {
  if (shut_down_.exchange(true)) return absl::OkStatus();
  // Calls accepted before the flag flipped still run; later ones are refused by Run(). The store
  // closes only once none is in flight, so no call ever touches a closed store.
  {
    std::unique_lock<std::mutex> lock(in_flight_mu_);
    while (in_flight_ > 0) {
      if (in_flight_done_.wait_until(lock, absl::ToChronoTime(deadline)) ==
              std::cv_status::timeout &&
          in_flight_ > 0) {
        return absl::DeadlineExceededError(
            absl::StrCat("embedded backend: ", in_flight_, " calls still running at the deadline"));
      }
    }
  }
  pool_.Shutdown();
  return store_->Close();
}

void EmbeddedBackend::EndCall() {
  std::lock_guard<std::mutex> lock(in_flight_mu_);
  if (--in_flight_ == 0) in_flight_done_.notify_all();
}

bool EmbeddedBackend::BeginCall() {
  {
    std::lock_guard<std::mutex> lock(in_flight_mu_);
    ++in_flight_;
  }
  if (!shut_down_.load()) return true;
  EndCall();
  return false;
}

namespace {
absl::Status ShutDownError() { return absl::UnavailableError("embedded backend is shut down"); }
absl::Status DeadlineError() {
  return absl::DeadlineExceededError("deadline passed before the call ran");
}
}  // namespace

template <typename T, typename Work>
void EmbeddedBackend::Run(const RequestContext& ctx, Callback<T> done, Work work) {
  if (!BeginCall()) {
    std::move(done)(ShutDownError());
    return;
  }
  absl::Time deadline = ctx.deadline;
  pool_.Submit([this, deadline, done = std::move(done), work = std::move(work)]() mutable {
    absl::StatusOr<T> result = DeadlineError();
    if (absl::Now() < deadline) {
      // Group commit: the call's durable changes are synced after it released the store's
      // lock, together with those of other calls finishing at the same time.
      store_->BeginDeferredSync();
      result = work();
      absl::Status synced = store_->FinishDeferredSync();
      if (!synced.ok() && result.ok()) result = synced;
    }
    EndCall();
    std::move(done)(std::move(result));
  });
}

template <typename T, typename TryWork, typename Work>
void EmbeddedBackend::RunCachedOrQueue(const RequestContext& ctx, Callback<T> done,
                                       TryWork try_work, Work work) {
  if (inline_cached_reads_) {
    if (!BeginCall()) {
      std::move(done)(ShutDownError());
      return;
    }
    absl::StatusOr<T> result = ctx.Expired() ? DeadlineError() : try_work();
    EndCall();
    if (!IsWouldBlock(result.status())) {
      std::move(done)(std::move(result));
      return;
    }
  }
  Run(ctx, std::move(done), std::move(work));
}

void EmbeddedBackend::Lookup(const RequestContext& ctx, InodeNumber dir, absl::string_view name,
                             Callback<backend::Attributes> done) {
  RunCachedOrQueue(
      ctx, std::move(done),
      [this, &ctx, dir, name] { return store_->Lookup(ctx.identity, dir, name, true); },
      [this, who = ctx.identity, dir, name = std::string(name)] {
        return store_->Lookup(who, dir, name);
      });
}

void EmbeddedBackend::GetAttr(const RequestContext& ctx, InodeNumber inode,
                              Callback<backend::Attributes> done) {
  RunCachedOrQueue(
      ctx, std::move(done), [this, inode] { return store_->GetAttr(inode, true); },
      [this, inode] { return store_->GetAttr(inode); });
}

void EmbeddedBackend::SetAttr(const RequestContext& ctx, InodeNumber inode,
                              const backend::SetAttributes& attrs,
                              Callback<backend::AttrChange> done) {
  Run(ctx, std::move(done),
      [this, who = ctx.identity, inode, attrs] { return store_->SetAttr(who, inode, attrs); });
}

void EmbeddedBackend::Access(const RequestContext& ctx, InodeNumber inode, uint32_t requested,
                             Callback<uint32_t> done) {
  Run(ctx, std::move(done), [this, who = ctx.identity, inode, requested] {
    return store_->Access(who, inode, requested);
  });
}

void EmbeddedBackend::Create(const RequestContext& ctx, const backend::CreateRequest& request,
                             Callback<backend::EntryResult> done) {
  Run(ctx, std::move(done),
      [this, who = ctx.identity, request] { return store_->Create(who, request); });
}

void EmbeddedBackend::MakeDirectory(const RequestContext& ctx, InodeNumber parent,
                                    absl::string_view name, const backend::SetAttributes& attrs,
                                    Callback<backend::EntryResult> done) {
  Run(ctx, std::move(done), [this, who = ctx.identity, parent, name = std::string(name), attrs] {
    return store_->MakeDirectory(who, parent, name, attrs);
  });
}

void EmbeddedBackend::MakeSymlink(const RequestContext& ctx, InodeNumber parent,
                                  absl::string_view name, absl::string_view target,
                                  const backend::SetAttributes& attrs,
                                  Callback<backend::EntryResult> done) {
  Run(ctx, std::move(done),
      [this, who = ctx.identity, parent, name = std::string(name), target = std::string(target),
       attrs] { return store_->MakeSymlink(who, parent, name, target, attrs); });
}

void EmbeddedBackend::MakeNode(const RequestContext& ctx, InodeNumber parent,
                               absl::string_view name, backend::FileType type, uint32_t rdev_major,
                               uint32_t rdev_minor, const backend::SetAttributes& attrs,
                               Callback<backend::EntryResult> done) {
  Run(ctx, std::move(done),
      [this, who = ctx.identity, parent, name = std::string(name), type, rdev_major, rdev_minor,
       attrs] { return store_->MakeNode(who, parent, name, type, rdev_major, rdev_minor, attrs); });
}

void EmbeddedBackend::ReadLink(const RequestContext& ctx, InodeNumber inode,
                               Callback<std::string> done) {
  Run(ctx, std::move(done),
      [this, who = ctx.identity, inode] { return store_->ReadLink(who, inode); });
}

void EmbeddedBackend::Link(const RequestContext& ctx, InodeNumber inode, InodeNumber dir,
                           absl::string_view name, Callback<backend::EntryResult> done) {
  Run(ctx, std::move(done), [this, who = ctx.identity, inode, dir, name = std::string(name)] {
    return store_->Link(who, inode, dir, name);
  });
}

void EmbeddedBackend::Unlink(const RequestContext& ctx, InodeNumber dir, absl::string_view name,
                             Callback<backend::DirChange> done) {
  Run(ctx, std::move(done), [this, who = ctx.identity, dir, name = std::string(name)] {
    return store_->Unlink(who, dir, name);
  });
}

void EmbeddedBackend::RemoveDirectory(const RequestContext& ctx, InodeNumber dir,
                                      absl::string_view name, Callback<backend::DirChange> done) {
  Run(ctx, std::move(done), [this, who = ctx.identity, dir, name = std::string(name)] {
    return store_->RemoveDirectory(who, dir, name);
  });
}

void EmbeddedBackend::Rename(const RequestContext& ctx, InodeNumber from_dir,
                             absl::string_view from_name, InodeNumber to_dir,
                             absl::string_view to_name, Callback<backend::RenameResult> done) {
  Run(ctx, std::move(done),
      [this, who = ctx.identity, from_dir, from = std::string(from_name), to_dir,
       to = std::string(to_name)] { return store_->Rename(who, from_dir, from, to_dir, to); });
}

void EmbeddedBackend::ReadDir(const RequestContext& ctx, InodeNumber dir, uint64_t cookie,
                              uint64_t verifier, size_t max_entries, bool with_attributes,
                              Callback<backend::ReadDirResult> done) {
  Run(ctx, std::move(done),
      [this, who = ctx.identity, dir, cookie, verifier, max_entries, with_attributes] {
        return store_->ReadDir(who, dir, cookie, verifier, max_entries, with_attributes);
      });
}

void EmbeddedBackend::FsStat(const RequestContext& ctx, InodeNumber inode,
                             Callback<backend::FsStatResult> done) {
  Run(ctx, std::move(done), [this, inode] { return store_->FsStat(inode); });
}

void EmbeddedBackend::GetXattr(const RequestContext& ctx, InodeNumber inode, absl::string_view name,
                               Callback<std::string> done) {
  RunCachedOrQueue(
      ctx, std::move(done),
      [this, &ctx, inode, name] { return store_->GetXattr(ctx.identity, inode, name, true); },
      [this, who = ctx.identity, inode, name = std::string(name)] {
        return store_->GetXattr(who, inode, name);
      });
}

void EmbeddedBackend::SetXattr(const RequestContext& ctx, InodeNumber inode, absl::string_view name,
                               absl::string_view value, backend::XattrSetMode mode,
                               Callback<backend::Done> done) {
  Run(ctx, std::move(done),
      [this, who = ctx.identity, inode, name = std::string(name), value = std::string(value),
       mode] { return store_->SetXattr(who, inode, name, value, mode); });
}

void EmbeddedBackend::ListXattrs(const RequestContext& ctx, InodeNumber inode,
                                 Callback<std::vector<std::string>> done) {
  Run(ctx, std::move(done),
      [this, who = ctx.identity, inode] { return store_->ListXattrs(who, inode); });
}

void EmbeddedBackend::RemoveXattr(const RequestContext& ctx, InodeNumber inode,
                                  absl::string_view name, Callback<backend::Done> done) {
  Run(ctx, std::move(done), [this, who = ctx.identity, inode, name = std::string(name)] {
    return store_->RemoveXattr(who, inode, name);
  });
}

void EmbeddedBackend::GetExtentMap(const RequestContext& ctx, InodeNumber inode, uint64_t offset,
                                   uint64_t length, Callback<std::vector<backend::Extent>> done) {
  Run(ctx, std::move(done), [this, who = ctx.identity, inode, offset, length] {
    return store_->GetExtentMap(who, inode, offset, length);
  });
}

void EmbeddedBackend::Open(const RequestContext& ctx, InodeNumber inode,
                           Callback<backend::Done> done) {
  RunCachedOrQueue(
      ctx, std::move(done), [this, inode] { return store_->OpenFile(inode, true); },
      [this, inode] { return store_->OpenFile(inode); });
}

void EmbeddedBackend::Release(const RequestContext& ctx, InodeNumber inode,
                              Callback<backend::Done> done) {
  RunCachedOrQueue(
      ctx, std::move(done), [this, inode] { return store_->ReleaseFile(inode, true); },
      [this, inode] { return store_->ReleaseFile(inode); });
}

void EmbeddedBackend::Read(const RequestContext& ctx, InodeNumber inode, uint64_t offset,
                           uint64_t count, Callback<backend::ReadResult> done) {
  auto queued = [this, who = ctx.identity, override = ctx.owner_override, inode, offset, count] {
    return store_->Read(who, inode, offset, count, false, override);
  };
  if (count > max_inline_read_bytes_) return Run(ctx, std::move(done), std::move(queued));
  RunCachedOrQueue(
      ctx, std::move(done),
      [this, &ctx, inode, offset, count] {
        return store_->Read(ctx.identity, inode, offset, count, true, ctx.owner_override);
      },
      std::move(queued));
}

void EmbeddedBackend::Write(const RequestContext& ctx, InodeNumber inode, uint64_t offset,
                            Buffer data, backend::Stability stability,
                            Callback<backend::WriteResult> done) {
  // The pool's task owns the bytes until they are written (one pwritev of the slices).
  Run(ctx, std::move(done),
      [this, who = ctx.identity, override = ctx.owner_override, inode, offset,
       data = std::move(data),
       stability] { return store_->Write(who, inode, offset, data, stability, override); });
}

void EmbeddedBackend::Commit(const RequestContext& ctx, InodeNumber inode, uint64_t offset,
                             uint64_t count, Callback<backend::CommitResult> done) {
  Run(ctx, std::move(done),
      [this, who = ctx.identity, inode] { return store_->Commit(who, inode); });
}

}  // namespace cfs::embedded
