// SmbServer: what every SMB connection of one frontend shares: the configuration, the shares
// (one per export with an smb_share, plus IPC$), the user store, the backend, the timer thread
// (oplock break timeouts, durable handle expiry) and the server-wide state (sessions, share
// modes, locks). It has no thread pool: commands run on the connections' loops and continue
// from backend callbacks (smb_connection.h).
//
// Ownership: borrows the backend and user store (they outlive the frontend); owns the state and
// the timer thread. Thread-safe after construction.
#ifndef CFS_LIB_PROTOCOLS_SMB_SMB_SERVER_H_
#define CFS_LIB_PROTOCOLS_SMB_SMB_SERVER_H_

#include <condition_variable>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "lib/auth/user_store.h"
#include "lib/backend/backend.h"
#include "lib/observability/protocol_metrics.h"
#include "lib/protocols/smb/smb2_negotiate.h"
#include "lib/protocols/smb/smb_state.h"

namespace cfs::smb {

struct SmbServerConfig {
  std::string server_name = "CFS-GATEWAY";  // NetBIOS name in NTLM and srvsvc
  std::string domain = "WORKGROUP";
  uint16_t min_dialect = kDialect202;
  uint16_t max_dialect = kDialect311;
  bool signing_required = false;     // every session signs (or encrypts)
  bool encryption_required = false;  // every session encrypts (3.x clients only)
  uint32_t max_io = 8 << 20;         // largest READ/WRITE/transact
  uint16_t max_credits = 8192;       // credits a client may hold (Samba's default)
  // The IPv4 address FSCTL_QUERY_NETWORK_INTERFACE_INFO reports (the listener's).
  std::string local_address = "127.0.0.1";
  // Counts every request by command and status (null: no metrics). Borrowed.
  observability::ProtocolMetrics* metrics = nullptr;
};

class SmbServer {
 public:
  SmbServer(SmbServerConfig config, backend::Backend& backend, auth::UserStore& users,
            std::vector<Share> shares);
  ~SmbServer();

  const SmbServerConfig& config() const { return config_; }
  backend::Backend& backend() { return backend_; }
  auth::UserStore& users() { return users_; }
  SmbServerState& state() { return state_; }
  const std::string& guid() const { return guid_; }
  uint64_t start_filetime() const { return start_filetime_; }
  // The share named `name` (case-insensitive), or null.
  std::shared_ptr<const Share> FindShare(absl::string_view name) const;
  // The shares served now (an immutable snapshot).
  std::shared_ptr<const std::vector<Share>> shares() const;
  // Serves `shares` to TREE_CONNECTs from now on; connected trees keep the share they have.
  void SetShares(std::vector<Share> shares);
  // Whether an export's share requires encryption.
  bool ShareEncrypted(const Share& share) const;

  // Runs `fn` on the timer thread after `delay` (oplock break timeouts, durable expiry, a
  // durable reconnect's wait): it must not block. Dropped at Shutdown.
  void RunAfter(absl::Duration delay, std::function<void()> fn);
  // Sends oplock break notifications (from any thread; never blocks).
  void SendBreaks(const std::vector<SmbServerState::OplockBreak>& breaks);
  // What closing `open` does to the file, whatever connection it had, by backend callbacks:
  // releases its locks, share modes and delete-pending (deleting the file, or the named stream,
  // when it was the last open with delete pending), commits unstable writes. `done` gets the
  // NTSTATUS of the commit or delete and, with `want_after`, the attributes after the close
  // (inode 0 when there are none), on any thread.
  using Released = std::function<void(uint32_t status, backend::Attributes after)>;
  void ReleaseOpenAsync(const std::shared_ptr<Open>& open, bool want_after, Released done);
  // Keeps the durable `open` of a session that ended, and closes it when its timeout passes
  // without a reconnect.
  void KeepDurable(const std::shared_ptr<Open>& open);

  // Stops the timer thread (after the listener stopped).
  void Shutdown();

 private:
  SmbServerConfig config_;
  backend::Backend& backend_;
  auth::UserStore& users_;
  mutable std::mutex shares_mu_;
  std::shared_ptr<const std::vector<Share>> shares_;  // guarded by shares_mu_
  SmbServerState state_;
  std::string guid_;
  uint64_t start_filetime_ = 0;
  // The timer: deadlines in order, served by one thread.
  std::mutex timer_mu_;
  std::condition_variable timer_cv_;
  std::multimap<absl::Time, std::function<void()>> timers_;
  bool timer_stop_ = false;
  std::thread timer_thread_;
};

}  // namespace cfs::smb

#endif  // CFS_LIB_PROTOCOLS_SMB_SMB_SERVER_H_
