// SESSION_SETUP of SmbConnection (MS-SMB2 3.3.5.5): SPNEGO + NTLMSSP against the user store,
// for a new session, a re-authentication, or the binding of an existing session to this
// connection as another channel (multichannel).
//
// Keys: a session's signing, encryption and application keys come from its first
// authentication. A binding derives only a channel signing key, from the binding's own
// session key (and, for 3.1.1, the binding exchange's preauth hash); the channel's messages are
// signed with it, while encryption keeps the session's keys on every channel.
#include <openssl/crypto.h>

#include "absl/strings/ascii.h"
#include "lib/common/logging.h"
#include "lib/protocols/smb/le_bytes.h"
#include "lib/protocols/smb/ntstatus.h"
#include "lib/protocols/smb/smb_connection.h"
#include "lib/protocols/smb/smb_crypto.h"
#include "lib/protocols/smb/smb_info.h"
#include "lib/protocols/smb/spnego.h"

namespace cfs::smb {

namespace {

constexpr uint8_t kSessionSetupBinding = 0x1;
constexpr uint16_t kSessionFlagEncryptData = 0x4;
constexpr size_t kMaxChannels = 32;  // per session, as Windows and Samba

int KeyBits(uint16_t cipher) {
  Cipher c = static_cast<Cipher>(cipher == 0 ? 1 : cipher);
  return (c == Cipher::kAes256Ccm || c == Cipher::kAes256Gcm) ? 256 : 128;
}

}  // namespace

std::string SmbConnection::AuthLeg::FinalToken() const {
  return raw_ntlmssp ? "" : NegTokenResp(NegState::kAcceptCompleted, false, "", server_mic);
}

SmbConnection::AuthLeg SmbConnection::RunNtlm(absl::string_view security_blob, NtlmExchange& ex) {
  AuthLeg leg;
  absl::StatusOr<SpnegoToken> token = ParseSpnego(security_blob);
  if (!token.ok()) {
    leg.status = nt::kInvalidParameter;
    return leg;
  }
  leg.raw_ntlmssp = token->raw_ntlmssp;
  absl::string_view ntlm = token->mech_token;
  bool is_ntlm = ntlm.size() >= 12 && ntlm.substr(0, 8) == absl::string_view("NTLMSSP\0", 8);
  // The mechListMIC covers the mechanism list of the client's first (NegTokenInit) token.
  if (!token->mech_types_der.empty()) ex.mech_types = token->mech_types_der;
  if (!is_ntlm) {
    if (token->raw_ntlmssp) {
      leg.status = nt::kInvalidParameter;
      return leg;
    }
    // An optimistic token of another mechanism (Kerberos): ask for NTLMSSP instead.
    leg.status = nt::kMoreProcessingRequired;
    leg.body = EncodeSessionSetupResponse(0, NegTokenResp(NegState::kAcceptIncomplete, true, ""));
    return leg;
  }
  uint32_t type = Le32(ntlm, 8);
  if (type == 1) {
    absl::StatusOr<uint32_t> client_flags = ParseNegotiateFlags(ntlm);
    if (!client_flags.ok()) {
      leg.status = nt::kInvalidParameter;
      return leg;
    }
    uint32_t flags = kNtlmNegotiateUnicode | kNtlmRequestTarget | kNtlmNegotiateNtlm |
                     kNtlmNegotiateAlwaysSign | kNtlmExtendedSessionSecurity |
                     kNtlmNegotiateVersion;
    flags |= *client_flags & (kNtlmNegotiateSign | kNtlmNegotiateSeal | kNtlmNegotiate128 |
                              kNtlmNegotiate56 | kNtlmNegotiateKeyExchange);
    ex.server_challenge = RandomBytes(8);
    ex.negotiate = std::string(ntlm);
    ex.challenge = BuildChallenge(flags, ex.server_challenge, server_.config().domain,
                                  server_.config().server_name, FiletimeNow());
    leg.status = nt::kMoreProcessingRequired;
    leg.body = EncodeSessionSetupResponse(
        0, token->raw_ntlmssp ? ex.challenge
                              : NegTokenResp(NegState::kAcceptIncomplete, true, ex.challenge));
    return leg;
  }
  if (type != 3 || ex.challenge.empty()) {
    leg.status = nt::kInvalidParameter;
    return leg;
  }
  auth::UserStore& users = server_.users();
  std::optional<auth::User> matched;
  absl::StatusOr<NtlmResult> result =
      VerifyAuthenticate(ex.negotiate, ex.challenge, ntlm, ex.server_challenge,
                         [&](const std::string& name) -> std::optional<std::string> {
                           std::optional<auth::User> user = users.FindByName(name);
                           if (!user.has_value())
                             user = users.FindByName(absl::AsciiStrToLower(name));
                           if (!user.has_value() || !user->enabled || user->nt_hash.size() != 16)
                             return std::nullopt;
                           matched = user;
                           return user->nt_hash;
                         });
  if (!result.ok() && result.status().code() == absl::StatusCode::kInvalidArgument) {
    leg.status = nt::kInvalidParameter;  // a malformed AUTHENTICATE message
    return leg;
  }
  if (!result.ok() || !matched.has_value()) {
    CFS_LOG(INFO, "smb") << peer_address_ << ": logon failure: "
                         << (result.ok() ? "unknown user" : result.status().message());
    leg.status = nt::kLogonFailure;
    return leg;
  }
  if (!token->mech_list_mic.empty() && !ex.mech_types.empty()) {
    std::string expected =
        NtlmSignature(result->flags, result->session_key, false, 0, ex.mech_types);
    if (token->mech_list_mic.size() != 16 ||
        CRYPTO_memcmp(expected.data(), token->mech_list_mic.data(), 16) != 0) {
      leg.status = nt::kLogonFailure;
      return leg;
    }
    leg.server_mic = NtlmSignature(result->flags, result->session_key, true, 0, ex.mech_types);
  }
  leg.status = nt::kSuccess;
  leg.ntlm = *result;
  leg.user = *matched;
  return leg;
}

SmbResponse SmbConnection::SessionSetup(SmbRequest& r) {
  absl::StatusOr<SessionSetupRequest> req = DecodeSessionSetup(r.message);
  if (!req.ok()) return SmbResponse{nt::kInvalidParameter};
  if ((req->flags & kSessionSetupBinding) != 0) return BindSession(r, *req);
  std::shared_ptr<Session> session;
  if (r.header.session_id == 0) {
    session = server_.state().NewSession();
    session->dialect = dialect_;
    session->channels.push_back(weak_from_this());
    sessions_[session->id] = session;
  } else {
    auto it = sessions_.find(r.header.session_id);
    if (it == sessions_.end()) return SmbResponse{nt::kUserSessionDeleted};
    session = it->second;  // a re-authentication (on any channel of the session)
  }
  r.session = session;
  auto [exchange, fresh] = exchanges_.try_emplace(session->id);
  NtlmExchange& ex = exchange->second;
  if (fresh) ex.preauth = preauth_;
  if (dialect_ == kDialect311) ex.preauth.Update(r.message);
  auto fail = [&](uint32_t status) {
    exchanges_.erase(session->id);
    if (!session->valid) {
      sessions_.erase(session->id);
      server_.state().RemoveSession(session->id);
    } else if (status == nt::kLogonFailure) {
      // A failed re-authentication ends the session on every channel (MS-SMB2 3.3.5.5.3).
      SmbResponse out{status};
      out.end_sessions.push_back({session, false});
      return out;
    }
    return SmbResponse{status};
  };

  AuthLeg leg = RunNtlm(req->security_blob, ex);
  if (leg.status == nt::kMoreProcessingRequired) {
    SmbResponse out{leg.status};
    out.body = std::move(leg.body);
    return out;
  }
  if (leg.status != nt::kSuccess) return fail(leg.status);
  bool encryption_capable = dialect_ >= kDialect300 && cipher_ != 0;
  bool encrypt_data = server_.config().encryption_required;
  if (encrypt_data && !encryption_capable) return fail(nt::kAccessDenied);
  if (session->valid && leg.user.name != session->user.name) {
    return fail(nt::kAccessDenied);  // a re-authentication must not change the user
  }
  {
    std::lock_guard<std::mutex> lock(session->mu);
    session->user = leg.user;
    session->identity = leg.user.ToIdentity();
    session->identity.principal = leg.user.name;
    // A re-authentication keeps the keys and settings the session has (MS-SMB2 3.3.5.5.3):
    // only the first authentication derives them.
    if (!session->valid) {
      session->keys =
          DeriveSessionKeys(dialect_, leg.ntlm.session_key, ex.preauth.value(), KeyBits(cipher_));
      session->signing_algorithm = signing_algorithm_;
      session->cipher = static_cast<Cipher>(cipher_ == 0 ? 1 : cipher_);
      session->encryption_capable = encryption_capable;
      session->signing_required = server_.config().signing_required || client_signing_required_ ||
                                  (req->security_mode & 0x2) != 0;
      session->encrypt_data = encrypt_data;
    }
    session->valid = true;
  }
  exchanges_.erase(session->id);
  SmbResponse out;
  if (req->previous_session_id != 0 && req->previous_session_id != session->id) {
    // A client reconnecting: the session it had before (same user) ends, with its opens; its
    // durable opens wait for a reconnect.
    std::shared_ptr<Session> old = server_.state().FindSession(req->previous_session_id);
    if (old != nullptr && old->valid && old->user.name == leg.user.name) {
      out.end_sessions.push_back({old, true});
    }
  }
  out.final_session_setup = true;
  out.body = EncodeSessionSetupResponse(session->encrypt_data ? kSessionFlagEncryptData : 0,
                                        leg.FinalToken());
  return out;
}

SmbResponse SmbConnection::BindSession(SmbRequest& r, const SessionSetupRequest& req) {
  // MS-SMB2 3.3.5.5 and 3.3.5.5.2, with the statuses and their order as Windows and Samba
  // answer smbtorture's smb2.session.bind_negative_* tests.
  uint64_t id = r.header.session_id;
  std::shared_ptr<Session> session = server_.state().FindSession(id);
  if (session == nullptr || !session->valid || session->expired) {
    return SmbResponse{nt::kUserSessionDeleted};
  }
  if ((r.header.flags & kFlagSigned) == 0) return SmbResponse{nt::kInvalidParameter};
  // A binding request is signed with the session's own key (3.3.5.2.4).
  if (!VerifyMessage(session->signing_algorithm, session->keys.signing, r.message)) {
    return SmbResponse{nt::kAccessDenied};
  }
  r.session = session;  // from here on, answers are signed with the session's key
  auto fail = [&](uint32_t status) {
    exchanges_.erase(id);
    SmbResponse out{status};
    out.sign_binding = true;
    return out;
  };
  bool session_gmac = session->signing_algorithm == kSigningAesGmac;
  bool channel_gmac = signing_algorithm_ == kSigningAesGmac;
  if (channel_gmac && !session_gmac) return fail(nt::kNotSupported);
  if (session_gmac && !channel_gmac) return fail(nt::kRequestOutOfSequence);
  if (dialect_ < kDialect300) return fail(nt::kRequestNotAccepted);  // no multichannel in 2.x
  if (session->dialect != dialect_) return fail(nt::kInvalidParameter);
  if (session->encryption_capable && static_cast<uint16_t>(session->cipher) != cipher_) {
    return fail(nt::kInvalidParameter);  // a channel must seal as the session does
  }
  if (sessions_.count(id) != 0) return fail(nt::kRequestNotAccepted);  // bound here already
  auto [it, fresh] = exchanges_.try_emplace(id);
  NtlmExchange& ex = it->second;
  if (fresh) ex.preauth = preauth_;
  if (dialect_ == kDialect311) ex.preauth.Update(r.message);

  AuthLeg leg = RunNtlm(req.security_blob, ex);
  if (leg.status == nt::kMoreProcessingRequired) {
    SmbResponse out{leg.status};
    out.body = std::move(leg.body);
    out.sign_binding = true;
    return out;
  }
  if (leg.status != nt::kSuccess) return fail(leg.status);
  if (leg.user.name != session->user.name) {
    CFS_LOG(INFO, "smb") << peer_address_ << ": binding of session " << id << " as "
                         << leg.user.name << " refused: the session is " << session->user.name;
    return fail(nt::kAccessDenied);
  }
  SessionKeys channel =
      DeriveSessionKeys(dialect_, leg.ntlm.session_key, ex.preauth.value(), KeyBits(cipher_));
  exchanges_.erase(id);
  {
    std::lock_guard<std::mutex> lock(session->mu);
    if (!session->valid || session->expired) return SmbResponse{nt::kUserSessionDeleted};
    if (session->channels.size() >= kMaxChannels) return fail(nt::kInsufficientResources);
    session->channels.push_back(weak_from_this());
  }
  sessions_[id] = session;
  channel_signing_[id] = ChannelSigning{channel.signing, signing_algorithm_};
  r.signing_key = channel.signing;  // the final response is signed on the new channel
  r.signing_algorithm = signing_algorithm_;
  CFS_LOG(DEBUG, "smb") << peer_address_ << ": session " << id << " bound to this connection";
  SmbResponse out;
  out.final_session_setup = true;
  out.body = EncodeSessionSetupResponse(session->encrypt_data ? kSessionFlagEncryptData : 0,
                                        leg.FinalToken());
  return out;
}

}  // namespace cfs::smb
