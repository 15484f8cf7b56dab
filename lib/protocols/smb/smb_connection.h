// SmbConnection: one client's TCP connection to the SMB server (MS-SMB2 3.3.1.7).
//
// The loop thread frames Direct TCP messages (OnData) and queues them in the connection's serial
// order, which runs on the connection's loop: one frame at a time, in order, while connections run
// in parallel on their loops. Processing a frame: decrypt a TRANSFORM_HEADER, split a compound,
// check credits and signatures, run each command, then sign/encrypt and send the (compound)
// response. A command either answers at once on the loop (NEGOTIATE, SESSION_SETUP, TREE_CONNECT,
// ECHO, LOCK, CHANGE_NOTIFY, OPLOCK_BREAK, CANCEL, IOCTLs answered from memory), or continues from
// backend callbacks (CREATE, READ, WRITE, FLUSH, CLOSE, LOGOFF, TREE_DISCONNECT, QUERY_DIRECTORY,
// QUERY_INFO, SET_INFO, IOCTL, named streams, and the session ends SESSION_SETUP causes:
// asynchronous SPI calls; no SMB request holds a thread while it waits); the frame's processing
// resumes on the loop when the command answers. A READ or WRITE alone in its frame does not hold
// the serial order: it runs beside the requests after it and answers from its own callback.
// Requests that wait (a blocking LOCK, CHANGE_NOTIFY) get an interim STATUS_PENDING and
// finish later through SendAsync. The command handlers live in smb_session_ops.cc
// (NEGOTIATE..TREE_DISCONNECT), smb_create_ops.cc (CREATE), smb_stream_ops.cc (named streams),
// smb_file_ops.cc (CLOSE..LOCK), smb_query_ops.cc (QUERY_*), smb_set_info_ops.cc (SET_INFO) and
// smb_ioctl_ops.cc (IOCTL).
//
// Ownership: the TcpServer's handler owns a shared_ptr; queued work, callbacks and pending async
// requests hold more, so the object outlives the socket until they finish. Thread-safe: the
// state marked "owned by the serial order" is touched by one step at a time (on the loop, or on
// a backend thread while the order waits for it).
//
// Example (what SmbConnectionHandler does with each frame):
//   auto bytes = std::make_shared<std::string>(frame);
//   connection->Enqueue(bytes, *bytes);  // answered through the connection's ConnectionRef
#ifndef CFS_LIB_PROTOCOLS_SMB_SMB_CONNECTION_H_
#define CFS_LIB_PROTOCOLS_SMB_SMB_CONNECTION_H_

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>  // std::mutex: visible to ThreadSanitizer (Debian's Abseil is not instrumented)
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "lib/common/net/tcp_server.h"
#include "lib/protocols/smb/nt_acl.h"
#include "lib/protocols/smb/ntlmssp.h"
#include "lib/protocols/smb/smb2_durable.h"
#include "lib/protocols/smb/smb2_header.h"
#include "lib/protocols/smb/smb2_messages.h"
#include "lib/protocols/smb/smb2_negotiate.h"
#include "lib/protocols/smb/smb_paths.h"
#include "lib/protocols/smb/smb_server.h"
#include "lib/protocols/smb/smb_state.h"
#include "lib/protocols/smb/smb_streams.h"

namespace cfs::smb {

// One request of a (compound) message as a handler sees it.
struct SmbRequest {
  Smb2Header header;
  absl::string_view message;  // the whole SMB2 message, header included
  // Owns the bytes `message` points into, when a handler may hand them on (WRITE data to the
  // backend without a copy); null when `message` lives only for the call.
  std::shared_ptr<const void> keep_alive;
  bool encrypted = false;
  std::shared_ptr<Session> session;
  std::shared_ptr<Tree> tree;
  FileId related_file;  // the file a previous CREATE of the compound opened
  uint64_t async_id = 0;
  // False for a request with more of its compound after it: only a CREATE may go async there
  // (MS-SMB2 3.3.5.2.7 note); others answer INTERNAL_ERROR instead of waiting, as Windows does.
  bool may_go_async = true;
  // The key and algorithm that sign and verify this connection's messages of the session: its
  // channel's when the session was bound here, else empty (the session's own).
  std::string signing_key;
  uint16_t signing_algorithm = 0;
};

struct SmbResponse {
  uint32_t status = 0;
  std::string body;          // empty: the error body
  bool go_async = false;     // answered later through SendAsync; an interim response goes now
  bool no_response = false;  // CANCEL
  bool disconnect = false;   // close the connection after sending what is queued
  // NEGOTIATE and SESSION_SETUP: feed the response into the preauth hash (3.1.1).
  bool final_session_setup = false;
  FileId created;  // CREATE: the new open for related requests
  // SESSION_SETUP binding a session to this connection: interim responses and errors are
  // signed with the session's key (the request was verified with it), before the exchange's
  // preauth hash takes them.
  bool sign_binding = false;
  // Sent after `body` as a part of its own (a READ's data: moved, never copied on the
  // parallel path); BuildResponse appends it where responses are joined.
  std::string payload;
  // SESSION_SETUP: sessions that end (with their opens closed, or durable ones kept when the
  // flag is set) before the response goes.
  std::vector<std::pair<std::shared_ptr<Session>, bool>> end_sessions;
};

// Where a command that does not answer at once delivers its response (once, from any thread).
using SmbLater = std::function<void(SmbResponse)>;

class SmbConnection : public std::enable_shared_from_this<SmbConnection> {
 public:
  SmbConnection(SmbServer& server, const net::ConnectionInfo& info);
  ~SmbConnection();

  // Loop thread: a whole Direct TCP frame (without its 4-byte length), within the bytes `owner`
  // holds, processed in the connection's serial order.
  void Enqueue(std::shared_ptr<const std::string> owner, absl::string_view frame);
  // A step of the serial order: runs on the connection's loop and calls `done` exactly once (at
  // once, or later from any thread) when the next step may start.
  using SerialTask = std::function<void(std::function<void()> done)>;
  // Any thread: runs `task` in this connection's serial order (after the steps queued now).
  void RunSerial(SerialTask task);
  // The peer is gone: pending requests are dropped, opens of sessions bound only here close
  // (by backend callbacks, once the serial order is idle).
  void Closed();

  // Any thread: an OPLOCK_BREAK notification for `open` (made on this connection).
  void SendOplockBreak(const Open& open, uint8_t level);
  // A lease break notification for the lease `open` holds.
  void SendLeaseBreak(const Open& open, const SmbServerState::OplockBreak& b);

  // Any thread: the final response of a request that went async.
  void SendAsync(const SmbRequest& request, uint32_t status, std::string body);

 private:
  // Loop thread: runs the queued steps until one waits or none is left.
  void Drain();
  // `done` of the running step: the drain goes on (in its loop when called at once).
  void SerialStepDone();
  // What Closed() leaves to do, once nothing runs in the serial order (any thread).
  void CleanUpClosed();
  void ProcessFrame(std::shared_ptr<const std::string> owner, absl::string_view frame,
                    std::function<void()> done);
  void ProcessSmb1(absl::string_view message);
  // Where a compound chain continues after a request of it went async (MS-SMB2 3.3.4.2: the
  // requests after it run once it completes).
  struct CompoundResume {
    std::shared_ptr<Session> session;
    std::shared_ptr<Tree> tree;
    FileId related_file;
    uint32_t previous_status = 0;
  };
  // Runs the messages of one (decrypted) packet, one after the other, and sends the responses;
  // `packet` holds `messages` (the bytes of the chain). Calls `done` when it is over.
  struct CompoundRun;
  void ProcessCompound(std::shared_ptr<const std::string> packet, absl::string_view messages,
                       bool encrypted, uint64_t transform_session, const CompoundResume* resume,
                       bool completes_request, std::function<void()> done);
  // Loop thread: runs the compound's requests from the next one until one waits or all ran.
  void ContinueCompound(const std::shared_ptr<CompoundRun>& run);
  // After the current request of `run` answered: the chain's bookkeeping; false when the
  // requests after it wait for it (it went async).
  bool FinishCompoundRequest(CompoundRun& run, SmbResponse response);
  void SendCompound(CompoundRun& run);
  // Queues the rest of a compound chain whose async request completed (or was cancelled).
  void ResumeCompound(std::string rest, bool encrypted, uint64_t transform_session,
                      CompoundResume resume);
  // Runs the command and counts it in the server's metrics: returns its response when it
  // answered at once, else delivers it to `later` on the loop thread. `request` must stay valid
  // until then (the callback chains work on it).
  std::optional<SmbResponse> Run(SmbRequest& request, SmbLater later);
  // The commands answered from memory, at once on the loop.
  SmbResponse DispatchCommand(SmbRequest& request);
  // Counts one answered request (also those refused before they ran).
  void RecordRequest(uint16_t command, uint32_t status, absl::Duration latency, size_t received,
                     size_t sent);
  // A READ or WRITE alone in its packet, on an open file's data: runs beside the requests after
  // it and answers from its own callback. False: the request runs in the serial order.
  bool StartParallelIo(const SmbRequest& request);
  // Sends the response of a request alone in its packet (a READ's data as a part of its own).
  void SendSingle(const SmbRequest& request, SmbResponse response);
  // Credits: checks and consumes the request's message ids. False: the connection must close.
  bool ConsumeCredits(const Smb2Header& header);
  uint16_t GrantCredits(const Smb2Header& header);
  // The response message; `with_payload` false leaves the response's payload out (the caller
  // sends it as a part of its own).
  std::string BuildResponse(const SmbRequest& request, const SmbResponse& response,
                            uint16_t credits, bool async_interim, bool with_payload = true);
  // Signs (when the session signs) a finished response message in place; `tail` is sent right
  // after it as part of the same message.
  void MaybeSign(const SmbRequest& request, const SmbResponse& response, std::string* message,
                 absl::string_view tail = {});
  void SendPacket(std::string packet, bool encrypt, const std::shared_ptr<Session>& session,
                  bool completes_request, std::string tail = {});
  void Fail(absl::string_view why);  // protocol violation: close the connection

  // ---- commands (smb_session_ops.cc) ----
  SmbResponse Negotiate(SmbRequest& r);
  SmbResponse SessionSetup(SmbRequest& r);
  std::optional<SmbResponse> Logoff(SmbRequest& r, SmbLater later);
  SmbResponse TreeConnect(SmbRequest& r);
  std::optional<SmbResponse> TreeDisconnect(SmbRequest& r, SmbLater later);
  SmbResponse Echo(SmbRequest& r);
  SmbResponse Cancel(SmbRequest& r);
  // ---- SESSION_SETUP (smb_session_setup.cc) ----
  // One leg of SPNEGO + NTLMSSP against the user store.
  struct AuthLeg {
    uint32_t status = 0;  // kMoreProcessingRequired (body set), an error, or kSuccess
    std::string body;     // the SESSION_SETUP response body of an interim leg
    NtlmResult ntlm;
    auth::User user;
    std::string server_mic;  // SPNEGO mechListMIC of the final token (may be empty)
    bool raw_ntlmssp = false;
    std::string FinalToken() const;
  };
  AuthLeg RunNtlm(absl::string_view security_blob, NtlmExchange& exchange);
  // SESSION_SETUP with the binding flag: adds this connection as a channel of an existing
  // session (MS-SMB2 3.3.5.5.2).
  SmbResponse BindSession(SmbRequest& r, const SessionSetupRequest& req);
  // Ends `session` on every connection: forgets it here at once, closes its opens (or keeps
  // the durable ones) and calls `done` (from any thread) when they are closed.
  void EndSession(const std::shared_ptr<Session>& session, bool keep_durable,
                  std::function<void()> done);
  // Closes `opens` of `session`, or (with `keep_durable`) keeps the durable ones for a
  // reconnect (SmbServer::KeepDurable); `done` runs once every one is closed or kept.
  void CloseOrKeep(const std::shared_ptr<Session>& session,
                   const std::vector<std::shared_ptr<Open>>& opens, bool keep_durable,
                   std::function<void()> done);
  // ---- CREATE (smb_create_ops.cc) ----
  // Answers at once (errors, the srvsvc pipe) or from a chain of backend callbacks, each step
  // below continuing the CreateRun (smb_create_run.h); a named stream's in smb_stream_ops.cc.
  std::optional<SmbResponse> Create(SmbRequest& r, SmbLater later);
  struct CreateRun;
  SmbResponse CreatePipe(SmbRequest& r, CreateRun& run);
  // A CREATE with DHnC or DH2C: reattaches a disconnected durable open to this session (looking
  // again after 20 ms while the open is still attached to the connection it is leaving).
  void ReconnectDurable(const std::shared_ptr<CreateRun>& run, const DurableReconnect& reconnect,
                        int attempt);
  // The path's parent resolved: looks the entry up (ignoring case).
  void CreateResolved(const std::shared_ptr<CreateRun>& run);
  // The entry's attributes (none: it does not exist): the access check of an existing entry
  // (its DACL read), or the creation of a new one.
  void CreateLookedUp(const std::shared_ptr<CreateRun>& run,
                      std::optional<backend::Attributes> existing);
  void CreateOpenExisting(const std::shared_ptr<CreateRun>& run, uint32_t maximal, bool by_dacl);
  // Oplock breaks and share modes of an existing entry, then its truncation.
  void CreateRegister(const std::shared_ptr<CreateRun>& run, bool breaks);
  void CreateNew(const std::shared_ptr<CreateRun>& run);
  // A new entry's DACL (given or inherited), then its share modes.
  void CreateStoreDacl(const std::shared_ptr<CreateRun>& run, std::optional<Dacl> dacl);
  // Caching granted, the backend's open count taken, then the response.
  void CreateFinish(const std::shared_ptr<CreateRun>& run);
  SmbResponse CreateResponseFor(CreateRun& run, uint8_t oplock);
  // An overwrite drops the file's named streams (those no handle has open): `done` runs once
  // they are gone (smb_stream_ops.cc).
  void RemoveNamedStreamsAsync(const backend::RequestContext& ctx, backend::InodeNumber inode,
                               std::function<void()> done);
  // Removes the streams `names` of `inode` one after the other (failures are logged), then
  // `done`.
  void RemoveStreams(const backend::RequestContext& ctx, backend::InodeNumber inode,
                     const std::shared_ptr<std::vector<std::string>>& names,
                     std::function<void()> done);
  // ---- commands (smb_file_ops.cc) ----
  std::optional<SmbResponse> Close(SmbRequest& r, SmbLater later);
  // READ, WRITE and FLUSH answer at once (errors, pipes) or from backend callbacks.
  std::optional<SmbResponse> Flush(SmbRequest& r, SmbLater later);
  std::optional<SmbResponse> Read(SmbRequest& r, SmbLater later);
  std::optional<SmbResponse> Write(SmbRequest& r, SmbLater later);
  SmbResponse Lock(SmbRequest& r);
  SmbResponse ChangeNotify(SmbRequest& r);
  SmbResponse OplockBreakAck(SmbRequest& r);

  // After RegisterOpen: the lease `*lease_request` asks for (updated to what is granted), or
  // else the oplock level granted for `requested`.
  uint8_t GrantCaching(const std::shared_ptr<Open>& open, uint8_t requested,
                       std::optional<LeaseContext>* lease_request, const std::string& lease_id);
  // The RqLs response context for a granted lease (none without one).
  static void AddLeaseContext(std::optional<LeaseContext>& lease, CreateResponse* resp);
  // A CREATE or SET_INFO that waited for oplock breaks runs again (a step of the serial order
  // that calls `done` when it is over); answered from here when it completes.
  void RetryAfterBreaks(uint64_t async_id, std::function<void()> done);
  // ---- named streams (smb_stream_ops.cc) ----
  // A CREATE of "file:stream" once the path resolved: opens or makes the stream (and the
  // file, when the disposition creates and it is missing). Then CreateStreamChecked (access
  // to the file) and CreateStreamLocked (under the file's stream lock).
  void CreateStreamOpen(const std::shared_ptr<CreateRun>& run);
  void CreateStreamChecked(const std::shared_ptr<CreateRun>& run);
  void CreateStreamLocked(const std::shared_ptr<CreateRun>& run,
                          const SmbServerState::StreamUnlock& unlock);
  // The stream's size known, its open registered: the response.
  void CreateStreamFinish(const std::shared_ptr<CreateRun>& run, uint64_t size);
  // READ, WRITE, resize (end of file or allocation) and rename (to ":name", MS-FSCC 2.4.37) of
  // a stream handle, by backend callbacks; changes run under the file's stream lock. `data` of
  // a WRITE stays valid while `keep` lives.
  void ReadStreamOpen(const std::shared_ptr<Open>& open, const ReadRequest& req, SmbLater later);
  void WriteStreamOpen(const std::shared_ptr<Open>& open, const WriteRequest& req,
                       std::shared_ptr<const void> keep, SmbLater later);
  void ResizeStreamOpen(const std::shared_ptr<Open>& open, uint64_t size, bool allocation,
                        SmbLater later);
  void RenameStreamOpen(const std::shared_ptr<Open>& open, std::string target,
                        bool replace_if_exists, SmbLater later);
  // ---- commands (smb_query_ops.cc) ----
  // QUERY_DIRECTORY: the listing from backend callbacks (GetAttr, a directory scan or one
  // case-insensitive lookup); a continued enumeration checks its next entries are still there.
  std::optional<SmbResponse> QueryDirectory(SmbRequest& r, SmbLater later);
  void ContinueListing(const std::shared_ptr<Open>& open,
                       const std::shared_ptr<QueryDirectoryRequest>& req, SmbLater later);
  // Under open.mu: the entries from open.next_entry up to `end` that fit the request's buffer,
  // skipping those `gone` names (by listing index).
  static SmbResponse FillDirectoryBuffer(Open& open, const QueryDirectoryRequest& req, size_t end,
                                         const std::function<bool(size_t)>& gone);
  // QUERY_INFO: the facts it needs (attributes, a stream's size, the streams, volume figures,
  // the DACL) from backend callbacks one after the other, then one answer.
  std::optional<SmbResponse> QueryInfo(SmbRequest& r, SmbLater later);
  struct QueryFacts {
    backend::Attributes attrs;       // of the open (a named stream's size and times)
    backend::Attributes file_attrs;  // of the file itself
    std::vector<StreamInfo> streams;
    std::optional<Dacl> dacl;
    backend::FsStatResult stat;
  };
  SmbResponse AnswerQueryInfo(const QueryInfoRequest& req, Open& open, const QueryFacts& facts);
  // ---- SET_INFO (smb_set_info_ops.cc) ----
  // Answers at once (errors, position, mode) or from backend callbacks.
  std::optional<SmbResponse> SetInfo(SmbRequest& r, SmbLater later);
  std::optional<SmbResponse> SetBasicInfo(const std::shared_ptr<Open>& open, const std::string& b,
                                          SmbLater later);
  std::optional<SmbResponse> SetSize(const std::shared_ptr<Open>& open, const SetInfoRequest& req,
                                     SmbLater later);
  std::optional<SmbResponse> SetSecurity(const std::shared_ptr<Open>& open,
                                         const std::shared_ptr<SetInfoRequest>& req,
                                         SmbLater later);
  // A delete disposition set waits for the handle caching of other leases to break.
  std::optional<SmbResponse> SetDisposition(SmbRequest& r, const std::shared_ptr<Open>& open,
                                            const std::string& b, SmbLater later);
  // A rename or hard link: the target resolved and looked up, then LinkOpen or RenameOpen.
  std::optional<SmbResponse> SetName(SmbRequest& r, const std::shared_ptr<Open>& open,
                                     const std::shared_ptr<SetInfoRequest>& req, SmbLater later);
  void LinkOpen(const std::shared_ptr<Open>& open, const std::shared_ptr<ResolvedParent>& to,
                bool replace, SmbLater later);
  void RenameOpen(SmbRequest& r, const std::shared_ptr<Open>& open,
                  const std::shared_ptr<ResolvedParent>& to, SmbLater later);
  // Sets `set` through `open` (refused on a read-only tree) and tells the directory's watchers;
  // `then` gets the NTSTATUS.
  void SetAttrThen(const std::shared_ptr<Open>& open, const backend::SetAttributes& set,
                   std::function<void(uint32_t status)> then);
  // ---- commands (smb_ioctl_ops.cc) ----
  // Answers at once from memory (negotiate validation, interfaces, DFS, the srvsvc pipe, resume
  // keys, object ids, refusals) or from backend callbacks (server-side copy, allocated ranges,
  // sparse marks).
  std::optional<SmbResponse> Ioctl(SmbRequest& r, SmbLater later);
  struct CopyRun;
  // Copies the next chunk of a server-side copy (read, then write), or answers after the last.
  void CopyNextChunk(const std::shared_ptr<CopyRun>& copy);

  // Helpers shared by the handlers.
  // Registers `r` as pending (under `async_id`, or a new id), for `open_id`'s close to end it
  // too, and returns the interim STATUS_PENDING response.
  SmbResponse GoAsync(SmbRequest& r, uint64_t open_id, uint64_t async_id = 0);
  // The tree's context tagged with the open, for the ChangeFeed (oplock breaks).
  static backend::RequestContext OwnIo(const Open& open);
  // A CREATE of an existing `inode`: sends the oplock breaks it causes; when it must wait for
  // acknowledgements, returns the interim response (the request goes async).
  std::optional<SmbResponse> WaitForOplockBreaks(SmbRequest& r, backend::InodeNumber inode,
                                                 const SmbServerState::Intent& intent,
                                                 SmbServerState::BreakStep step);
  // A rename or delete disposition through `open`: sends the breaks of other leases' handle
  // caching; when it must wait for acknowledgements (and `r` may go async), returns the
  // interim response.
  std::optional<SmbResponse> WaitForHandleBreaks(SmbRequest& r, const Open& open);
  // The shared part of the two above: `conflict` sends breaks and registers the retry it is
  // given; true when `r` must wait.
  std::optional<SmbResponse> WaitForBreaks(
      SmbRequest& r, backend::InodeNumber inode,
      const std::function<bool(std::vector<SmbServerState::OplockBreak>*, std::function<void()>)>&
          conflict);
  std::shared_ptr<Open> FindOpen(const SmbRequest& r, const FileId& id);
  // Closes `open` once its READs and WRITEs finished (commit, unlock, delete-on-close) and
  // forgets it in its session; `done` gets the status (and the attributes after, if wanted).
  void CloseOpen(const std::shared_ptr<Session>& session, const std::shared_ptr<Open>& open,
                 bool want_after, SmbServer::Released done);
  // Forgets `open` in `session` and ends the requests pending on it.
  void DetachOpen(const std::shared_ptr<Session>& session, const Open& open);
  // Answers the pending CHANGE_NOTIFY `async_id` (if still pending) with NOTIFY_ENUM_DIR.
  void CompleteNotify(uint64_t async_id);
  // A blocking LOCK of one range: takes it and answers the pending request `async_id`, or
  // waits for the next release on the inode and tries again.
  void TryLockOrWait(std::shared_ptr<Open> open, ByteRangeLock lock, uint64_t async_id);

  SmbServer& server_;
  net::ConnectionRef ref_;
  std::string peer_address_;

  std::mutex queue_mu_;
  std::deque<SerialTask> queue_;
  bool draining_ = false;      // a Drain is scheduled or a step runs or waits
  bool step_running_ = false;  // Drain is inside a step's call
  bool step_done_ = false;     // that step called `done` before returning
  bool closed_ = false;

  // Owned by the serial order (one step at a time).
  bool negotiated_ = false;
  uint16_t dialect_ = 0;
  uint32_t server_capabilities_ = 0;  // as the NEGOTIATE response sent them
  NegotiateRequest negotiate_request_;
  uint16_t cipher_ = 0;
  uint16_t signing_algorithm_ = kSigningHmacSha256;
  bool client_signing_required_ = false;
  PreauthHash preauth_;
  std::map<uint64_t, std::shared_ptr<Session>> sessions_;  // sessions set up or bound here
  // Authentications in progress on this connection (new sessions, re-authentications and
  // bindings), by session id.
  std::map<uint64_t, NtlmExchange> exchanges_;
  // Sessions bound to this connection as another channel: the channel's signing key and the
  // algorithm this connection negotiated.
  struct ChannelSigning {
    std::string key;
    uint16_t algorithm = 0;
  };
  std::map<uint64_t, ChannelSigning> channel_signing_;

  // Credit window: message ids in [window_low_, window_high_) may be used once.
  std::mutex credits_mu_;
  uint64_t window_low_ = 0;
  uint64_t window_high_ = 1;
  std::set<uint64_t> used_above_low_;

  // Requests that went async, by async id.
  struct Pending {
    SmbRequest request;
    std::string message;  // keeps request.message valid
    uint64_t open_id = 0;
    // The rest of the compound chain, run after this request completes.
    std::string rest;
    bool rest_encrypted = false;
    uint64_t rest_session = 0;
  };
  std::mutex pending_mu_;
  std::map<uint64_t, std::shared_ptr<Pending>> pending_;
  uint64_t next_async_id_ = 1;

  std::atomic<uint64_t> nonce_counter_{1};  // encryption nonces: never one twice per connection
};

// The TcpServer's per-connection handler: frames input for an SmbConnection.
class SmbConnectionHandler : public net::ConnectionHandler {
 public:
  SmbConnectionHandler(SmbServer& server, const net::ConnectionInfo& info);
  ~SmbConnectionHandler() override;
  absl::StatusOr<size_t> OnData(absl::string_view input) override;
  // A large frame at the start of the input takes the input buffer itself (no copy of a WRITE's
  // payload) when little follows it; other frames are copied out.
  absl::StatusOr<size_t> OnInput(std::string& input) override;

 private:
  std::shared_ptr<SmbConnection> connection_;
  net::ConnectionInfo info_;
  size_t max_message_;
};

}  // namespace cfs::smb

#endif  // CFS_LIB_PROTOCOLS_SMB_SMB_CONNECTION_H_
