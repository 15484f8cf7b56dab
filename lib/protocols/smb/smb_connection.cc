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
  size_t consumed = 0;
  while (consumed < input.size()) {
    absl::StatusOr<std::optional<size_t>> size = FrameSize(input.substr(consumed), max_message_);
    if (!size.ok()) return size.status();
    if (!size->has_value() || input.size() - consumed < **size) break;
    if (!info_.can_start_request()) break;
    info_.start_request();
    connection_->Enqueue(std::string(input.substr(consumed + 4, **size - 4)));
    consumed += **size;
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

void SmbConnection::Enqueue(std::string frame) {
  // A plain SMB2 ECHO alone in its frame (signed or not; never a compound or an encrypted one).
  bool lone_echo = frame.size() >= kSmb2HeaderSize && KindOf(frame) == MessageKind::kSmb2 &&
                   Le16(frame, 12) == cmd::kEcho && Le32(frame, 20) == 0;
  if (lone_echo) {
    std::unique_lock<std::mutex> lock(queue_mu_);
    if (!draining_ && !closed_) {
      draining_ = true;  // holds the connection's serial order while it runs here
      lock.unlock();
      ProcessFrame(std::move(frame));
      lock.lock();
      if (queue_.empty() && !closed_) {
        draining_ = false;
        return;
      }
      lock.unlock();
      server_.pool().Submit([self = shared_from_this()] { self->Drain(); });
      return;
    }
  }
  RunSerial([this, frame = std::move(frame)]() mutable { ProcessFrame(std::move(frame)); });
}

void SmbConnection::RunSerial(std::function<void()> task) {
  std::lock_guard<std::mutex> lock(queue_mu_);
  queue_.push_back(std::move(task));
  if (draining_) return;
  draining_ = true;
  server_.pool().Submit([self = shared_from_this()] { self->Drain(); });
}

void SmbConnection::Closed() {
  std::lock_guard<std::mutex> lock(queue_mu_);
  closed_ = true;
  if (draining_) return;  // the drain cleans up when it sees closed_
  draining_ = true;
  server_.pool().Submit([self = shared_from_this()] { self->Drain(); });
}

void SmbConnection::Drain() {
  while (true) {
    std::function<void()> task;
    {
      std::lock_guard<std::mutex> lock(queue_mu_);
      if (queue_.empty()) {
        if (!closed_) {
          draining_ = false;
          return;
        }
        break;
      }
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    bool closed;
    {
      std::lock_guard<std::mutex> lock(queue_mu_);
      closed = closed_;
    }
    if (closed) continue;  // the peer is gone: nothing to answer
    task();
  }
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
    CloseOrKeep(session, opens, /*keep_durable=*/true);
    server_.state().RemoveSession(id);
  }
  sessions_.clear();
  exchanges_.clear();
  channel_signing_.clear();
  std::lock_guard<std::mutex> lock(queue_mu_);
  draining_ = false;
}

void SmbConnection::Fail(absl::string_view why) {
  CFS_LOG(DEBUG, "smb") << peer_address_ << ": closing the connection: " << why;
  ref_.Send("", true);
  ref_.CloseWhenSent();
}

void SmbConnection::ProcessFrame(std::string frame) {
  switch (KindOf(frame)) {
    case MessageKind::kSmb1:
      ProcessSmb1(frame);
      return;
    case MessageKind::kSmb2: {
      auto packet = std::make_shared<const std::string>(std::move(frame));
      current_packet_ = packet;
      ProcessCompound(*packet, false, 0);
      current_packet_.reset();
      return;
    }
    case MessageKind::kTransform: {
      absl::StatusOr<TransformHeader> th = DecodeTransformHeader(frame);
      if (!th.ok()) return Fail(th.status().message());
      std::shared_ptr<Session> session;
      auto it = sessions_.find(th->session_id);
      if (it != sessions_.end()) session = it->second;
      if (session == nullptr || !session->valid || !session->encryption_capable) {
        return Fail("encrypted message for an unknown session");
      }
      if (th->original_message_size != frame.size() - kTransformHeaderSize) {
        return Fail("transform header size mismatch");
      }
      absl::string_view nonce =
          absl::string_view(th->nonce).substr(0, NonceLength(session->cipher));
      absl::StatusOr<std::string> plain =
          Decrypt(session->cipher, session->keys.server_in, nonce,
                  TransformAad(absl::string_view(frame).substr(0, kTransformHeaderSize)),
                  absl::string_view(frame).substr(kTransformHeaderSize), th->signature);
      if (!plain.ok()) return Fail("decryption failed");
      if (KindOf(*plain) != MessageKind::kSmb2) return Fail("encrypted payload is not SMB2");
      auto packet = std::make_shared<const std::string>(std::move(*plain));
      current_packet_ = packet;
      ProcessCompound(*packet, true, th->session_id);
      current_packet_.reset();
      return;
    }
    default:
      return Fail("not an SMB2 message");
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

void SmbConnection::ProcessCompound(absl::string_view packet, bool encrypted,
                                    uint64_t transform_session, const CompoundResume* resume,
                                    bool completes_request) {
  absl::StatusOr<std::vector<absl::string_view>> messages = SplitCompound(packet);
  if (!messages.ok()) return Fail(messages.status().message());
  struct Built {
    SmbRequest request;
    SmbResponse response;
    std::string bytes;
    bool signed_already = false;
  };
  std::vector<Built> built;
  std::shared_ptr<Session> session;
  std::shared_ptr<Tree> tree;
  FileId related_file;
  uint32_t previous_status = nt::kSuccess;
  if (resume != nullptr) {
    session = resume->session;
    tree = resume->tree;
    related_file = resume->related_file;
    previous_status = resume->previous_status;
  }
  bool disconnect = false;
  for (size_t i = 0; i < messages->size(); ++i) {
    absl::string_view message = (*messages)[i];
    absl::StatusOr<Smb2Header> header = DecodeSmb2Header(message);
    if (!header.ok()) return Fail(header.status().message());
    if ((header->flags & kFlagServerToRedir) != 0) return Fail("a response sent to the server");
    if (header->command == cmd::kCancel) {
      SmbRequest r;
      r.header = *header;
      r.message = message;
      Cancel(r);
      continue;
    }
    if (!negotiated_ && header->command != cmd::kNegotiate) {
      return Fail("request before NEGOTIATE");
    }
    if (!ConsumeCredits(*header)) return Fail("message id outside the credit window");

    SmbRequest r;
    r.header = *header;
    r.message = message;
    r.encrypted = encrypted;
    r.may_go_async = header->command == cmd::kCreate || i + 1 == messages->size();
    bool related = (header->flags & kFlagRelatedOperations) != 0;
    SmbResponse response;
    uint32_t status = nt::kSuccess;
    bool handed_down = false;
    if ((related && i == 0 && resume == nullptr) || header->command > cmd::kOplockBreak) {
      status = nt::kInvalidParameter;  // an unknown command, even after a failed one
    } else if (related && previous_status != nt::kSuccess) {
      status = previous_status;  // a failed request fails the related ones after it
      handed_down = true;
    }
    if (related) {
      r.session = session;
      r.tree = tree;
      r.related_file = related_file;
    } else {
      related_file = FileId{};  // an unrelated request starts a new chain
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
      if (encrypted) {
        if (r.session->id != transform_session) status = nt::kAccessDenied;
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
    if (status == nt::kSuccess && r.tree != nullptr && !encrypted &&
        server_.ShareEncrypted(*r.tree->share) && !r.tree->share->ipc()) {
      status = nt::kAccessDenied;
    }
    if (status == nt::kSuccess && NeedsTree(header->command) && r.tree == nullptr) {
      status = nt::kNetworkNameDeleted;
    }
    if (status == nt::kSuccess) {
      if (header->command == cmd::kNegotiate && messages->size() != 1) {
        return Fail("NEGOTIATE in a compound");
      }
      if (header->command == cmd::kNegotiate) preauth_.Update(message);
      if (messages->size() == 1 && RunInParallel(r)) return;
      response = Dispatch(r);
    } else {
      response.status = status;
      RecordRequest(header->command, status, absl::ZeroDuration(), message.size(), 0);
    }
    if (!IsSuccessOrWarning(response.status) && MinLogLevel() <= LogLevel::kDebug) {
      CFS_LOG_REQUEST(DEBUG, "smb", absl::StrCat("mid ", header->message_id))
          << peer_address_ << ": command " << header->command << ": status 0x" << std::hex
          << response.status;
    }
    if (response.disconnect) disconnect = true;
    session = r.session;
    tree = r.tree;
    // The file a related request after this one names with the placeholder id: the one
    // this request opened, or (as in Windows and Samba) the one it worked on.
    if (response.created.volatile_id != 0) {
      related_file = response.created;
    } else if (std::optional<FileId> named = RequestFileId(header->command, message);
               named.has_value() && !named->IsRelatedPlaceholder() &&
               response.status != nt::kFileClosed) {
      related_file = *named;
    }
    // What a related request after this one meets, as Windows and Samba answer smbtorture's
    // compound tests: a failed CREATE hands its status down the chain (there is no file to
    // relate to); a request refused before it ran (no valid session or tree) gives
    // INVALID_PARAMETER; other failures leave the next request to run on its own.
    if (handed_down) {
      // previous_status stays
    } else if (status != nt::kSuccess) {
      previous_status = nt::kInvalidParameter;
    } else if (header->command == cmd::kCreate && !IsSuccessOrWarning(response.status)) {
      previous_status = response.status;
    } else {
      previous_status = nt::kSuccess;
    }
    uint16_t credits = GrantCredits(*header);
    Built b{r, response, BuildResponse(r, response, credits, response.go_async)};
    if (response.sign_binding && messages->size() == 1) {
      MaybeSign(r, response, &b.bytes);  // signed before the preauth hash takes it
      b.signed_already = true;
    }
    if (header->command == cmd::kNegotiate && response.status == nt::kSuccess) {
      preauth_.Update(b.bytes);
    }
    if (header->command == cmd::kSessionSetup && dialect_ == kDialect311 &&
        response.status == nt::kMoreProcessingRequired && r.session != nullptr) {
      auto exchange = exchanges_.find(r.session->id);
      if (exchange != exchanges_.end()) exchange->second.preauth.Update(b.bytes);
    }
    built.push_back(std::move(b));
    if (response.go_async && i + 1 < messages->size()) {
      // The requests after an async one wait for it: they go with its pending entry.
      std::lock_guard<std::mutex> lock(pending_mu_);
      auto it = pending_.find(r.async_id);
      if (it != pending_.end()) {
        size_t rest_at = static_cast<size_t>((*messages)[i + 1].data() - packet.data());
        it->second->rest = std::string(packet.substr(rest_at));
        it->second->rest_encrypted = encrypted;
        it->second->rest_session = transform_session;
      }
      break;
    }
  }
  if (built.empty()) {
    ref_.Send("", completes_request);  // only CANCELs: no response
    return;
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
  if (encrypted)
    encrypt_with = sessions_.count(transform_session) ? sessions_[transform_session]
                                                      : built[0].request.session;
  SendPacket(std::move(out), encrypted, encrypt_with, completes_request);
  if (disconnect) ref_.CloseWhenSent();
}

bool SmbConnection::RunInParallel(const SmbRequest& r) {
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
  if (open == nullptr || open->pipe != nullptr) return false;  // answered in order
  // Counted now, in the connection's order, so a CLOSE or FLUSH queued after this request waits
  // for it; the I/O itself runs beside the other requests.
  open->StartIo();
  // The message stays in the packet it came in (shared, not copied: WRITEs are large).
  std::shared_ptr<const std::string> message = current_packet_;
  SmbRequest request = r;
  bool inside = message != nullptr && r.message.data() >= message->data() &&
                r.message.data() + r.message.size() <= message->data() + message->size();
  if (!inside) {
    message = std::make_shared<const std::string>(r.message);
    request.message = *message;
  }
  request.keep_alive = message;
  server_.io_pool().Submit([self = shared_from_this(), message, request, open]() mutable {
    SmbResponse response = self->Dispatch(request);
    uint16_t credits = self->GrantCredits(request.header);
    // A READ's data stays a part of its own: signed in place and sent without a copy.
    std::string bytes =
        self->BuildResponse(request, response, credits, false, /*with_payload=*/false);
    self->MaybeSign(request, response, &bytes, response.payload);
    self->SendPacket(std::move(bytes), request.encrypted, request.session, true,
                     std::move(response.payload));
    open->FinishIo();
  });
  return true;
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

SmbResponse SmbConnection::Dispatch(SmbRequest& r) {
  absl::Time start = absl::Now();
  SmbResponse response = DispatchCommand(r);
  RecordRequest(r.header.command, response.status, absl::Now() - start, r.message.size(),
                response.body.size() + response.payload.size());
  return response;
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
    case cmd::kLogoff:
      return Logoff(r);
    case cmd::kTreeConnect:
      return TreeConnect(r);
    case cmd::kTreeDisconnect:
      return TreeDisconnect(r);
    case cmd::kCreate:
      return Create(r);
    case cmd::kClose:
      return Close(r);
    case cmd::kFlush:
      return Flush(r);
    case cmd::kRead:
      return Read(r);
    case cmd::kWrite:
      return Write(r);
    case cmd::kLock:
      return Lock(r);
    case cmd::kIoctl:
      return Ioctl(r);
    case cmd::kEcho:
      return Echo(r);
    case cmd::kQueryDirectory:
      return QueryDirectory(r);
    case cmd::kChangeNotify:
      return ChangeNotify(r);
    case cmd::kQueryInfo:
      return QueryInfo(r);
    case cmd::kSetInfo:
      return SetInfo(r);
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
