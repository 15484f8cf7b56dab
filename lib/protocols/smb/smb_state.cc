#include "lib/protocols/smb/smb_state.h"

#include <algorithm>
#include <functional>

#include "absl/strings/ascii.h"
#include "lib/protocols/smb/ntstatus.h"
#include "lib/protocols/smb/smb2_lease.h"

namespace cfs::smb {

namespace {

// The last byte of a non-empty range (inclusive, so a range ending at 2^64-1 is representable).
uint64_t LastByte(uint64_t offset, uint64_t length) {
  uint64_t last = offset + (length - 1);
  return last < offset ? ~uint64_t{0} : last;
}

bool Overlaps(const ByteRangeLock& a, uint64_t offset, uint64_t length) {
  if (a.length == 0 || length == 0) return false;
  return a.offset <= LastByte(offset, length) && offset <= LastByte(a.offset, a.length);
}

bool Conflicts(uint32_t held_access, uint32_t held_share, uint32_t access, uint32_t share) {
  auto reads = [](uint32_t a) { return (a & (access::kReadData | access::kExecute)) != 0; };
  auto writes = [](uint32_t a) { return (a & (access::kWriteData | access::kAppendData)) != 0; };
  auto deletes = [](uint32_t a) { return (a & access::kDelete) != 0; };
  return (reads(held_access) && !(share & kShareRead)) ||
         (writes(held_access) && !(share & kShareWrite)) ||
         (deletes(held_access) && !(share & kShareDelete)) ||
         (reads(access) && !(held_share & kShareRead)) ||
         (writes(access) && !(held_share & kShareWrite)) ||
         (deletes(access) && !(held_share & kShareDelete));
}

// Whether the share modes of `held` and of the open `intent` describes exclude each other
// (opens without data or delete access neither check nor impose them, MS-FSA 2.1.5.1.2).
bool SharingConflict(const Open& held, const SmbServerState::Intent& intent) {
  constexpr uint32_t kShareChecked = access::kAnyData | access::kDelete;
  return (held.granted_access & kShareChecked) != 0 && (intent.access & kShareChecked) != 0 &&
         Conflicts(held.granted_access, held.share_access, intent.access, intent.share);
}

}  // namespace

std::shared_ptr<SmbConnection> Session::AnyChannel() {
  std::lock_guard<std::mutex> lock(mu);
  for (const std::weak_ptr<SmbConnection>& channel : channels) {
    if (std::shared_ptr<SmbConnection> conn = channel.lock()) return conn;
  }
  return nullptr;
}

std::shared_ptr<Session> SmbServerState::NewSession() {
  auto session = std::make_shared<Session>();
  session->id = next_session_id_.fetch_add(1);
  std::lock_guard<std::mutex> lock(sessions_mu_);
  sessions_[session->id] = session;
  return session;
}

uint64_t SmbServerState::StreamKey(backend::InodeNumber inode, absl::string_view name) {
  std::string folded = absl::AsciiStrToLower(name);
  uint64_t hash = std::hash<std::string>()(folded) * 0x9E3779B97F4A7C15ull ^ inode;
  return hash | (uint64_t{1} << 63);
}

std::shared_ptr<Session> SmbServerState::FindSession(uint64_t id) {
  std::lock_guard<std::mutex> lock(sessions_mu_);
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second;
}

void SmbServerState::RemoveSession(uint64_t id) {
  std::lock_guard<std::mutex> lock(sessions_mu_);
  sessions_.erase(id);
}

uint32_t SmbServerState::RegisterOpen(const std::shared_ptr<Open>& open) {
  std::lock_guard<std::mutex> lock(opens_mu_);
  InodeOpens& entry = opens_[open->Key()];
  if (entry.delete_pending) return nt::kDeletePending;
  InodeOpens* file = nullptr;
  if (!open->stream.empty()) {
    file = &opens_[open->inode];
    if (file->delete_pending) return nt::kDeletePending;
  }
  // Opens without data or delete access neither check nor impose share modes (MS-FSA 2.1.5.1.2).
  constexpr uint32_t kShareChecked = access::kAnyData | access::kDelete;
  bool checked = (open->granted_access & kShareChecked) != 0;
  for (const std::weak_ptr<Open>& weak : entry.opens) {
    std::shared_ptr<Open> other = weak.lock();
    if (other == nullptr || !checked || (other->granted_access & kShareChecked) == 0) continue;
    if (Conflicts(other->granted_access, other->share_access, open->granted_access,
                  open->share_access)) {
      return nt::kSharingViolation;
    }
  }
  // Deleting a file deletes its streams: each of their handles must share delete.
  if (open->stream.empty() && (open->granted_access & access::kDelete)) {
    for (const std::weak_ptr<Open>& weak : entry.streams) {
      std::shared_ptr<Open> stream = weak.lock();
      if (stream != nullptr && !(stream->share_access & kShareDelete)) {
        return nt::kSharingViolation;
      }
    }
  }
  entry.opens.push_back(open);
  if (file != nullptr) file->streams.push_back(open);
  return nt::kSuccess;
}

namespace {
// Drops `open` (and expired entries) from `list`.
void Forget(std::vector<std::weak_ptr<Open>>& list, const Open& open) {
  list.erase(std::remove_if(list.begin(), list.end(),
                            [&](const std::weak_ptr<Open>& w) {
                              std::shared_ptr<Open> o = w.lock();
                              return o == nullptr || o.get() == &open;
                            }),
             list.end());
}
}  // namespace

bool SmbServerState::UnregisterOpen(const Open& open, bool* delete_file) {
  std::lock_guard<std::mutex> lock(opens_mu_);
  if (open.durable != 0) durable_.erase(open.id);
  if (delete_file != nullptr) *delete_file = false;
  if (!open.stream.empty()) {
    auto file = opens_.find(open.inode);
    if (file != opens_.end()) {
      Forget(file->second.streams, open);
      if (file->second.opens.empty() && file->second.streams.empty()) {
        if (delete_file != nullptr) *delete_file = file->second.delete_pending;
        opens_.erase(file);
      }
    }
  }
  auto it = opens_.find(open.Key());
  if (it == opens_.end()) return false;
  InodeOpens& entry = it->second;
  if (open.delete_on_close) entry.delete_pending = true;
  Forget(entry.opens, open);
  if (!entry.opens.empty()) return false;
  if (!entry.streams.empty()) return false;  // the file waits for its stream handles
  bool remove = entry.delete_pending;
  opens_.erase(it);
  return remove;
}

void SmbServerState::RekeyStreamOpen(const std::shared_ptr<Open>& open, const std::string& name) {
  std::lock_guard<std::mutex> lock(opens_mu_);
  bool pending = false;
  auto it = opens_.find(open->Key());
  if (it != opens_.end()) {
    pending = it->second.delete_pending;
    opens_.erase(it);
  }
  {
    std::lock_guard<std::mutex> fields(open->mu);
    open->path = open->path.substr(0, open->path.rfind(':') + 1) + name;
    open->stream = name;
    open->stream_key = StreamKey(open->inode, name);
  }
  InodeOpens& entry = opens_[open->Key()];
  entry.opens.push_back(open);
  entry.delete_pending = pending;
}

void SmbServerState::SetDeletePending(const Open& open, bool pending) {
  std::lock_guard<std::mutex> lock(opens_mu_);
  opens_[open.Key()].delete_pending = pending;
}

bool SmbServerState::DeletePending(backend::InodeNumber inode) {
  std::lock_guard<std::mutex> lock(opens_mu_);
  auto it = opens_.find(inode);
  return it != opens_.end() && it->second.delete_pending;
}

bool SmbServerState::OpenElsewhere(backend::InodeNumber inode, uint64_t except) {
  std::lock_guard<std::mutex> lock(opens_mu_);
  auto it = opens_.find(inode);
  if (it == opens_.end()) return false;
  for (const std::weak_ptr<Open>& weak : it->second.opens) {
    std::shared_ptr<Open> other = weak.lock();
    if (other != nullptr && other->id != except) return true;
  }
  return false;
}

bool SmbServerState::RenameBlocked(const Open& open) {
  std::lock_guard<std::mutex> lock(opens_mu_);
  auto it = opens_.find(open.Key());
  if (it == opens_.end()) return false;
  for (const std::weak_ptr<Open>& weak : it->second.opens) {
    std::shared_ptr<Open> other = weak.lock();
    if (other == nullptr || other->id == open.id) continue;
    // Another handle that does not share delete pins the name.
    if (!(other->share_access & kShareDelete)) return true;
  }
  return false;
}

bool SmbServerState::OpenWithDeleteAccess(backend::InodeNumber dir, uint64_t except) {
  std::lock_guard<std::mutex> lock(opens_mu_);
  auto it = opens_.find(dir);
  if (it == opens_.end()) return false;
  for (const std::weak_ptr<Open>& weak : it->second.opens) {
    std::shared_ptr<Open> other = weak.lock();
    if (other != nullptr && other->id != except && (other->granted_access & access::kDelete)) {
      return true;
    }
  }
  return false;
}

uint32_t SmbServerState::Lock(backend::InodeNumber inode, const ByteRangeLock& lock) {
  std::lock_guard<std::mutex> guard(locks_mu_);
  return LockLocked(inode, lock);
}

uint32_t SmbServerState::LockOrWait(backend::InodeNumber inode, const ByteRangeLock& lock,
                                    std::function<void()> retry) {
  std::lock_guard<std::mutex> guard(locks_mu_);
  uint32_t status = LockLocked(inode, lock);
  if (status == nt::kSuccess) return status;
  lock_waiters_[inode].push_back(std::move(retry));
  return nt::kPending;
}

uint32_t SmbServerState::LockLocked(backend::InodeNumber inode, const ByteRangeLock& lock) {
  std::vector<ByteRangeLock>& held = locks_[inode];
  for (const ByteRangeLock& other : held) {
    // A zero-length lock at X meets a range that holds X past its first byte, either way round.
    auto inside = [](const ByteRangeLock& point, const ByteRangeLock& range) {
      return point.length == 0 && range.length != 0 && point.offset > range.offset &&
             point.offset <= LastByte(range.offset, range.length);
    };
    if (!Overlaps(other, lock.offset, lock.length) && !inside(lock, other) &&
        !inside(other, lock)) {
      continue;
    }
    // Shared locks stack, and a handle may stack a shared lock on its own exclusive one;
    // everything else that overlaps conflicts.
    bool same_open = other.open_id == lock.open_id;
    if (!other.exclusive && !lock.exclusive) continue;
    if (same_open && other.exclusive && !lock.exclusive) continue;
    return nt::kLockNotGranted;
  }
  held.push_back(lock);
  return nt::kSuccess;
}

uint32_t SmbServerState::Unlock(backend::InodeNumber inode, const ByteRangeLock& lock) {
  std::lock_guard<std::mutex> guard(locks_mu_);
  std::vector<ByteRangeLock>& held = locks_[inode];
  for (auto it = held.begin(); it != held.end(); ++it) {
    if (it->open_id == lock.open_id && it->offset == lock.offset && it->length == lock.length) {
      held.erase(it);
      return nt::kSuccess;
    }
  }
  return nt::kRangeNotLocked;
}

void SmbServerState::UnlockAll(backend::InodeNumber inode, uint64_t open_id) {
  std::lock_guard<std::mutex> guard(locks_mu_);
  auto it = locks_.find(inode);
  if (it == locks_.end()) return;
  std::vector<ByteRangeLock>& held = it->second;
  held.erase(std::remove_if(held.begin(), held.end(),
                            [&](const ByteRangeLock& l) { return l.open_id == open_id; }),
             held.end());
  if (held.empty()) locks_.erase(it);
}

bool SmbServerState::IoConflicts(backend::InodeNumber inode, uint64_t open_id, uint64_t offset,
                                 uint64_t length, bool write) {
  std::lock_guard<std::mutex> guard(locks_mu_);
  auto it = locks_.find(inode);
  if (it == locks_.end()) return false;
  for (const ByteRangeLock& l : it->second) {
    if (!Overlaps(l, offset, length)) continue;
    if (l.open_id == open_id) {
      if (write && !l.exclusive) return true;  // a shared lock forbids writes even to its owner
      continue;
    }
    if (l.exclusive || write) return true;
  }
  return false;
}

void SmbServerState::WakeLockWaiters(backend::InodeNumber inode) {
  std::vector<std::function<void()>> waiters;
  {
    std::lock_guard<std::mutex> guard(locks_mu_);
    auto it = lock_waiters_.find(inode);
    if (it == lock_waiters_.end()) return;
    waiters = std::move(it->second);
    lock_waiters_.erase(it);
  }
  for (std::function<void()>& retry : waiters) retry();
}

namespace {

// A lease state without read caching is no state (MS-SMB2 2.2.13.2.8): R, RH, RW, RWH only.
uint32_t ValidLeaseState(uint32_t state) {
  state &= kLeaseRead | kLeaseHandle | kLeaseWrite;
  return (state & kLeaseRead) != 0 ? state : kLeaseNone;
}

// Starts breaking `lease` to `to` (unless it holds no more than that): a break from a state
// with write or handle caching waits for the client's acknowledgement; from read caching
// alone it takes effect at once. Returns whether a break was queued in `breaks`.
// An open for attributes only (no data or delete access) that caches nothing itself takes part
// in no caching decision (MS-FSA 2.1.5.1.2.1); one that holds a lease counts through its lease.
bool IsStatOpen(const Open& open) {
  return access::IsStatAccess(open.granted_access) && open.lease == nullptr &&
         open.oplock == kOplockNone && !open.oplock_breaking;
}

bool BreakLease(const std::shared_ptr<Open>& via, const std::shared_ptr<Lease>& lease, uint32_t to,
                std::vector<SmbServerState::OplockBreak>* breaks) {
  to = ValidLeaseState(to & lease->state);
  if (to == lease->state) return false;
  SmbServerState::OplockBreak b;
  b.open = via;
  b.lease = lease;
  b.lease_from = lease->state;
  b.lease_to = to;
  b.ack_required = (lease->state & (kLeaseWrite | kLeaseHandle)) != 0;
  if (lease->version == 2) ++lease->epoch;
  b.epoch = lease->epoch;
  if (b.ack_required) {
    lease->breaking = true;
    lease->breaking_to = to;
  } else {
    lease->state = to;
  }
  breaks->push_back(std::move(b));
  return true;
}

}  // namespace

bool SmbServerState::OplockConflict(backend::InodeNumber inode, const Intent& intent,
                                    BreakStep step, std::vector<OplockBreak>* breaks,
                                    std::function<void()> retry) {
  std::lock_guard<std::mutex> lock(opens_mu_);
  auto it = opens_.find(inode);
  if (it == opens_.end()) return false;
  bool before = step == BreakStep::kBeforeShareCheck;
  bool wait = false;
  std::vector<const Lease*> seen;
  for (const std::weak_ptr<Open>& weak : it->second.opens) {
    std::shared_ptr<Open> other = weak.lock();
    if (other == nullptr) continue;
    if (other->lease != nullptr) {
      const std::shared_ptr<Lease>& lease = other->lease;
      if (lease->id == intent.lease_id) continue;  // the new open's own lease
      if (lease->breaking) {
        wait = true;
        continue;
      }
      uint32_t to = lease->state;
      if (before) {
        // The client may close the handles it caches, and must before the file goes away.
        if (SharingConflict(*other, intent) || intent.delete_on_close) to &= ~kLeaseHandle;
      } else {
        if (std::find(seen.begin(), seen.end(), lease.get()) != seen.end()) continue;
        seen.push_back(lease.get());
        to &= ~kLeaseWrite;
        if (intent.overwrite) to &= ~kLeaseRead;
      }
      if (BreakLease(other, lease, to, breaks) && lease->breaking) wait = true;
    } else if (other->oplock_breaking) {
      wait = true;
    } else if (before && (other->oplock == kOplockExclusive || other->oplock == kOplockBatch)) {
      other->oplock_breaking = true;
      other->oplock_break_to = intent.overwrite ? kOplockNone : kOplockLevelII;
      breaks->push_back({other, other->oplock_break_to});
      wait = true;
    } else if (!before && other->oplock == kOplockLevelII && intent.overwrite) {
      other->oplock = kOplockNone;  // level II breaks need no acknowledgement
      breaks->push_back({other, kOplockNone});
    }
  }
  if (wait) oplock_waiters_[inode].push_back(std::move(retry));
  return wait;
}

bool SmbServerState::BreakHandleCaching(backend::InodeNumber inode, uint64_t origin,
                                        std::vector<OplockBreak>* breaks,
                                        std::function<void()> retry) {
  std::lock_guard<std::mutex> lock(opens_mu_);
  auto it = opens_.find(inode);
  if (it == opens_.end()) return false;
  const Lease* own = nullptr;
  for (const std::weak_ptr<Open>& weak : it->second.opens) {
    std::shared_ptr<Open> other = weak.lock();
    if (other != nullptr && other->id == origin) own = other->lease.get();
  }
  bool wait = false;
  for (const std::weak_ptr<Open>& weak : it->second.opens) {
    std::shared_ptr<Open> other = weak.lock();
    if (other == nullptr || other->id == origin || other->lease == nullptr) continue;
    const std::shared_ptr<Lease>& lease = other->lease;
    if (lease.get() == own) continue;
    if (lease->breaking) {
      wait = true;
      continue;
    }
    if ((lease->state & kLeaseHandle) == 0) continue;
    if (BreakLease(other, lease, lease->state & ~kLeaseHandle, breaks) && lease->breaking) {
      wait = true;
    }
  }
  if (wait) oplock_waiters_[inode].push_back(std::move(retry));
  return wait;
}

uint32_t SmbServerState::CheckLeaseKey(const std::string& lease_id, backend::InodeNumber inode) {
  std::lock_guard<std::mutex> lock(opens_mu_);
  auto it = leases_.find(lease_id);
  if (it == leases_.end()) return nt::kSuccess;
  std::shared_ptr<Lease> lease = it->second.lock();
  if (lease == nullptr) {
    leases_.erase(it);
    return nt::kSuccess;
  }
  return lease->inode == inode ? nt::kSuccess : nt::kInvalidParameter;
}

SmbServerState::LeaseGrant SmbServerState::GrantLease(const std::shared_ptr<Open>& open,
                                                      const std::string& lease_id,
                                                      const std::string& key, int version,
                                                      uint32_t requested,
                                                      uint16_t requested_epoch) {
  std::lock_guard<std::mutex> lock(opens_mu_);
  std::shared_ptr<Lease> lease = leases_[lease_id].lock();
  bool fresh = lease == nullptr;
  if (fresh) {
    lease = std::make_shared<Lease>();
    lease->id = lease_id;
    lease->key = key;
    lease->inode = open->Key();
    lease->version = version;
    lease->epoch = version == 2 ? requested_epoch : 0;
    leases_[lease_id] = lease;
  }
  open->oplock = kOplockNone;
  open->lease = lease;
  // What the other opens of the file (not of this lease) allow.
  uint32_t want = open->directory ? kLeaseNone : ValidLeaseState(requested);
  auto it = opens_.find(open->Key());
  if (it != opens_.end()) {
    for (const std::weak_ptr<Open>& weak : it->second.opens) {
      std::shared_ptr<Open> other = weak.lock();
      if (other == nullptr || other.get() == open.get() || other->lease == lease) continue;
      if (IsStatOpen(*other)) continue;  // attributes only: it shares any caching
      want &= ~kLeaseWrite;              // another open: no exclusive write caching
      bool caches_writes = other->oplock_breaking || other->oplock == kOplockExclusive ||
                           other->oplock == kOplockBatch ||
                           (other->lease != nullptr &&
                            (other->lease->breaking || (other->lease->state & kLeaseWrite) != 0));
      if (caches_writes) want = kLeaseNone;  // another client is writing back or caches writes
      // Handle caching does not mix with oplocks (Windows grants such a lease read only).
      if (other->lease == nullptr && other->oplock != kOplockNone) want &= ~kLeaseHandle;
    }
  }
  LeaseGrant grant;
  if (lease->breaking) {
    grant.flags |= kLeaseFlagBreakInProgress;  // the state stays as it is being broken
  } else if (fresh) {
    lease->state = want;  // a new lease gets what can be shared of what it asked for
    if (lease->version == 2 && want != kLeaseNone) ++lease->epoch;
  } else {
    // An existing lease changes only to a valid strict superset of its state that can be held
    // in full beside the others; a CREATE never downgrades it.
    uint32_t asked = ValidLeaseState(requested);
    if (want == asked && (asked & lease->state) == lease->state && asked != lease->state) {
      lease->state = asked;
      if (lease->version == 2) ++lease->epoch;
    }
  }
  grant.state = lease->state;
  grant.epoch = lease->epoch;
  return grant;
}

void SmbServerState::AddDurable(const std::shared_ptr<Open>& open) {
  std::lock_guard<std::mutex> lock(opens_mu_);
  durable_[open->id] = open;  // forgotten by UnregisterOpen when the handle closes
}

bool SmbServerState::DurableAttached(uint64_t id) {
  std::lock_guard<std::mutex> lock(opens_mu_);
  auto it = durable_.find(id);
  if (it == durable_.end()) return false;
  std::shared_ptr<Open> open = it->second.lock();
  return open != nullptr && !open->disconnected;
}

bool SmbServerState::BreakInFlight(const Open& open) {
  std::lock_guard<std::mutex> lock(opens_mu_);
  return open.oplock_breaking || (open.lease != nullptr && open.lease->breaking);
}

void SmbServerState::KeepDisconnected(const std::shared_ptr<Open>& open) {
  std::lock_guard<std::mutex> lock(opens_mu_);
  open->disconnected = true;
  disconnected_[open->id] = open;
}

std::shared_ptr<Open> SmbServerState::TakeDisconnected(uint64_t id) {
  std::lock_guard<std::mutex> lock(opens_mu_);
  auto it = disconnected_.find(id);
  if (it == disconnected_.end()) return nullptr;
  std::shared_ptr<Open> open = it->second;
  disconnected_.erase(it);
  open->disconnected = false;
  return open;
}

std::vector<std::shared_ptr<Open>> SmbServerState::TakeConflictingDisconnected(
    backend::InodeNumber inode, const Intent& intent) {
  std::vector<std::shared_ptr<Open>> taken;
  std::lock_guard<std::mutex> lock(opens_mu_);
  for (auto it = disconnected_.begin(); it != disconnected_.end();) {
    const std::shared_ptr<Open>& open = it->second;
    bool conflicts = false;
    if (open->Key() == inode) {
      bool sharing = SharingConflict(*open, intent);
      if (open->lease != nullptr) {
        uint32_t state = open->lease->state;
        conflicts = open->lease->id != intent.lease_id &&
                    ((state & kLeaseWrite) != 0 || sharing || intent.overwrite);
      } else {
        conflicts = open->oplock == kOplockBatch || open->oplock == kOplockExclusive || sharing;
      }
    }
    if (conflicts) {
      open->disconnected = false;
      taken.push_back(open);
      it = disconnected_.erase(it);
    } else {
      ++it;
    }
  }
  return taken;
}

uint32_t SmbServerState::AcknowledgeLeaseBreak(const std::string& lease_id, uint32_t state) {
  backend::InodeNumber inode = 0;
  {
    std::lock_guard<std::mutex> lock(opens_mu_);
    auto it = leases_.find(lease_id);
    std::shared_ptr<Lease> lease = it == leases_.end() ? nullptr : it->second.lock();
    if (lease == nullptr) return nt::kObjectNameNotFound;
    if (!lease->breaking) return nt::kUnsuccessful;
    if ((state & ~lease->breaking_to) != 0) return nt::kRequestNotAccepted;
    lease->state = state;
    lease->breaking = false;
    inode = lease->inode;
  }
  WakeOplockWaiters(inode);
  return nt::kSuccess;
}

uint8_t SmbServerState::GrantOplock(const std::shared_ptr<Open>& open, uint8_t requested) {
  std::lock_guard<std::mutex> lock(opens_mu_);
  open->oplock = kOplockNone;
  if (requested == kOplockNone || requested == kOplockLease || open->directory ||
      open->pipe != nullptr) {
    return kOplockNone;
  }
  auto it = opens_.find(open->Key());
  bool others = false;
  if (it != opens_.end()) {
    for (const std::weak_ptr<Open>& weak : it->second.opens) {
      std::shared_ptr<Open> other = weak.lock();
      if (other == nullptr || other.get() == open.get() || IsStatOpen(*other)) continue;
      if (other->oplock_breaking || other->oplock == kOplockExclusive ||
          other->oplock == kOplockBatch ||
          (other->lease != nullptr &&
           (other->lease->breaking || (other->lease->state & (kLeaseWrite | kLeaseHandle)) != 0))) {
        // Another client is writing back or caches writes, or caches handles under a lease
        // (which no oplock may share, as in Windows).
        return kOplockNone;
      }
      others = true;
    }
  }
  uint8_t level =
      requested == kOplockBatch || requested == kOplockExclusive ? requested : kOplockLevelII;
  if (others) level = kOplockLevelII;
  open->oplock = level;
  return level;
}

std::vector<SmbServerState::OplockBreak> SmbServerState::BreakForLock(backend::InodeNumber inode,
                                                                      uint64_t origin) {
  return BreakOthers(inode, origin, Contention::kLock);
}

std::vector<SmbServerState::OplockBreak> SmbServerState::BreakForAccess(backend::InodeNumber inode,
                                                                        uint64_t origin,
                                                                        bool write) {
  return BreakOthers(inode, origin, write ? Contention::kWrite : Contention::kRead);
}

std::vector<SmbServerState::OplockBreak> SmbServerState::BreakOthers(backend::InodeNumber inode,
                                                                     uint64_t origin,
                                                                     Contention contention) {
  bool write = contention != Contention::kRead;
  std::vector<OplockBreak> breaks;
  std::lock_guard<std::mutex> lock(opens_mu_);
  auto it = opens_.find(inode);
  if (it == opens_.end()) return breaks;
  // The lease of the open doing the I/O keeps its caching: it is the same client.
  const Lease* own = nullptr;
  for (const std::weak_ptr<Open>& weak : it->second.opens) {
    std::shared_ptr<Open> other = weak.lock();
    if (other != nullptr && other->id == origin) own = other->lease.get();
  }
  std::vector<const Lease*> seen;
  for (const std::weak_ptr<Open>& weak : it->second.opens) {
    std::shared_ptr<Open> other = weak.lock();
    if (other == nullptr || other->id == origin) continue;
    if (other->lease != nullptr) {
      const std::shared_ptr<Lease>& lease = other->lease;
      if (lease.get() == own || lease->breaking) continue;
      if (std::find(seen.begin(), seen.end(), lease.get()) != seen.end()) continue;
      seen.push_back(lease.get());
      // A write elsewhere ends all caching; a read ends write caching.
      BreakLease(other, lease, write ? kLeaseNone : lease->state & ~kLeaseWrite, &breaks);
      continue;
    }
    if (other->oplock == kOplockNone || other->oplock_breaking) continue;
    if (contention == Contention::kLock && other->oplock != kOplockLevelII) continue;
    if (other->oplock == kOplockLevelII) {
      if (!write) continue;
      other->oplock = kOplockNone;
      breaks.push_back({other, kOplockNone});
    } else {
      other->oplock_breaking = true;
      other->oplock_break_to = write ? kOplockNone : kOplockLevelII;
      breaks.push_back({other, other->oplock_break_to});
    }
  }
  return breaks;
}

uint32_t SmbServerState::AcknowledgeBreak(Open& open, uint8_t level) {
  uint32_t status = nt::kSuccess;
  {
    std::lock_guard<std::mutex> lock(opens_mu_);
    if (!open.oplock_breaking) return nt::kInvalidOplockProtocol;
    open.oplock_breaking = false;
    if (level > open.oplock_break_to) {
      status = nt::kInvalidOplockProtocol;
      open.oplock = kOplockNone;
    } else {
      open.oplock = level;
    }
  }
  WakeOplockWaiters(open.Key());
  return status;
}

void SmbServerState::ExpireBreaks(backend::InodeNumber inode) {
  {
    std::lock_guard<std::mutex> lock(opens_mu_);
    auto it = opens_.find(inode);
    if (it != opens_.end()) {
      for (const std::weak_ptr<Open>& weak : it->second.opens) {
        std::shared_ptr<Open> other = weak.lock();
        if (other == nullptr) continue;
        if (other->lease != nullptr && other->lease->breaking) {
          other->lease->breaking = false;
          other->lease->state = kLeaseNone;
        }
        if (!other->oplock_breaking) continue;
        other->oplock_breaking = false;
        other->oplock = kOplockNone;
      }
    }
  }
  WakeOplockWaiters(inode);
}

void SmbServerState::AddOplockWaiter(backend::InodeNumber inode, std::function<void()> retry) {
  std::lock_guard<std::mutex> lock(opens_mu_);
  oplock_waiters_[inode].push_back(std::move(retry));
}

void SmbServerState::WakeOplockWaiters(backend::InodeNumber inode) {
  std::vector<std::function<void()>> waiters;
  {
    std::lock_guard<std::mutex> lock(opens_mu_);
    auto it = oplock_waiters_.find(inode);
    if (it == oplock_waiters_.end()) return;
    waiters = std::move(it->second);
    oplock_waiters_.erase(it);
  }
  for (std::function<void()>& retry : waiters) retry();
}

void SmbServerState::WatchDirectory(backend::InodeNumber dir, std::function<void()> fire) {
  std::lock_guard<std::mutex> guard(watch_mu_);
  watchers_[dir].push_back(std::move(fire));
}

void SmbServerState::DirectoryChanged(backend::InodeNumber dir) {
  std::vector<std::function<void()>> fire;
  {
    std::lock_guard<std::mutex> guard(watch_mu_);
    auto it = watchers_.find(dir);
    if (it == watchers_.end()) return;
    fire = std::move(it->second);
    watchers_.erase(it);
  }
  for (std::function<void()>& f : fire) f();
}

void SmbServerState::WithStreamLock(backend::InodeNumber inode,
                                    std::function<void(StreamUnlock unlock)> critical) {
  {
    std::lock_guard<std::mutex> lock(stream_mu_);
    auto [held, first] = stream_locks_.try_emplace(inode);
    if (!first) {
      held->second.push_back(std::move(critical));
      return;
    }
  }
  critical(MakeStreamUnlock(inode));
}

SmbServerState::StreamUnlock SmbServerState::MakeStreamUnlock(backend::InodeNumber inode) {
  return [this, inode] {
    std::function<void(StreamUnlock)> next;
    {
      std::lock_guard<std::mutex> lock(stream_mu_);
      auto held = stream_locks_.find(inode);
      if (held->second.empty()) {
        stream_locks_.erase(held);
        return;
      }
      next = std::move(held->second.front());
      held->second.pop_front();
    }
    next(MakeStreamUnlock(inode));  // the lock passes on: still held
  };
}

}  // namespace cfs::smb
