#include "lib/protocols/smb/smb_connection.h"

#include <openssl/rand.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "lib/common/logging.h"
#include "lib/protocols/smb/le_bytes.h"
#include "lib/protocols/smb/ntstatus.h"
#include "lib/protocols/smb/smb2_lease.h"
#include "lib/protocols/smb/smb2_signing.h"
#include "lib/protocols/smb/smb_info.h"
#include "lib/protocols/smb/spnego.h"

namespace cfs::smb {

namespace {

// MS-SMB2 command names, for metrics.
std::string CommandName(uint16_t command) {
  static constexpr const char* kNames[] = {
      "NEGOTIATE",     "SESSION_SETUP", "LOGOFF",   "TREE_CONNECT", "TREE_DISCONNECT",
      "CREATE",        "CLOSE",         "FLUSH",    "READ",         "WRITE",
      "LOCK",          "IOCTL",         "CANCEL",   "ECHO",         "QUERY_DIRECTORY",
      "CHANGE_NOTIFY", "QUERY_INFO",    "SET_INFO", "OPLOCK_BREAK"};
  if (command < sizeof kNames / sizeof kNames[0]) return kNames[command];
  return "COMMAND_" + std::to_string(command);
}

// Commands that need no tree connect.
bool NeedsTree(uint16_t command) {
  switch (command) {
    case cmd::kNegotiate:
    case cmd::kSessionSetup:
    case cmd::kLogoff:
    case cmd::kTreeConnect:
    case cmd::kEcho:
    case cmd::kCancel:
      return false;
    default:
      return true;
  }
}

}  // namespace

SmbConnectionHandler::SmbConnectionHandler(SmbServer& server, const net::ConnectionInfo& info)
    : connection_(std::make_shared<SmbConnection>(server, info)),
      info_(info),
      max_message_(server.config().max_io + 64 * 1024) {}

SmbConnectionHandler::~SmbConnectionHandler() { connection_->Closed(); }

absl::StatusOr<size_t> SmbConnectionHandler::OnData(absl::string_view input) {
  std::string copy(input);
  absl::StatusOr<size_t> consumed = OnInput(copy);
  if (!consumed.ok()) return consumed;
  return input.size() - (copy.size() - *consumed);
}

absl::StatusOr<size_t> SmbConnectionHandler::OnInput(std::string& input) {
  // A frame at least this large, with at most this much after it, is taken with the buffer.
  constexpr size_t kTakeFrom = 64 * 1024;
  constexpr size_t kMaxTail = 64 * 1024;
  size_t consumed = 0;
  while (consumed < input.size()) {
    absl::string_view rest = absl::string_view(input).substr(consumed);
    absl::StatusOr<std::optional<size_t>> size = FrameSize(rest, max_message_);
    if (!size.ok()) return size.status();
    if (!size->has_value() || rest.size() < **size) break;
    if (!info_.can_start_request()) break;
    info_.start_request();
    size_t frame = **size;
    if (consumed == 0 && frame >= kTakeFrom && input.size() - frame <= kMaxTail) {
      size_t capacity = input.capacity();
      auto owner = std::make_shared<std::string>(std::move(input));
      input.assign(*owner, frame, std::string::npos);  // what follows the frame
      input.reserve(capacity);  // the next large frame arrives without regrowing
      connection_->Enqueue(owner, absl::string_view(*owner).substr(4, frame - 4));
      continue;  // `input` starts after the frame now
    }
    auto owner = std::make_shared<const std::string>(rest.substr(4, frame - 4));
    connection_->Enqueue(owner, *owner);
    consumed += frame;
  }
  return consumed;
}

SmbConnection::SmbConnection(SmbServer& server, const net::ConnectionInfo& info)
    : server_(server), ref_(info.ref), peer_address_(info.peer_address) {
  unsigned char seed[8];
  RAND_bytes(seed, sizeof(seed));
  uint64_t start = 0;
  for (unsigned char b : seed) start = (start << 8) | b;
  nonce_counter_ = start & 0x00FFFFFFFFFFFFFFULL;  // room to count without wrapping
}

SmbConnection::~SmbConnection() = default;

void SmbConnection::Enqueue(std::shared_ptr<const std::string> owner, absl::string_view frame) {
  RunSerial([this, owner = std::move(owner), frame](std::function<void()> done) {
    ProcessFrame(owner, frame, std::move(done));
  });
}

void SmbConnection::RunSerial(SerialTask task) {
  std::lock_guard<std::mutex> lock(queue_mu_);
  queue_.push_back(std::move(task));
  if (draining_) return;
  draining_ = true;
  ref_.Post([self = shared_from_this()] { self->Drain(); });
}

void SmbConnection::Closed() {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    closed_ = true;
    if (draining_) return;  // the drain (or the step it waits for) cleans up when it sees closed_
    draining_ = true;       // nothing runs in the serial order from now on
  }
  CleanUpClosed();
}

void SmbConnection::Drain() {
  while (true) {
    SerialTask task;
    {
      std::lock_guard<std::mutex> lock(queue_mu_);
      if (closed_) {
        queue_.clear();  // the peer is gone: nothing to answer
        break;
      }
      if (queue_.empty()) {
        draining_ = false;
        return;
      }
      task = std::move(queue_.front());
      queue_.pop_front();
      step_running_ = true;
      step_done_ = false;
    }
    task([self = shared_from_this()] { self->SerialStepDone(); });
    std::lock_guard<std::mutex> lock(queue_mu_);
    step_running_ = false;
    if (!step_done_) return;  // the step waits: SerialStepDone goes on from its callback
  }
  CleanUpClosed();
}

void SmbConnection::SerialStepDone() {
  bool closed;
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (step_running_) {
      step_done_ = true;  // answered at once: Drain's loop goes on
      return;
    }
    closed = closed_;
  }
  if (closed) return CleanUpClosed();
  ref_.Post([self = shared_from_this()] { self->Drain(); });
}

void SmbConnection::CleanUpClosed() {
  // The connection closed: drop pending requests; a session with no other channel ends: its
  // durable opens are kept for their owner to reconnect, the others close.
  {
    std::lock_guard<std::mutex> lock(pending_mu_);
    pending_.clear();
  }
  for (auto& [id, session] : sessions_) {
    std::vector<std::shared_ptr<Open>> opens;
    {
      std::lock_guard<std::mutex> lock(session->mu);
      auto& channels = session->channels;
      channels.erase(std::remove_if(channels.begin(), channels.end(),
                                    [this](const std::weak_ptr<SmbConnection>& channel) {
                                      std::shared_ptr<SmbConnection> conn = channel.lock();
                                      return conn == nullptr || conn.get() == this;
                                    }),
                     channels.end());
      if (!channels.empty()) continue;  // still served on another connection
      for (auto& [open_id, open] : session->opens) opens.push_back(open);
      session->expired = true;
    }
    SmbServer* server = &server_;
    CloseOrKeep(session, opens, /*keep_durable=*/true,
                [server, id = id] { server->state().RemoveSession(id); });
  }
  sessions_.clear();
  exchanges_.clear();
  channel_signing_.clear();
}

void SmbConnection::Fail(absl::string_view why) {
  CFS_LOG(DEBUG, "smb") << peer_address_ << ": closing the connection: " << why;
  ref_.Send("", true);
  ref_.CloseWhenSent();
}

void SmbConnection::ProcessFrame(std::shared_ptr<const std::string> owner, absl::string_view frame,
                                 std::function<void()> done) {
  switch (KindOf(frame)) {
    case MessageKind::kSmb1:
      ProcessSmb1(frame);
      return done();
    case MessageKind::kSmb2:
      return ProcessCompound(std::move(owner), frame, false, 0, nullptr, true, std::move(done));
    case MessageKind::kTransform: {
      absl::StatusOr<TransformHeader> th = DecodeTransformHeader(frame);
      if (!th.ok()) {
        Fail(th.status().message());
        return done();
      }
      std::shared_ptr<Session> session;
      auto it = sessions_.find(th->session_id);
      if (it != sessions_.end()) session = it->second;
      if (session == nullptr || !session->valid || !session->encryption_capable) {
        Fail("encrypted message for an unknown session");
        return done();
      }
      absl::string_view bytes = frame;
      if (th->original_message_size != bytes.size() - kTransformHeaderSize) {
        Fail("transform header size mismatch");
        return done();
      }
      absl::string_view nonce =
          absl::string_view(th->nonce).substr(0, NonceLength(session->cipher));
      absl::StatusOr<std::string> plain =
          Decrypt(session->cipher, session->keys.server_in, nonce,
                  TransformAad(bytes.substr(0, kTransformHeaderSize)),
                  bytes.substr(kTransformHeaderSize), th->signature);
      if (!plain.ok() || KindOf(*plain) != MessageKind::kSmb2) {
        Fail(plain.ok() ? "encrypted payload is not SMB2" : "decryption failed");
        return done();
      }
      auto packet = std::make_shared<const std::string>(std::move(*plain));
      absl::string_view messages = *packet;
      return ProcessCompound(std::move(packet), messages, true, th->session_id, nullptr, true,
                             std::move(done));
    }
    default:
      Fail("not an SMB2 message");
      return done();
  }
}

// An SMB1 NEGOTIATE that offers SMB2 (MS-SMB2 3.3.5.3): answered with an SMB2 NEGOTIATE
// response; anything else SMB1 closes the connection.
void SmbConnection::ProcessSmb1(absl::string_view message) {
  if (negotiated_ || message.size() < 35 || static_cast<uint8_t>(message[4]) != 0x72) {
    return Fail("SMB1 is not served");
  }
  uint16_t byte_count = Le16(message, 33);
  absl::string_view bytes = message.substr(35, std::min<size_t>(byte_count, message.size() - 35));
  bool wildcard = false;
  bool smb202 = false;
  for (size_t at = 0; at < bytes.size();) {
    size_t end = bytes.find('\0', at);
    if (end == absl::string_view::npos) break;
    absl::string_view dialect = bytes.substr(at + 1, end - at - 1);
    if (dialect == "SMB 2.???") wildcard = true;
    if (dialect == "SMB 2.002") smb202 = true;
    at = end + 1;
  }
  uint16_t dialect = 0;
  if (wildcard && server_.config().max_dialect > kDialect202) {
    dialect = kDialectWildcard;
  } else if (smb202 || wildcard) {
    dialect = kDialect202;
  } else {
    return Fail("the client offers no SMB2 dialect");
  }
  if (dialect < server_.config().min_dialect && dialect != kDialectWildcard) {
    return Fail("the client's dialects are below the minimum");
  }
  NegotiateResponse out;
  out.security_mode = 1 | (server_.config().signing_required ? 2 : 0);
  out.dialect = dialect;
  out.server_guid = server_.guid();
  out.capabilities = dialect == kDialectWildcard ? 0x4 : 0;
  out.max_transact_size = out.max_read_size = out.max_write_size =
      dialect == kDialect202 ? 65536 : server_.config().max_io;
  out.system_time = FiletimeNow();
  out.security_blob = NegotiateHint();
  if (dialect == kDialect202) {
    negotiated_ = true;
    dialect_ = kDialect202;
  }
  Smb2Header h;
  h.command = cmd::kNegotiate;
  h.credits = 1;
  h.flags = kFlagServerToRedir;
  {
    std::lock_guard<std::mutex> lock(credits_mu_);
    window_low_ = 1;
    window_high_ = 2;
  }
  std::string packet = EncodeSmb2Header(h) + EncodeNegotiateResponse(out);
  SendPacket(std::move(packet), false, nullptr, true);
}

bool SmbConnection::ConsumeCredits(const Smb2Header& header) {
  uint64_t charge = header.credit_charge == 0 || dialect_ < kDialect210 ? 1 : header.credit_charge;
  std::lock_guard<std::mutex> lock(credits_mu_);
  uint64_t first = header.message_id;
  if (first < window_low_ || first >= window_high_ || window_high_ - first < charge) return false;
  for (uint64_t id = first; id < first + charge; ++id) {
    if (used_above_low_.count(id) != 0) return false;
  }
  for (uint64_t id = first; id < first + charge; ++id) used_above_low_.insert(id);
  while (used_above_low_.count(window_low_) != 0) {
    used_above_low_.erase(window_low_);
    ++window_low_;
  }
  return true;
}

uint16_t SmbConnection::GrantCredits(const Smb2Header& header) {
  std::lock_guard<std::mutex> lock(credits_mu_);
  uint64_t held = window_high_ - window_low_ - used_above_low_.size();
  uint64_t max = server_.config().max_credits;
  uint64_t wanted = std::max<uint64_t>(header.credits, 1);
  uint64_t grant = held >= max ? 0 : std::min(wanted, max - held);
  if (grant == 0 && held == 0) grant = 1;  // never leave the client without a credit
  window_high_ += grant;
  return static_cast<uint16_t>(grant);
}

std::string SmbConnection::BuildResponse(const SmbRequest& r, const SmbResponse& response,
                                         uint16_t credits, bool async_interim, bool with_payload) {
  Smb2Header h;
  h.credit_charge = r.header.credit_charge;
  h.status = async_interim ? nt::kPending : response.status;
  h.command = r.header.command;
  h.credits = credits;
  h.flags = kFlagServerToRedir | (r.header.flags & kFlagRelatedOperations);
  if (response.status == nt::kUserSessionDeleted && (r.header.flags & kFlagSigned) != 0) {
    // A signed request for a session unknown on this connection: no key to sign with, but
    // clients that require signing accept this status unverified only with the flag set.
    h.flags |= kFlagSigned;
  }
  h.message_id = r.header.message_id;
  if (r.async_id != 0) {
    h.flags |= kFlagAsyncCommand;
    h.async_id = r.async_id;
  } else {
    h.process_id = r.header.process_id;
    h.tree_id = r.tree != nullptr ? r.tree->id : r.header.tree_id;
  }
  h.session_id = r.session != nullptr ? r.session->id : r.header.session_id;
  std::string out = EncodeSmb2Header(h);
  if (async_interim || response.body.empty()) {
    out += EncodeErrorBody();
  } else {
    out += response.body;
    if (with_payload) out += response.payload;
  }
  return out;
}

void SmbConnection::MaybeSign(const SmbRequest& r, const SmbResponse& response,
                              std::string* message, absl::string_view tail) {
  const std::shared_ptr<Session>& session = r.session;
  if (session == nullptr || r.encrypted) return;
  bool channel = !r.signing_key.empty();
  const std::string& key = channel ? r.signing_key : session->keys.signing;
  if (key.empty()) return;
  bool sign = false;
  if (r.header.command == cmd::kSessionSetup) {
    sign = (response.final_session_setup &&
            (session->dialect == kDialect311 || session->signing_required ||
             (r.header.flags & kFlagSigned) != 0)) ||
           response.sign_binding ||
           // A signed re-authentication or binding that fails: signed back (3.3.4.1.1), so a
           // client that requires signing sees the status.
           ((r.header.flags & kFlagSigned) != 0 && response.status != nt::kSuccess);
  } else {
    sign = (r.header.flags & kFlagSigned) != 0 || session->signing_required;
  }
  if (sign) {
    SignMessage(channel ? r.signing_algorithm : session->signing_algorithm, key, message, tail)
        .IgnoreError();
  }
}

void SmbConnection::SendPacket(std::string packet, bool encrypt,
                               const std::shared_ptr<Session>& session, bool completes_request,
                               std::string tail) {
  // Sent as parts (no copy into one buffer). Responses are independent, so threads sending at
  // once need no order between them; only the nonce must never repeat.
  if (!encrypt || session == nullptr) {
    std::vector<std::string> parts;
    parts.push_back(FrameHeader(packet.size() + tail.size()));
    parts.push_back(std::move(packet));
    if (!tail.empty()) parts.push_back(std::move(tail));
    ref_.SendParts(std::move(parts), completes_request);
    return;
  }
  packet += tail;  // encrypted as one message
  TransformHeader th;
  uint64_t counter = nonce_counter_.fetch_add(1);
  for (int i = 0; i < 8; ++i) th.nonce[i] = static_cast<char>((counter >> (8 * i)) & 0xFF);
  th.original_message_size = static_cast<uint32_t>(packet.size());
  th.flags = 1;
  th.session_id = session->id;
  std::string header = EncodeTransformHeader(th);
  absl::StatusOr<Sealed> sealed =
      Encrypt(session->cipher, session->keys.server_out,
              absl::string_view(th.nonce).substr(0, NonceLength(session->cipher)),
              TransformAad(header), packet);
  if (!sealed.ok()) {
    ref_.Send("", completes_request);
    ref_.CloseWhenSent();
    return;
  }
  th.signature = sealed->tag;
  std::vector<std::string> parts;
  parts.push_back(FrameHeader(kTransformHeaderSize + sealed->ciphertext.size()) +
                  EncodeTransformHeader(th));
  parts.push_back(std::move(sealed->ciphertext));
  ref_.SendParts(std::move(parts), completes_request);
}

struct SmbConnection::CompoundRun {
  std::shared_ptr<const std::string> packet;  // holds `messages`
  std::vector<absl::string_view> messages;
  size_t next = 0;  // the request to run next
  bool encrypted = false;
  uint64_t transform_session = 0;
  bool completes_request = true;
  bool resumed = false;  // the rest of a chain whose first request went async
  std::function<void()> done;
  // What the chain's next related request inherits.
  std::shared_ptr<Session> session;
  std::shared_ptr<Tree> tree;
  FileId related_file;
  uint32_t previous_status = nt::kSuccess;
  bool disconnect = false;
  // The request running now (valid while it waits) and what its checks decided.
  SmbRequest current;
  uint32_t refused = nt::kSuccess;
  bool handed_down = false;
  struct Built {
    SmbRequest request;
    SmbResponse response;
    std::string bytes;
    bool signed_already = false;
  };
  std::vector<Built> built;
};

void SmbConnection::ProcessCompound(std::shared_ptr<const std::string> packet,
                                    absl::string_view messages, bool encrypted,
                                    uint64_t transform_session, const CompoundResume* resume,
                                    bool completes_request, std::function<void()> done) {
  absl::StatusOr<std::vector<absl::string_view>> split = SplitCompound(messages);
  if (!split.ok()) {
    Fail(split.status().message());
    return done();
  }
  auto run = std::make_shared<CompoundRun>();
  run->packet = std::move(packet);
  run->messages = std::move(*split);
  run->encrypted = encrypted;
  run->transform_session = transform_session;
  run->completes_request = completes_request;
  run->done = std::move(done);
  if (resume != nullptr) {
    run->resumed = true;
    run->session = resume->session;
    run->tree = resume->tree;
    run->related_file = resume->related_file;
    run->previous_status = resume->previous_status;
  }
  ContinueCompound(run);
}

void SmbConnection::ContinueCompound(const std::shared_ptr<CompoundRun>& run) {
  const std::vector<absl::string_view>& messages = run->messages;
  while (run->next < messages.size()) {
    size_t i = run->next;
    absl::string_view message = messages[i];
    absl::StatusOr<Smb2Header> header = DecodeSmb2Header(message);
    if (!header.ok()) {
      Fail(header.status().message());
      return run->done();
    }
    if ((header->flags & kFlagServerToRedir) != 0) {
      Fail("a response sent to the server");
      return run->done();
    }
    if (header->command == cmd::kCancel) {
      SmbRequest r;
      r.header = *header;
      r.message = message;
      Cancel(r);
      ++run->next;
      continue;
    }
    if (!negotiated_ && header->command != cmd::kNegotiate) {
      Fail("request before NEGOTIATE");
      return run->done();
    }
    if (!ConsumeCredits(*header)) {
      Fail("message id outside the credit window");
      return run->done();
    }

    run->current = SmbRequest();
    SmbRequest& r = run->current;
    r.header = *header;
    r.message = message;
    r.keep_alive = run->packet;
    r.encrypted = run->encrypted;
    r.may_go_async = header->command == cmd::kCreate || i + 1 == messages.size();
    bool related = (header->flags & kFlagRelatedOperations) != 0;
    uint32_t status = nt::kSuccess;
    run->handed_down = false;
    if ((related && i == 0 && !run->resumed) || header->command > cmd::kOplockBreak) {
      status = nt::kInvalidParameter;  // an unknown command, even after a failed one
    } else if (related && run->previous_status != nt::kSuccess) {
      status = run->previous_status;  // a failed request fails the related ones after it
      run->handed_down = true;
    }
    if (related) {
      r.session = run->session;
      r.tree = run->tree;
      r.related_file = run->related_file;
    } else {
      run->related_file = FileId{};  // an unrelated request starts a new chain
    }
    uint64_t session_id = header->session_id;
    if (status == nt::kSuccess && !related && header->command != cmd::kNegotiate &&
        !(header->command == cmd::kSessionSetup) &&
        !(header->command == cmd::kEcho && session_id == 0)) {
      auto it = sessions_.find(session_id);
      if (it == sessions_.end()) {
        status = nt::kUserSessionDeleted;
      } else {
        r.session = it->second;
        if (!r.session->valid || r.session->expired) status = nt::kUserSessionDeleted;
      }
    }
    if (header->command == cmd::kSessionSetup && session_id != 0 && !related) {
      auto it = sessions_.find(session_id);
      if (it != sessions_.end()) r.session = it->second;
    }
    if (r.session != nullptr) {
      auto channel = channel_signing_.find(r.session->id);
      if (channel != channel_signing_.end()) {
        r.signing_key = channel->second.key;
        r.signing_algorithm = channel->second.algorithm;
      }
    }
    // Integrity: encryption covers everything; otherwise check signatures.
    if (status == nt::kSuccess && r.session != nullptr && r.session->valid) {
      if (run->encrypted) {
        if (r.session->id != run->transform_session) status = nt::kAccessDenied;
      } else if (r.session->encrypt_data && header->command != cmd::kSessionSetup) {
        status = nt::kAccessDenied;
      } else if ((header->flags & kFlagSigned) != 0) {
        bool channel = !r.signing_key.empty();
        if (!VerifyMessage(channel ? r.signing_algorithm : r.session->signing_algorithm,
                           channel ? r.signing_key : r.session->keys.signing, message)) {
          status = nt::kAccessDenied;
        }
      } else if (r.session->signing_required) {
        status = nt::kAccessDenied;  // re-authentications too: only a new session starts unsigned
      }
    }
    if (status == nt::kSuccess && NeedsTree(header->command) && !related) {
      std::lock_guard<std::mutex> lock(r.session->mu);
      auto it = r.session->trees.find(header->tree_id);
      if (it == r.session->trees.end()) {
        status = nt::kNetworkNameDeleted;
      } else {
        r.tree = it->second;
      }
    }
    if (status == nt::kSuccess && r.tree != nullptr && !run->encrypted &&
        server_.ShareEncrypted(*r.tree->share) && !r.tree->share->ipc()) {
      status = nt::kAccessDenied;
    }
    if (status == nt::kSuccess && NeedsTree(header->command) && r.tree == nullptr) {
      status = nt::kNetworkNameDeleted;
    }
    run->refused = status;
    SmbResponse response;
    if (status == nt::kSuccess) {
      if (header->command == cmd::kNegotiate && messages.size() != 1) {
        Fail("NEGOTIATE in a compound");
        return run->done();
      }
      if (header->command == cmd::kNegotiate) preauth_.Update(message);
      if (messages.size() == 1 && !run->resumed && StartParallelIo(r)) return run->done();
      std::shared_ptr<SmbConnection> self = shared_from_this();
      std::optional<SmbResponse> now = Run(r, [self, run](SmbResponse later) {
        if (self->FinishCompoundRequest(*run, std::move(later))) {
          self->ContinueCompound(run);
        } else {
          self->SendCompound(*run);
        }
      });
      if (!now.has_value()) return;  // the callback goes on, on the loop thread
      response = std::move(*now);
    } else {
      response.status = status;
      RecordRequest(header->command, status, absl::ZeroDuration(), message.size(), 0);
    }
    if (!FinishCompoundRequest(*run, std::move(response))) break;
  }
  SendCompound(*run);
}

bool SmbConnection::FinishCompoundRequest(CompoundRun& run, SmbResponse response) {
  SmbRequest& r = run.current;
  const Smb2Header& header = r.header;
  size_t i = run.next++;
  if (!IsSuccessOrWarning(response.status) && MinLogLevel() <= LogLevel::kDebug) {
    CFS_LOG_REQUEST(DEBUG, "smb", absl::StrCat("mid ", header.message_id))
        << peer_address_ << ": command " << header.command << ": status 0x" << std::hex
        << response.status;
  }
  if (response.disconnect) run.disconnect = true;
  run.session = r.session;
  run.tree = r.tree;
  // The file a related request after this one names with the placeholder id: the one
  // this request opened, or (as in Windows and Samba) the one it worked on.
  if (response.created.volatile_id != 0) {
    run.related_file = response.created;
  } else if (std::optional<FileId> named = RequestFileId(header.command, r.message);
             named.has_value() && !named->IsRelatedPlaceholder() &&
             response.status != nt::kFileClosed) {
    run.related_file = *named;
  }
  // What a related request after this one meets, as Windows and Samba answer smbtorture's
  // compound tests: a failed CREATE hands its status down the chain (there is no file to
  // relate to); a request refused before it ran (no valid session or tree) gives
  // INVALID_PARAMETER; other failures leave the next request to run on its own.
  if (run.handed_down) {
    // previous_status stays
  } else if (run.refused != nt::kSuccess) {
    run.previous_status = nt::kInvalidParameter;
  } else if (header.command == cmd::kCreate && !IsSuccessOrWarning(response.status)) {
    run.previous_status = response.status;
  } else {
    run.previous_status = nt::kSuccess;
  }
  uint16_t credits = GrantCredits(header);
  bool go_async = response.go_async;
  bool sign_binding = response.sign_binding;
  uint32_t status = response.status;
  CompoundRun::Built b{r, std::move(response), ""};
  b.bytes = BuildResponse(r, b.response, credits, go_async);
  b.request.keep_alive.reset();  // the response does not need the request's packet
  if (sign_binding && run.messages.size() == 1) {
    MaybeSign(r, b.response, &b.bytes);  // signed before the preauth hash takes it
    b.signed_already = true;
  }
  if (header.command == cmd::kNegotiate && status == nt::kSuccess) preauth_.Update(b.bytes);
  if (header.command == cmd::kSessionSetup && dialect_ == kDialect311 &&
      status == nt::kMoreProcessingRequired && r.session != nullptr) {
    auto exchange = exchanges_.find(r.session->id);
    if (exchange != exchanges_.end()) exchange->second.preauth.Update(b.bytes);
  }
  run.built.push_back(std::move(b));
  if (go_async && i + 1 < run.messages.size()) {
    // The requests after an async one wait for it: they go with its pending entry.
    std::lock_guard<std::mutex> lock(pending_mu_);
    auto it = pending_.find(r.async_id);
    if (it != pending_.end()) {
      absl::string_view rest = run.messages[i + 1];
      const absl::string_view last = run.messages.back();
      it->second->rest = std::string(rest.data(), last.data() + last.size() - rest.data());
      it->second->rest_encrypted = run.encrypted;
      it->second->rest_session = run.transform_session;
    }
    return false;
  }
  return true;
}

void SmbConnection::SendCompound(CompoundRun& run) {
  std::vector<CompoundRun::Built>& built = run.built;
  if (built.empty()) {
    ref_.Send("", run.completes_request);  // only CANCELs: no response
    return run.done();
  }
  std::string out;
  for (size_t i = 0; i < built.size(); ++i) {
    std::string& bytes = built[i].bytes;
    if (i + 1 < built.size()) {
      bytes.resize((bytes.size() + 7) & ~size_t{7}, '\0');
      uint32_t next = static_cast<uint32_t>(bytes.size());
      for (int k = 0; k < 4; ++k) bytes[20 + k] = static_cast<char>((next >> (8 * k)) & 0xFF);
    }
    if (!built[i].response.go_async && !built[i].signed_already) {
      MaybeSign(built[i].request, built[i].response, &bytes);
    }
    out += bytes;
  }
  std::shared_ptr<Session> encrypt_with;
  if (run.encrypted) {
    auto it = sessions_.find(run.transform_session);
    encrypt_with = it != sessions_.end() ? it->second : built[0].request.session;
  }
  SendPacket(std::move(out), run.encrypted, encrypt_with, run.completes_request);
  if (run.disconnect) ref_.CloseWhenSent();
  run.done();
}

void SmbConnection::ResumeCompound(std::string rest, bool encrypted, uint64_t transform_session,
                                   CompoundResume resume) {
  auto packet = std::make_shared<const std::string>(std::move(rest));
  RunSerial([this, packet, encrypted, transform_session,
             resume = std::move(resume)](std::function<void()> done) {
    ProcessCompound(packet, *packet, encrypted, transform_session, &resume, false, std::move(done));
  });
}

bool SmbConnection::StartParallelIo(const SmbRequest& r) {
  FileId file;
  if (r.header.command == cmd::kRead) {
    absl::StatusOr<ReadRequest> req = DecodeRead(r.message);
    if (!req.ok()) return false;
    file = req->file;
  } else if (r.header.command == cmd::kWrite) {
    absl::StatusOr<WriteRequest> req = DecodeWrite(r.message);
    if (!req.ok()) return false;
    file = req->file;
  } else {
    return false;
  }
  std::shared_ptr<Open> open = FindOpen(r, file);
  // Pipes and named streams are answered in order.
  if (open == nullptr || open->pipe != nullptr || !open->stream.empty()) return false;
  // Counted now, in the connection's order, so a CLOSE or FLUSH queued after this request waits
  // for it; the I/O itself runs beside the other requests. The count drops when the answer
  // is sent, or when the loop is gone and it never will be.
  open->StartIo();
  struct IoInFlight {
    std::shared_ptr<Open> open;
    SmbRequest request;  // holds the packet (keep_alive)
    ~IoInFlight() { open->FinishIo(); }
  };
  auto io = std::make_shared<IoInFlight>();
  io->open = std::move(open);
  io->request = r;
  std::shared_ptr<SmbConnection> self = shared_from_this();
  std::optional<SmbResponse> now = Run(io->request, [self, io](SmbResponse response) {
    self->SendSingle(io->request, std::move(response));
  });
  if (now.has_value()) SendSingle(io->request, std::move(*now));
  return true;
}

void SmbConnection::SendSingle(const SmbRequest& request, SmbResponse response) {
  uint16_t credits = GrantCredits(request.header);
  // A READ's data stays a part of its own: signed in place and sent without a copy.
  std::string bytes = BuildResponse(request, response, credits, false, /*with_payload=*/false);
  MaybeSign(request, response, &bytes, response.payload);
  SendPacket(std::move(bytes), request.encrypted, request.session, true,
             std::move(response.payload));
}

void SmbConnection::SendOplockBreak(const Open& open, uint8_t level) {
  // MS-SMB2 2.2.23.1: an unsolicited message, MessageId all ones, no session or tree.
  Smb2Header h;
  h.command = cmd::kOplockBreak;
  h.flags = kFlagServerToRedir;
  h.message_id = ~uint64_t{0};
  std::string bytes = EncodeSmb2Header(h);
  Put16(&bytes, 24);
  bytes.push_back(static_cast<char>(level));
  bytes.push_back(0);
  Put32(&bytes, 0);
  PutFileId(&bytes, FileId{open.id, open.id});
  std::shared_ptr<Session> session = open.session.lock();
  SendPacket(std::move(bytes), open.encrypted && session != nullptr, session, false);
}

void SmbConnection::SendLeaseBreak(const Open& open, const SmbServerState::OplockBreak& b) {
  // MS-SMB2 2.2.23.2: unsolicited like an oplock break, with the lease's key and states.
  Smb2Header h;
  h.command = cmd::kOplockBreak;
  h.flags = kFlagServerToRedir;
  h.message_id = ~uint64_t{0};
  std::string bytes = EncodeSmb2Header(h);
  bytes +=
      EncodeLeaseBreakNotification(b.lease->key, b.epoch, b.ack_required, b.lease_from, b.lease_to);
  std::shared_ptr<Session> session = open.session.lock();
  SendPacket(std::move(bytes), open.encrypted && session != nullptr, session, false);
}

void SmbConnection::SendAsync(const SmbRequest& request, uint32_t status, std::string body) {
  SmbResponse response;
  response.status = status;
  response.body = std::move(body);
  std::string bytes = BuildResponse(request, response, 0, false);
  MaybeSign(request, response, &bytes);
  SendPacket(std::move(bytes), request.encrypted, request.session, false);
}

std::optional<SmbResponse> SmbConnection::Run(SmbRequest& r, SmbLater later) {
  absl::Time start = absl::Now();
  uint16_t command = r.header.command;
  size_t received = r.message.size();
  std::shared_ptr<SmbConnection> self = shared_from_this();
  // Counted, then handed to `later` on the loop thread (never inline: no recursion into the
  // caller's loop).
  SmbLater counted = [self, start, command, received,
                      later = std::move(later)](SmbResponse response) {
    self->RecordRequest(command, response.status, absl::Now() - start, received,
                        response.body.size() + response.payload.size());
    self->ref_.Post(
        [later, response = std::move(response)]() mutable { later(std::move(response)); });
  };
  std::optional<SmbResponse> now;
  switch (command) {
    case cmd::kCreate:
      now = Create(r, std::move(counted));
      break;
    case cmd::kRead:
      now = Read(r, std::move(counted));
      break;
    case cmd::kWrite:
      now = Write(r, std::move(counted));
      break;
    case cmd::kFlush:
      now = Flush(r, std::move(counted));
      break;
    case cmd::kClose:
      now = Close(r, std::move(counted));
      break;
    case cmd::kLogoff:
      now = Logoff(r, std::move(counted));
      break;
    case cmd::kQueryInfo:
      now = QueryInfo(r, std::move(counted));
      break;
    case cmd::kQueryDirectory:
      now = QueryDirectory(r, std::move(counted));
      break;
    case cmd::kSetInfo:
      now = SetInfo(r, std::move(counted));
      break;
    case cmd::kTreeDisconnect:
      now = TreeDisconnect(r, std::move(counted));
      break;
    case cmd::kSessionSetup: {
      SmbResponse response = DispatchCommand(r);  // in memory, but for the sessions it ends
      if (response.end_sessions.empty()) {
        now = std::move(response);
        break;
      }
      auto ending = response.end_sessions;
      auto left = std::make_shared<std::atomic<size_t>>(ending.size());
      auto shared = std::make_shared<SmbResponse>(std::move(response));
      for (const auto& [session, keep_durable] : ending) {
        EndSession(session, keep_durable, [left, shared, counted] {
          if (left->fetch_sub(1) == 1) counted(std::move(*shared));
        });
      }
      return std::nullopt;
    }
    case cmd::kIoctl:
      now = Ioctl(r, std::move(counted));
      break;
    default:
      // NEGOTIATE, TREE_CONNECT, ECHO, LOCK, CHANGE_NOTIFY, OPLOCK_BREAK (and unknown commands):
      // in memory, answered here on the loop.
      now = DispatchCommand(r);
      break;
  }
  if (now.has_value()) {
    RecordRequest(command, now->status, absl::Now() - start, received,
                  now->body.size() + now->payload.size());
  }
  return now;
}

void SmbConnection::RecordRequest(uint16_t command, uint32_t status, absl::Duration latency,
                                  size_t received, size_t sent) {
  observability::ProtocolMetrics* metrics = server_.config().metrics;
  if (metrics == nullptr) return;
  // Errors are the error-severity statuses, but for the one every NTLM logon goes through.
  bool error = (status >> 30) == 3 && status != nt::kMoreProcessingRequired;
  metrics->Record(CommandName(command), error ? NtStatusName(status) : "", latency, received, sent);
}

SmbResponse SmbConnection::DispatchCommand(SmbRequest& r) {
  switch (r.header.command) {
    case cmd::kNegotiate:
      return Negotiate(r);
    case cmd::kSessionSetup:
      return SessionSetup(r);
    case cmd::kTreeConnect:
      return TreeConnect(r);
    case cmd::kLock:
      return Lock(r);
    case cmd::kEcho:
      return Echo(r);
    case cmd::kChangeNotify:
      return ChangeNotify(r);
    case cmd::kOplockBreak:
      return OplockBreakAck(r);
    default:
      return SmbResponse{nt::kInvalidParameter};
  }
}

std::shared_ptr<Open> SmbConnection::FindOpen(const SmbRequest& r, const FileId& requested) {
  FileId id = requested.IsRelatedPlaceholder() ? r.related_file : requested;
  if (r.session == nullptr) return nullptr;
  std::lock_guard<std::mutex> lock(r.session->mu);
  auto it = r.session->opens.find(id.volatile_id);
  if (it == r.session->opens.end() || it->second->id != id.persistent) return nullptr;
  if (r.tree != nullptr && it->second->tree != r.tree) return nullptr;
  return it->second;
}

}  // namespace cfs::smb
