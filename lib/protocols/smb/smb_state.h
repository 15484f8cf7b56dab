// The state an SMB server keeps across requests (MS-SMB2 3.3.1): shares, sessions with their
// keys, tree connects and opens, and the server-wide tables every connection shares (share
// modes, byte-range locks, pending requests).
//
// Ownership: SmbServerState owns the sessions (shared_ptr, so a request in flight keeps its
// session alive after LOGOFF) and the lock table; a Session owns its trees and opens; an Open
// owns its pipe. Every mutable field is guarded by the mutex of the object that holds it.
#ifndef CFS_LIB_PROTOCOLS_SMB_SMB_STATE_H_
#define CFS_LIB_PROTOCOLS_SMB_SMB_STATE_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>  // std::mutex: visible to ThreadSanitizer (Debian's Abseil is not instrumented)
#include <string>
#include <vector>

#include "lib/auth/export_policy.h"
#include "lib/auth/user_store.h"
#include "lib/backend/backend.h"
#include "lib/protocols/smb/smb2_lease.h"
#include "lib/protocols/smb/smb2_signing.h"
#include "lib/protocols/smb/smb_crypto.h"
#include "lib/protocols/smb/srvsvc.h"

namespace cfs::smb {

class SmbConnection;
struct Session;

// Oplock levels (MS-SMB2 2.2.13).
inline constexpr uint8_t kOplockNone = 0;
inline constexpr uint8_t kOplockLevelII = 1;
inline constexpr uint8_t kOplockExclusive = 8;
inline constexpr uint8_t kOplockBatch = 9;
inline constexpr uint8_t kOplockLease = 0xFF;

// Access mask bits (MS-SMB2 2.2.13.1).
namespace access {
inline constexpr uint32_t kReadData = 0x00000001;
inline constexpr uint32_t kWriteData = 0x00000002;
inline constexpr uint32_t kAppendData = 0x00000004;
inline constexpr uint32_t kReadEa = 0x00000008;
inline constexpr uint32_t kWriteEa = 0x00000010;
inline constexpr uint32_t kExecute = 0x00000020;
inline constexpr uint32_t kDeleteChild = 0x00000040;
inline constexpr uint32_t kReadAttributes = 0x00000080;
inline constexpr uint32_t kWriteAttributes = 0x00000100;
inline constexpr uint32_t kDelete = 0x00010000;
inline constexpr uint32_t kReadControl = 0x00020000;
inline constexpr uint32_t kWriteDac = 0x00040000;
inline constexpr uint32_t kWriteOwner = 0x00080000;
inline constexpr uint32_t kSynchronize = 0x00100000;
inline constexpr uint32_t kSystemSecurity = 0x01000000;
inline constexpr uint32_t kMaximumAllowed = 0x02000000;
inline constexpr uint32_t kGenericAll = 0x10000000;
inline constexpr uint32_t kGenericExecute = 0x20000000;
inline constexpr uint32_t kGenericWrite = 0x40000000;
inline constexpr uint32_t kGenericRead = 0x80000000;
inline constexpr uint32_t kAll = 0x001F01FF;
inline constexpr uint32_t kAnyData = kReadData | kWriteData | kAppendData | kExecute;
// What a "stat open" may ask for: it breaks no oplock and takes part in no caching decision
// (MS-FSA 2.1.5.1.2.1; smbtorture lease.statopen4 lists the rights).
inline constexpr uint32_t kStatOpen =
    kReadAttributes | kWriteAttributes | kReadControl | kSynchronize;
inline constexpr bool IsStatAccess(uint32_t granted) { return (granted & ~kStatOpen) == 0; }
inline constexpr uint32_t kAnyWrite = kWriteData | kAppendData | kWriteEa | kWriteAttributes |
                                      kDelete | kWriteDac | kWriteOwner | kDeleteChild;
}  // namespace access

inline constexpr uint32_t kShareRead = 1;
inline constexpr uint32_t kShareWrite = 2;
inline constexpr uint32_t kShareDelete = 4;

struct Share {
  std::string name;
  std::shared_ptr<const auth::Export> export_;  // null for IPC$
  backend::InodeNumber root = 0;
  bool ipc() const { return export_ == nullptr; }
};

struct Tree {
  uint32_t id = 0;
  std::shared_ptr<const Share> share;  // kept while the tree lives, even if the share goes
  backend::RequestContext ctx;         // the session's identity after the export's rules
  bool read_only = false;
  uint32_t maximal_access = 0;
};

// A lease (MS-SMB2 3.3.1.13): the caching state (kLeaseRead/Handle/Write) one client holds on
// one file through every open it made with the same lease key. Owned by those opens; every
// field is guarded by SmbServerState's open table lock.
struct Lease {
  std::string id;  // ClientGuid + LeaseKey
  std::string key;
  backend::InodeNumber inode = 0;  // the file's inode, or a stream's Open::Key()
  int version = 1;
  uint32_t state = 0;
  bool breaking = false;  // a break was sent; the client's acknowledgement is due
  uint32_t breaking_to = 0;
  uint16_t epoch = 0;  // version 2
};

// An open file, directory or pipe (MS-SMB2 3.3.1.10).
struct Open {
  uint64_t id = 0;  // persistent and volatile halves alike
  std::shared_ptr<Tree> tree;
  backend::InodeNumber inode = 0;
  backend::InodeNumber parent = 0;
  std::string name;  // the entry's name in `parent` ("" for the share root)
  std::string path;  // share-relative, backslashes; with ":stream" for a named stream
  // A named stream of `inode` (smb_streams.h), as stored; empty for the file's own data.
  std::string stream;
  // What share modes, byte-range locks, delete-on-close and oplocks are kept on: each stream
  // is a file of its own for them (MS-FSA 2.1.1.5), so a named stream has a key of its own.
  uint64_t stream_key = 0;
  uint64_t Key() const { return stream.empty() ? inode : stream_key; }
  bool directory = false;
  uint32_t granted_access = 0;
  uint32_t share_access = 0;
  uint32_t create_options = 0;
  std::unique_ptr<SrvsvcPipe> pipe;
  // Where oplock break notifications go: the connection and session the open was made on, and
  // whether it was made over an encrypted channel (then breaks are encrypted too).
  std::weak_ptr<SmbConnection> conn;
  std::weak_ptr<Session> session;
  bool encrypted = false;
  // The oplock, guarded by SmbServerState's open table lock.
  uint8_t oplock = kOplockNone;
  bool oplock_breaking = false;  // a break was sent; the client's acknowledgement is due
  uint8_t oplock_break_to = kOplockNone;
  std::shared_ptr<Lease> lease;  // instead of an oplock, when the CREATE asked for a lease
  // A durable handle (MS-SMB2 3.3.1.10) outlives its connection for `durable_timeout_ms`, and
  // its owner may reconnect to it (DHnC, DH2C). Set by the CREATE that opens it.
  int durable = 0;          // 0: not durable; 1 or 2: the version of the context that granted it
  std::string create_guid;  // DH2Q
  uint32_t durable_timeout_ms = 0;
  std::string owner;          // the user of the session that opened it
  bool disconnected = false;  // no session holds it; guarded by SmbServerState's open table

  std::mutex mu;
  // READs and WRITEs running in parallel on the handle; CLOSE and FLUSH wait for them without a
  // thread (WhenIoIdle).
  int io_in_flight = 0;
  std::vector<std::function<void()>> io_idle_waiters;  // guarded by mu
  void StartIo() {
    std::lock_guard<std::mutex> lock(mu);
    ++io_in_flight;
  }
  void FinishIo() {
    std::vector<std::function<void()>> waiters;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (--io_in_flight != 0) return;
      waiters.swap(io_idle_waiters);
    }
    for (std::function<void()>& waiter : waiters) waiter();
  }
  // Runs `fn` once no READ or WRITE runs on the handle: at once, or from the last FinishIo.
  void WhenIoIdle(std::function<void()> fn) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (io_in_flight != 0) {
        io_idle_waiters.push_back(std::move(fn));
        return;
      }
    }
    fn();
  }
  // Lock sequence replay detection (MS-SMB2 3.3.5.14), guarded by mu: per index 1..64, the
  // sequence number of the last LOCK that succeeded, or -1.
  std::array<int8_t, 64> lock_sequences = MakeNoLockSequences();
  static std::array<int8_t, 64> MakeNoLockSequences() {
    std::array<int8_t, 64> none;
    none.fill(-1);
    return none;
  }
  bool delete_on_close = false;  // guarded by SmbServerState::opens_mu_
  uint64_t position = 0;
  bool dirty = false;  // unstable writes not yet committed
  // Directory enumeration: the matching entries, the next one to return, and the pattern.
  bool enumeration_started = false;
  std::vector<std::pair<std::string, backend::Attributes>> listing;
  size_t next_entry = 0;
  std::string pattern;
};

// One SPNEGO + NTLMSSP exchange in progress: a session's authentication or re-authentication,
// or the binding of a session to another connection.
struct NtlmExchange {
  std::string negotiate;
  std::string challenge;  // empty until the server sent its CHALLENGE
  std::string server_challenge;
  std::string mech_types;  // SPNEGO MechTypeList DER, for the mechListMIC
  PreauthHash preauth;     // 3.1.1: over this exchange's SESSION_SETUP messages
  void Clear() {
    negotiate.clear();
    challenge.clear();
  }
};

struct Session {
  uint64_t id = 0;
  std::mutex mu;
  // Atomic: a reconnecting client's SESSION_SETUP on another connection ends this session.
  std::atomic<bool> valid{false};    // authenticated
  std::atomic<bool> expired{false};  // logged off
  uint16_t dialect = 0;
  auth::User user;
  backend::Identity identity;
  SessionKeys keys;
  uint16_t signing_algorithm = kSigningHmacSha256;
  Cipher cipher = Cipher::kAes128Gcm;
  bool encryption_capable = false;  // the connection negotiated a cipher
  bool signing_required = false;
  bool encrypt_data = false;  // every message of the session must be encrypted
  // The connections the session is bound to (its channels, MS-SMB2 3.3.1.14), guarded by mu.
  // The session ends with LOGOFF or when the last of them closes.
  std::vector<std::weak_ptr<SmbConnection>> channels;
  // A connection of the session that is still open (for oplock breaks), or null.
  std::shared_ptr<SmbConnection> AnyChannel();
  uint32_t next_tree_id = 1;
  std::map<uint32_t, std::shared_ptr<Tree>> trees;
  std::map<uint64_t, std::shared_ptr<Open>> opens;
};

struct ByteRangeLock {
  uint64_t open_id = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
  bool exclusive = false;
};

// Server-wide tables shared by every connection. Thread-safe.
class SmbServerState {
 public:
  std::shared_ptr<Session> NewSession();
  std::shared_ptr<Session> FindSession(uint64_t id);
  void RemoveSession(uint64_t id);
  uint64_t NextOpenId() { return next_open_id_.fetch_add(1); }
  // The key of stream `name` (compared ignoring case) of `inode` for Open::stream_key: the
  // same for every open of the stream, never an inode number (the top bit is set).
  static uint64_t StreamKey(backend::InodeNumber inode, absl::string_view name);
  // Serialises the read-modify-write updates of the named streams of `inode` without a waiting
  // thread: `critical` runs once no other holder has the lock (at once, or from the `unlock` of
  // the holder before it) and calls the `unlock` it gets exactly once, from any thread, when
  // its update is over.
  using StreamUnlock = std::function<void()>;
  void WithStreamLock(backend::InodeNumber inode,
                      std::function<void(StreamUnlock unlock)> critical);

  // Share modes (MS-FSA 2.1.5.1.2): registers `open` on its inode (or stream) unless an open
  // there conflicts. A file's streams count for an open of the file with DELETE access: one
  // that does not share delete is a conflict. Returns the NTSTATUS (kSharingViolation,
  // kDeletePending) or kSuccess.
  uint32_t RegisterOpen(const std::shared_ptr<Open>& open);
  // Unregisters `open`. True when it was the last open of its file (or stream) and a delete is
  // pending for it (the caller deletes it). A file's deletion waits for its stream handles:
  // `*delete_file` is set when the last of them closes after the file was deleted.
  bool UnregisterOpen(const Open& open, bool* delete_file = nullptr);
  // The stream `open` names was renamed to `name`: its share modes, delete-pending flag and
  // path follow it (the caller checked that no other handle has the stream open).
  void RekeyStreamOpen(const std::shared_ptr<Open>& open, const std::string& name);
  // Sets or clears delete-on-close for the inode of `open`.
  void SetDeletePending(const Open& open, bool pending);
  bool DeletePending(backend::InodeNumber inode);
  // True when an open other than `except` (0: none) is registered on `inode`.
  bool OpenElsewhere(backend::InodeNumber inode, uint64_t except);
  // Opens on `inode` whose share modes forbid a rename or delete by `open`.
  bool RenameBlocked(const Open& open);
  // True when an open other than `except` holds DELETE access to `dir`: no rename may add an
  // entry to it then (as in Windows and Samba, whose renames fail with SHARING_VIOLATION).
  bool OpenWithDeleteAccess(backend::InodeNumber dir, uint64_t except);

  // Oplocks (MS-SMB2 3.3.5.9, 3.3.4.6).
  // An oplock break (`lease` null) or a lease break to send, through `open`'s connection.
  struct OplockBreak {
    std::shared_ptr<Open> open;
    uint8_t to = kOplockNone;
    std::shared_ptr<Lease> lease;
    uint32_t lease_from = 0;
    uint32_t lease_to = 0;
    bool ack_required = false;
    uint16_t epoch = 0;
  };
  // The open a CREATE is about to make, as oplock and lease conflicts see it.
  struct Intent {
    bool overwrite = false;
    uint32_t access = 0;
    uint32_t share = 0;
    std::string lease_id;          // ClientGuid + LeaseKey when it asks for a lease, else empty
    bool delete_on_close = false;  // the new open will delete the file when it closes
  };
  // A CREATE of an existing file breaks what other opens cache in two steps, as Windows does:
  // before the share-mode check, exclusive and batch oplocks (to level II, or none when the new
  // open overwrites) and the handle caching of leases whose opens the new one conflicts with
  // (the client may close them); after it, the write caching of other leases (and their read
  // caching and level II oplocks when the new open overwrites).
  enum class BreakStep { kBeforeShareCheck, kAfterShareCheck };
  // Breaks what `step` breaks for a new open of `inode` and returns the breaks to notify.
  // True when the new open must wait for acknowledgements (some break is in progress); then
  // `retry` is registered (under the same lock, so no acknowledgement is missed) to run when
  // the breaks end.
  bool OplockConflict(backend::InodeNumber inode, const Intent& intent, BreakStep step,
                      std::vector<OplockBreak>* breaks, std::function<void()> retry);
  // Leases (MS-SMB2 3.3.5.9.8, 3.3.5.9.11). kInvalidParameter when the lease `lease_id` exists
  // for another file than `inode`, else kSuccess.
  uint32_t CheckLeaseKey(const std::string& lease_id, backend::InodeNumber inode);
  // After RegisterOpen: attaches `open` to the lease `lease_id` (made on first use) and grants
  // what `requested` asks for that other opens allow. Returns the lease state granted, with
  // the flags, epoch and version of the response context.
  struct LeaseGrant {
    uint32_t state = 0;
    uint32_t flags = 0;
    uint16_t epoch = 0;
  };
  LeaseGrant GrantLease(const std::shared_ptr<Open>& open, const std::string& lease_id,
                        const std::string& key, int version, uint32_t requested,
                        uint16_t requested_epoch);
  // True while a break of `open`'s oplock or lease waits for the client's acknowledgement. A
  // durable open in that state is closed when its connection drops, not kept: the CREATE that
  // caused the break waits for it, and a client that is gone cannot acknowledge it.
  bool BreakInFlight(const Open& open);
  // Durable opens whose session is gone (MS-SMB2 3.3.7.1): kept, with their share modes,
  // locks, oplock or lease, until their owner reconnects or their timeout passes.
  void KeepDisconnected(const std::shared_ptr<Open>& open);
  // Registers the durable `open` (while it is attached to a session too).
  void AddDurable(const std::shared_ptr<Open>& open);
  // True when the durable open `id` exists and is not (yet) disconnected.
  bool DurableAttached(uint64_t id);
  // Removes and returns the disconnected open `id`, or null.
  std::shared_ptr<Open> TakeDisconnected(uint64_t id);
  // Removes and returns the disconnected opens of `inode` that a new open `intent` would have
  // to break (their client is gone; Windows closes them rather than wait).
  std::vector<std::shared_ptr<Open>> TakeConflictingDisconnected(backend::InodeNumber inode,
                                                                 const Intent& intent);
  // A lease break acknowledgment. kSuccess, kObjectNameNotFound (no such lease),
  // kUnsuccessful (no break in progress) or kRequestNotAccepted (a state above the one the
  // break goes to).
  uint32_t AcknowledgeLeaseBreak(const std::string& lease_id, uint32_t state);
  // After RegisterOpen: the level `open` gets for `requested` (level II when others have the
  // file open; none for leases, directories and pipes).
  uint8_t GrantOplock(const std::shared_ptr<Open>& open, uint8_t requested);
  // A read or write of `inode` through any protocol, except by the open `origin`: a write
  // breaks every other oplock and lease to none, a read breaks exclusive and batch oplocks to
  // level II and write caching away from leases.
  std::vector<OplockBreak> BreakForAccess(backend::InodeNumber inode, uint64_t origin, bool write);
  // A byte-range lock taken by the open `origin`: level II oplocks and other leases break to
  // none (MS-FSA 2.1.5.7); exclusive and batch oplocks stay.
  std::vector<OplockBreak> BreakForLock(backend::InodeNumber inode, uint64_t origin);
  // The client acknowledged a break of `open` to `level`. Returns kSuccess, or
  // kInvalidOplockProtocol (no break in progress, or a level above the one broken to).
  uint32_t AcknowledgeBreak(Open& open, uint8_t level);
  // A rename or a delete disposition set through `origin` ends the handle caching of the other
  // leases of `inode` (MS-FSA 2.1.4.12: their clients may hold handles open that pin the name).
  // Returns true when `origin` must wait for acknowledgements; then `retry` runs once the breaks
  // end, as for OplockConflict.
  bool BreakHandleCaching(backend::InodeNumber inode, uint64_t origin,
                          std::vector<OplockBreak>* breaks, std::function<void()> retry);
  // The client did not acknowledge in time: the breaks in progress on `inode` complete, and
  // each such oplock and lease is broken to none (MS-SMB2 3.3.2.1, 3.3.2.5).
  void ExpireBreaks(backend::InodeNumber inode);
  // `retry` runs once the breaks in progress on `inode` end (acknowledged, expired, closed).
  void AddOplockWaiter(backend::InodeNumber inode, std::function<void()> retry);
  void WakeOplockWaiters(backend::InodeNumber inode);

  // Byte-range locks. Returns kSuccess, kLockNotGranted/kFileLockConflict, kRangeNotLocked.
  uint32_t Lock(backend::InodeNumber inode, const ByteRangeLock& lock);
  uint32_t Unlock(backend::InodeNumber inode, const ByteRangeLock& lock);
  void UnlockAll(backend::InodeNumber inode, uint64_t open_id);
  // True when a read (or write) of the range by `open_id` conflicts with another's lock.
  bool IoConflicts(backend::InodeNumber inode, uint64_t open_id, uint64_t offset, uint64_t length,
                   bool write);
  // Takes `lock`, or (in the same critical section, so no release is missed) registers `retry`
  // to run once locks on the inode are released. Returns kSuccess or kPending.
  uint32_t LockOrWait(backend::InodeNumber inode, const ByteRangeLock& lock,
                      std::function<void()> retry);
  // Called after locks on `inode` were released: runs (and forgets) the waiters.
  void WakeLockWaiters(backend::InodeNumber inode);

  // CHANGE_NOTIFY: `fire` runs (once) at the next change of an entry of directory `dir` made
  // through this server.
  void WatchDirectory(backend::InodeNumber dir, std::function<void()> fire);
  void DirectoryChanged(backend::InodeNumber dir);

 private:
  enum class Contention { kRead, kWrite, kLock };
  std::vector<OplockBreak> BreakOthers(backend::InodeNumber inode, uint64_t origin,
                                       Contention contention);
  uint32_t LockLocked(backend::InodeNumber inode, const ByteRangeLock& lock);

  std::mutex sessions_mu_;
  std::map<uint64_t, std::shared_ptr<Session>> sessions_;
  std::atomic<uint64_t> next_session_id_{0x1000000001};
  std::atomic<uint64_t> next_open_id_{1};

  struct InodeOpens {
    std::vector<std::weak_ptr<Open>> opens;
    // On a file's entry: the opens of its named streams (whose own entries are by stream key).
    // They keep a deleted file's name (delete pending) until the last of them closes.
    std::vector<std::weak_ptr<Open>> streams;
    bool delete_pending = false;
  };
  std::mutex opens_mu_;
  std::map<backend::InodeNumber, InodeOpens> opens_;
  std::map<backend::InodeNumber, std::vector<std::function<void()>>> oplock_waiters_;
  std::map<std::string, std::weak_ptr<Lease>> leases_;      // by Lease::id
  std::map<uint64_t, std::shared_ptr<Open>> disconnected_;  // durable opens, by id
  std::map<uint64_t, std::weak_ptr<Open>> durable_;         // open durable handles, by id

  std::mutex locks_mu_;
  std::map<backend::InodeNumber, std::vector<ByteRangeLock>> locks_;
  std::map<backend::InodeNumber, std::vector<std::function<void()>>> lock_waiters_;

  StreamUnlock MakeStreamUnlock(backend::InodeNumber inode);
  // Held stream locks, by inode: the critical sections waiting for each (none: just held).
  std::mutex stream_mu_;
  std::map<backend::InodeNumber, std::deque<std::function<void(StreamUnlock)>>> stream_locks_;

  std::mutex watch_mu_;
  std::map<backend::InodeNumber, std::vector<std::function<void()>>> watchers_;
};

}  // namespace cfs::smb

#endif  // CFS_LIB_PROTOCOLS_SMB_SMB_STATE_H_
