// NEGOTIATE, SESSION_SETUP (SPNEGO + NTLMSSP), LOGOFF, TREE_CONNECT, TREE_DISCONNECT, ECHO
// and CANCEL of SmbConnection.
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/common/logging.h"
#include "lib/protocols/smb/le_bytes.h"
#include "lib/protocols/smb/ntlmssp.h"
#include "lib/protocols/smb/ntstatus.h"
#include "lib/protocols/smb/smb_connection.h"
#include "lib/protocols/smb/smb_info.h"
#include "lib/protocols/smb/spnego.h"

namespace cfs::smb {

namespace {

constexpr uint32_t kCapLargeMtu = 0x4;
constexpr uint32_t kCapEncryption = 0x40;
constexpr uint16_t kSessionFlagEncryptData = 0x4;
constexpr uint32_t kShareFlagEncryptData = 0x8000;

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n));
  return out;
}

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
  if (*dialect >= kDialect210) resp.capabilities |= kCapLargeMtu;
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
  negotiate_request_ = *req;
  client_signing_required_ = (req->security_mode & 2) != 0;
  out.body = EncodeNegotiateResponse(resp);
  return out;
}

SmbResponse SmbConnection::SessionSetup(SmbRequest& r) {
  SmbResponse out;
  absl::StatusOr<SessionSetupRequest> req = DecodeSessionSetup(r.message);
  if (!req.ok()) return SmbResponse{nt::kInvalidParameter};
  if ((req->flags & 0x1) != 0) {
    // Binding a session to a second channel needs MULTI_CHANNEL, which is not offered.
    return SmbResponse{nt::kRequestNotAccepted};
  }
  std::shared_ptr<Session> session;
  if (r.header.session_id == 0) {
    session = server_.state().NewSession();
    session->dialect = dialect_;
    session->preauth = preauth_;
    sessions_[session->id] = session;
  } else {
    auto it = sessions_.find(r.header.session_id);
    if (it == sessions_.end()) return SmbResponse{nt::kUserSessionDeleted};
    session = it->second;
    if (session->valid && session->ntlm_challenge.empty()) {
      session->preauth = preauth_;  // re-authentication starts a new exchange
    }
  }
  r.session = session;
  if (dialect_ == kDialect311) session->preauth.Update(r.message);
  auto fail = [&](uint32_t status) {
    session->ntlm_negotiate.clear();
    session->ntlm_challenge.clear();
    if (!session->valid) {
      sessions_.erase(session->id);
      server_.state().RemoveSession(session->id);
    }
    return SmbResponse{status};
  };

  absl::StatusOr<SpnegoToken> token = ParseSpnego(req->security_blob);
  if (!token.ok()) return fail(nt::kInvalidParameter);
  absl::string_view ntlm = token->mech_token;
  bool is_ntlm = ntlm.size() >= 12 && ntlm.substr(0, 8) == absl::string_view("NTLMSSP\0", 8);
  // The mechListMIC covers the mechanism list of the client's first (NegTokenInit) token.
  if (!token->mech_types_der.empty()) session->ntlm_mech_types = token->mech_types_der;
  if (!is_ntlm) {
    if (token->raw_ntlmssp) return fail(nt::kInvalidParameter);
    // An optimistic token of another mechanism (Kerberos): ask for NTLMSSP instead.
    out.status = nt::kMoreProcessingRequired;
    out.body = EncodeSessionSetupResponse(0, NegTokenResp(NegState::kAcceptIncomplete, true, ""));
    return out;
  }
  uint32_t type = Le32(ntlm, 8);
  if (type == 1) {
    absl::StatusOr<uint32_t> client_flags = ParseNegotiateFlags(ntlm);
    if (!client_flags.ok()) return fail(nt::kInvalidParameter);
    uint32_t flags = kNtlmNegotiateUnicode | kNtlmRequestTarget | kNtlmNegotiateNtlm |
                     kNtlmNegotiateAlwaysSign | kNtlmExtendedSessionSecurity |
                     kNtlmNegotiateVersion;
    flags |= *client_flags & (kNtlmNegotiateSign | kNtlmNegotiateSeal | kNtlmNegotiate128 |
                              kNtlmNegotiate56 | kNtlmNegotiateKeyExchange);
    session->server_challenge = RandomBytes(8);
    session->ntlm_negotiate = std::string(ntlm);
    session->ntlm_challenge =
        BuildChallenge(flags, session->server_challenge, server_.config().domain,
                       server_.config().server_name, FiletimeNow());
    out.status = nt::kMoreProcessingRequired;
    out.body = EncodeSessionSetupResponse(
        0, token->raw_ntlmssp
               ? session->ntlm_challenge
               : NegTokenResp(NegState::kAcceptIncomplete, true, session->ntlm_challenge));
    return out;
  }
  if (type != 3 || session->ntlm_challenge.empty()) return fail(nt::kInvalidParameter);
  auth::UserStore& users = server_.users();
  std::optional<auth::User> matched;
  absl::StatusOr<NtlmResult> result = VerifyAuthenticate(
      session->ntlm_negotiate, session->ntlm_challenge, ntlm, session->server_challenge,
      [&](const std::string& name) -> std::optional<std::string> {
        std::optional<auth::User> user = users.FindByName(name);
        if (!user.has_value()) user = users.FindByName(absl::AsciiStrToLower(name));
        if (!user.has_value() || !user->enabled || user->nt_hash.size() != 16) return std::nullopt;
        matched = user;
        return user->nt_hash;
      });
  if (!result.ok() && result.status().code() == absl::StatusCode::kInvalidArgument) {
    return fail(nt::kInvalidParameter);  // a malformed AUTHENTICATE message
  }
  if (!result.ok() || !matched.has_value()) {
    CFS_LOG(INFO, "smb") << peer_address_ << ": logon failure: "
                         << (result.ok() ? "unknown user" : result.status().message());
    return fail(nt::kLogonFailure);
  }
  std::string server_mic;
  if (!token->mech_list_mic.empty() && !session->ntlm_mech_types.empty()) {
    std::string expected =
        NtlmSignature(result->flags, result->session_key, false, 0, session->ntlm_mech_types);
    if (token->mech_list_mic.size() != 16 ||
        CRYPTO_memcmp(expected.data(), token->mech_list_mic.data(), 16) != 0) {
      return fail(nt::kLogonFailure);
    }
    server_mic =
        NtlmSignature(result->flags, result->session_key, true, 0, session->ntlm_mech_types);
  }
  bool encryption_capable = dialect_ >= kDialect300 && cipher_ != 0;
  bool encrypt_data = server_.config().encryption_required;
  if (encrypt_data && !encryption_capable) return fail(nt::kAccessDenied);
  Cipher cipher = static_cast<Cipher>(cipher_ == 0 ? 1 : cipher_);
  int key_bits = (cipher == Cipher::kAes256Ccm || cipher == Cipher::kAes256Gcm) ? 256 : 128;
  {
    std::lock_guard<std::mutex> lock(session->mu);
    session->user = *matched;
    session->identity = matched->ToIdentity();
    session->identity.principal = matched->name;
    // A re-authentication keeps the keys the session has (MS-SMB2 3.3.5.5.3): only the first
    // authentication derives them.
    if (!session->valid) {
      session->keys =
          DeriveSessionKeys(dialect_, result->session_key, session->preauth.value(), key_bits);
    }
    session->signing_algorithm = signing_algorithm_;
    session->cipher = cipher;
    session->encryption_capable = encryption_capable;
    session->signing_required = server_.config().signing_required || client_signing_required_ ||
                                (req->security_mode & 0x2) != 0;
    session->encrypt_data = encrypt_data;
    session->valid = true;
    session->ntlm_negotiate.clear();
    session->ntlm_challenge.clear();
  }
  if (req->previous_session_id != 0 && req->previous_session_id != session->id) {
    // A client reconnecting: the session it had before (same user) ends, with its opens.
    std::shared_ptr<Session> old = server_.state().FindSession(req->previous_session_id);
    if (old != nullptr && old->valid && old->user.name == matched->name) {
      std::vector<std::shared_ptr<Open>> opens;
      {
        std::lock_guard<std::mutex> lock(old->mu);
        old->valid = false;
        old->expired = true;
        for (auto& [id, open] : old->opens) opens.push_back(open);
      }
      for (const std::shared_ptr<Open>& open : opens) CloseOpen(old, open, nullptr);
      server_.state().RemoveSession(old->id);
    }
  }
  out.status = nt::kSuccess;
  out.final_session_setup = true;
  out.body = EncodeSessionSetupResponse(
      encrypt_data ? kSessionFlagEncryptData : 0,
      token->raw_ntlmssp ? "" : NegTokenResp(NegState::kAcceptCompleted, false, "", server_mic));
  return out;
}

SmbResponse SmbConnection::Logoff(SmbRequest& r) {
  if (!DecodeEmpty(r.message).ok()) return SmbResponse{nt::kInvalidParameter};
  std::shared_ptr<Session> session = r.session;
  std::vector<std::shared_ptr<Open>> opens;
  {
    std::lock_guard<std::mutex> lock(session->mu);
    for (auto& [id, open] : session->opens) opens.push_back(open);
    session->expired = true;
  }
  for (const std::shared_ptr<Open>& open : opens) CloseOpen(session, open, nullptr);
  {
    std::lock_guard<std::mutex> lock(session->mu);
    session->trees.clear();
  }
  sessions_.erase(session->id);
  server_.state().RemoveSession(session->id);
  SmbResponse out;
  out.body = EncodeSmallBody(4);
  return out;
}

SmbResponse SmbConnection::TreeConnect(SmbRequest& r) {
  absl::StatusOr<TreeConnectRequest> req = DecodeTreeConnect(r.message);
  if (!req.ok()) return SmbResponse{nt::kInvalidParameter};
  absl::string_view path = req->path;
  size_t slash = path.rfind('\\');
  absl::string_view name = slash == absl::string_view::npos ? path : path.substr(slash + 1);
  if (!absl::StartsWith(path, "\\\\") || name.empty()) return SmbResponse{nt::kBadNetworkName};
  const Share* share = server_.FindShare(name);
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

SmbResponse SmbConnection::TreeDisconnect(SmbRequest& r) {
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
  for (const std::shared_ptr<Open>& open : opens) CloseOpen(session, open, nullptr);
  SmbResponse out;
  out.body = EncodeSmallBody(4);
  return out;
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
      CompoundResume resume{pending->request.session, pending->request.tree, FileId{},
                            nt::kCancelled};
      ProcessCompound(pending->rest, pending->rest_encrypted, pending->rest_session, &resume,
                      false);
    }
  }
  SmbResponse out;
  out.no_response = true;
  return out;
}

}  // namespace cfs::smb
