// NEGOTIATE, LOGOFF, TREE_CONNECT, TREE_DISCONNECT, ECHO and CANCEL of SmbConnection
// (SESSION_SETUP is in smb_session_setup.cc).

#include <atomic>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/common/logging.h"
#include "lib/protocols/smb/le_bytes.h"
#include "lib/protocols/smb/ntstatus.h"
#include "lib/protocols/smb/smb_connection.h"
#include "lib/protocols/smb/smb_crypto.h"
#include "lib/protocols/smb/smb_info.h"
#include "lib/protocols/smb/spnego.h"

namespace cfs::smb {

namespace {

constexpr uint32_t kCapLeasing = 0x2;
constexpr uint32_t kCapLargeMtu = 0x4;
constexpr uint32_t kCapMultiChannel = 0x8;
constexpr uint32_t kCapEncryption = 0x40;
constexpr uint32_t kShareFlagEncryptData = 0x8000;

// The cipher of the client's list the server takes (the client's preference order).
uint16_t ChooseCipher(const std::vector<uint16_t>& offered) {
  for (uint16_t c : offered) {
    if (c >= 1 && c <= 4) return c;
  }
  return 0;
}

uint16_t ChooseSigning(const std::vector<uint16_t>& offered, uint16_t dialect) {
  for (uint16_t a : offered) {
    if (a == kSigningHmacSha256 || a == kSigningAesCmac || a == kSigningAesGmac) return a;
  }
  return dialect >= kDialect300 ? kSigningAesCmac : kSigningHmacSha256;
}

}  // namespace

SmbResponse SmbConnection::Negotiate(SmbRequest& r) {
  SmbResponse out;
  if (negotiated_) {
    out.status = nt::kInvalidParameter;
    out.disconnect = true;
    return out;
  }
  absl::StatusOr<NegotiateRequest> req = DecodeNegotiateRequest(r.message);
  if (!req.ok()) {
    out.status = nt::kInvalidParameter;
    return out;
  }
  const SmbServerConfig& config = server_.config();
  std::optional<uint16_t> dialect = ChooseDialect(*req, config.min_dialect, config.max_dialect);
  if (!dialect.has_value()) {
    out.status = nt::kNotSupported;
    out.disconnect = true;
    return out;
  }
  NegotiateResponse resp;
  resp.security_mode = 1 | (config.signing_required ? 2 : 0);
  resp.dialect = *dialect;
  resp.server_guid = server_.guid();
  if (*dialect >= kDialect210) resp.capabilities |= kCapLargeMtu | kCapLeasing;
  // Sessions may be bound to more connections (session binding, smb_session_setup.cc).
  if (*dialect >= kDialect300) resp.capabilities |= kCapMultiChannel;
  bool encryption = false;
  if (*dialect == kDialect300 || *dialect == kDialect302) {
    encryption = (req->capabilities & kCapEncryption) != 0;
    if (encryption) resp.capabilities |= kCapEncryption;
    cipher_ = encryption ? static_cast<uint16_t>(Cipher::kAes128Ccm) : 0;
  }
  uint32_t max_io = *dialect == kDialect202 ? 65536 : config.max_io;
  resp.max_transact_size = resp.max_read_size = resp.max_write_size = max_io;
  resp.system_time = FiletimeNow();
  resp.security_blob = NegotiateHint();
  signing_algorithm_ = *dialect >= kDialect300 ? kSigningAesCmac : kSigningHmacSha256;
  if (*dialect == kDialect311) {
    bool sha512 = false;
    for (uint16_t h : req->hash_algorithms) sha512 |= h == kHashSha512;
    if (!sha512) {
      out.status = nt::kInvalidParameter;
      out.disconnect = true;
      return out;
    }
    resp.preauth_salt = RandomBytes(32);
    cipher_ = ChooseCipher(req->ciphers);
    resp.cipher = cipher_;
    if (!req->signing_algorithms.empty()) {
      signing_algorithm_ = ChooseSigning(req->signing_algorithms, *dialect);
      resp.signing_algorithm = signing_algorithm_;
    }
  }
  negotiated_ = true;
  dialect_ = *dialect;
  server_capabilities_ = resp.capabilities;
  negotiate_request_ = *req;
  client_signing_required_ = (req->security_mode & 2) != 0;
  out.body = EncodeNegotiateResponse(resp);
  return out;
}

std::optional<SmbResponse> SmbConnection::Logoff(SmbRequest& r, SmbLater later) {
  if (!DecodeEmpty(r.message).ok()) return SmbResponse{nt::kInvalidParameter};
  // As Windows: a durable open outlives its session.
  EndSession(r.session, /*keep_durable=*/true, [later = std::move(later)] {
    SmbResponse out;
    out.body = EncodeSmallBody(4);
    later(std::move(out));
  });
  return std::nullopt;
}

void SmbConnection::EndSession(const std::shared_ptr<Session>& session, bool keep_durable,
                               std::function<void()> done) {
  std::vector<std::shared_ptr<Open>> opens;
  {
    std::lock_guard<std::mutex> lock(session->mu);
    for (auto& [id, open] : session->opens) opens.push_back(open);
    session->valid = false;  // other channels answer USER_SESSION_DELETED from now on
    session->expired = true;
  }
  sessions_.erase(session->id);
  channel_signing_.erase(session->id);
  exchanges_.erase(session->id);
  SmbServer* server = &server_;
  CloseOrKeep(session, opens, keep_durable, [server, session, done = std::move(done)] {
    {
      std::lock_guard<std::mutex> lock(session->mu);
      session->trees.clear();
    }
    server->state().RemoveSession(session->id);
    done();
  });
}

void SmbConnection::CloseOrKeep(const std::shared_ptr<Session>& session,
                                const std::vector<std::shared_ptr<Open>>& opens, bool keep_durable,
                                std::function<void()> done) {
  // The opens close side by side; `done` runs after the last.
  auto left = std::make_shared<std::atomic<size_t>>(opens.size() + 1);
  std::function<void()> one_done = [left, done = std::move(done)] {
    if (left->fetch_sub(1) == 1) done();
  };
  for (const std::shared_ptr<Open>& open : opens) {
    if (keep_durable && open->durable != 0 && !server_.state().BreakInFlight(*open)) {
      SmbServer* server = &server_;
      open->WhenIoIdle([server, session, open, one_done] {
        {
          std::lock_guard<std::mutex> lock(session->mu);
          session->opens.erase(open->id);
        }
        server->KeepDurable(open);
        one_done();
      });
    } else {
      CloseOpen(session, open, false, [one_done](uint32_t, backend::Attributes) { one_done(); });
    }
  }
  one_done();
}

SmbResponse SmbConnection::TreeConnect(SmbRequest& r) {
  absl::StatusOr<TreeConnectRequest> req = DecodeTreeConnect(r.message);
  if (!req.ok()) return SmbResponse{nt::kInvalidParameter};
  absl::string_view path = req->path;
  size_t slash = path.rfind('\\');
  absl::string_view name = slash == absl::string_view::npos ? path : path.substr(slash + 1);
  if (!absl::StartsWith(path, "\\\\") || name.empty()) return SmbResponse{nt::kBadNetworkName};
  std::shared_ptr<const Share> share = server_.FindShare(name);
  if (share == nullptr) return SmbResponse{nt::kBadNetworkName};
  auto tree = std::make_shared<Tree>();
  tree->share = share;
  std::shared_ptr<Session> session = r.session;
  if (share->ipc()) {
    tree->ctx.identity = session->identity;
    tree->maximal_access = 0x001F01FF;
  } else {
    absl::StatusOr<auth::ExportAccess> access =
        auth::Authorize(*share->export_, peer_address_, session->identity);
    if (!access.ok()) return SmbResponse{nt::kAccessDenied};
    if (server_.ShareEncrypted(*share) && !session->encryption_capable) {
      return SmbResponse{nt::kAccessDenied};
    }
    tree->ctx.identity = access->identity;
    tree->read_only = access->read_only;
    tree->maximal_access = access->read_only ? 0x001200A9 : access::kAll;
  }
  {
    std::lock_guard<std::mutex> lock(session->mu);
    tree->id = session->next_tree_id++;
    session->trees[tree->id] = tree;
  }
  r.tree = tree;
  uint32_t share_flags = 0;
  if (!share->ipc() && server_.ShareEncrypted(*share)) share_flags |= kShareFlagEncryptData;
  std::string body;
  Put16(&body, 16);
  body.push_back(share->ipc() ? 2 : 1);
  body.push_back(0);
  Put32(&body, share_flags);
  Put32(&body, 0);  // capabilities
  Put32(&body, tree->maximal_access);
  SmbResponse out;
  out.body = body;
  return out;
}

std::optional<SmbResponse> SmbConnection::TreeDisconnect(SmbRequest& r, SmbLater later) {
  if (!DecodeEmpty(r.message).ok()) return SmbResponse{nt::kInvalidParameter};
  std::shared_ptr<Session> session = r.session;
  std::vector<std::shared_ptr<Open>> opens;
  {
    std::lock_guard<std::mutex> lock(session->mu);
    for (auto& [id, open] : session->opens) {
      if (open->tree == r.tree) opens.push_back(open);
    }
    session->trees.erase(r.tree->id);
  }
  CloseOrKeep(session, opens, /*keep_durable=*/false, [later = std::move(later)] {
    SmbResponse out;
    out.body = EncodeSmallBody(4);
    later(std::move(out));
  });
  return std::nullopt;
}

SmbResponse SmbConnection::Echo(SmbRequest& r) {
  if (!DecodeEmpty(r.message).ok()) return SmbResponse{nt::kInvalidParameter};
  SmbResponse out;
  out.body = EncodeSmallBody(4);
  return out;
}

SmbResponse SmbConnection::Cancel(SmbRequest& r) {
  std::shared_ptr<Pending> pending;
  {
    std::lock_guard<std::mutex> lock(pending_mu_);
    for (auto it = pending_.begin(); it != pending_.end(); ++it) {
      bool match = r.header.async() ? it->first == r.header.async_id
                                    : it->second->request.header.message_id == r.header.message_id;
      if (match) {
        pending = it->second;
        pending_.erase(it);
        break;
      }
    }
  }
  if (pending != nullptr) {
    SendAsync(pending->request, nt::kCancelled, "");
    if (!pending->rest.empty()) {
      ResumeCompound(std::move(pending->rest), pending->rest_encrypted, pending->rest_session,
                     CompoundResume{pending->request.session, pending->request.tree, FileId{},
                                    nt::kCancelled});
    }
  }
  SmbResponse out;
  out.no_response = true;
  return out;
}

}  // namespace cfs::smb
