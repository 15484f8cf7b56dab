#include "lib/protocols/http/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "absl/strings/str_cat.h"

namespace cfs::http {

namespace {
constexpr size_t kMaxPlaintextBacklog = 4 << 20;

std::string OpenSslError() {
  unsigned long code = ERR_get_error();
  char buffer[256];
  ERR_error_string_n(code, buffer, sizeof(buffer));
  return buffer;
}
}  // namespace

absl::StatusOr<std::shared_ptr<TlsContext>> TlsContext::FromFiles(const std::string& cert_file,
                                                                  const std::string& key_file) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return absl::InternalError("SSL_CTX_new failed");
  std::shared_ptr<TlsContext> context(new TlsContext(ctx));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("TLS certificate ", cert_file, ": ", OpenSslError()));
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("TLS key ", key_file, ": ", OpenSslError()));
  }
  return context;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

TlsSession::TlsSession(std::shared_ptr<TlsContext> context, net::ConnectionRef ref)
    : context_(std::move(context)), ref_(std::move(ref)) {
  ssl_ = SSL_new(context_->ctx());
  SSL_set_bio(ssl_, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
  SSL_set_accept_state(ssl_);
}

TlsSession::~TlsSession() { SSL_free(ssl_); }

void TlsSession::FlushLocked(bool completes_request) {
  BIO* out = SSL_get_wbio(ssl_);
  std::vector<std::string> records;
  char buffer[16384];
  int n;
  while ((n = BIO_read(out, buffer, sizeof(buffer))) > 0) records.emplace_back(buffer, n);
  if (records.empty() && !completes_request) return;
  // Posted, never sent inline: records leave in the order OpenSSL produced them, whichever
  // thread produced them.
  ref_.PostParts(std::move(records), completes_request);
}

absl::Status TlsSession::Receive(absl::string_view ciphertext, std::string* plaintext) {
  std::lock_guard<std::mutex> lock(mu_);
  if (failed_) return absl::UnavailableError("TLS session failed");
  if (!ciphertext.empty() &&
      BIO_write(SSL_get_rbio(ssl_), ciphertext.data(), static_cast<int>(ciphertext.size())) <= 0) {
    failed_ = true;
    return absl::InternalError("BIO_write failed");
  }
  char buffer[65536];
  while (true) {
    int n = SSL_read(ssl_, buffer, sizeof(buffer));
    if (n > 0) {
      plaintext->append(buffer, n);
      continue;
    }
    int error = SSL_get_error(ssl_, n);
    FlushLocked(false);  // handshake messages, session tickets, alerts
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return absl::OkStatus();
    failed_ = true;
    if (error == SSL_ERROR_ZERO_RETURN) return absl::UnavailableError("TLS close_notify");
    return absl::UnavailableError(absl::StrCat("TLS: ", OpenSslError()));
  }
}

void TlsSession::Send(std::vector<std::string> parts, bool completes_request) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!failed_) {
    for (const std::string& part : parts) {
      size_t offset = 0;
      while (offset < part.size()) {
        int n = SSL_write(ssl_, part.data() + offset, static_cast<int>(part.size() - offset));
        if (n <= 0) {
          failed_ = true;
          break;
        }
        offset += static_cast<size_t>(n);
      }
      if (failed_) break;
    }
  }
  FlushLocked(completes_request);
}

void TlsSession::CloseWhenSent() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failed_) SSL_shutdown(ssl_);  // close_notify
    FlushLocked(false);
  }
  ref_.CloseWhenSent();
}

TlsConnection::TlsConnection(std::shared_ptr<TlsSession> session,
                             std::unique_ptr<net::ConnectionHandler> inner)
    : session_(std::move(session)), inner_(std::move(inner)) {}

bool TlsConnection::WantsInput() const {
  return plaintext_.size() < kMaxPlaintextBacklog && inner_->WantsInput();
}

absl::StatusOr<size_t> TlsConnection::OnData(absl::string_view input) {
  absl::Status received = session_->Receive(input, &plaintext_);
  if (!received.ok() && plaintext_.empty()) return received;
  if (!plaintext_.empty()) {
    absl::StatusOr<size_t> consumed = inner_->OnData(plaintext_);
    if (!consumed.ok()) return consumed.status();
    plaintext_.erase(0, *consumed);
  }
  if (!received.ok()) return received;
  return input.size();
}

}  // namespace cfs::http
