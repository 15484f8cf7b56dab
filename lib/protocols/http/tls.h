// TLS for the HTTP server (HTTPS), on OpenSSL 3 through the API it shares with BoringSSL
// (SSL_CTX, memory BIOs). TlsConnection decrypts what the network loop receives and hands the
// plaintext to the HTTP connection it wraps; TlsTransport encrypts what the HTTP layer sends,
// from any thread, keeping records in order. TLS 1.2 and 1.3 only.
#ifndef CFS_LIB_PROTOCOLS_HTTP_TLS_H_
#define CFS_LIB_PROTOCOLS_HTTP_TLS_H_

#include <memory>
#include <mutex>  // std::mutex: visible to ThreadSanitizer (Debian's Abseil is not instrumented)
#include <string>

#include "absl/status/statusor.h"
#include "lib/common/net/tcp_server.h"
#include "lib/protocols/http/transport.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace cfs::http {

// A server certificate and key. Shared by every connection; immutable once made.
class TlsContext {
 public:
  // Loads a PEM certificate chain and private key. Errors: kInvalidArgument naming the file.
  static absl::StatusOr<std::shared_ptr<TlsContext>> FromFiles(const std::string& cert_file,
                                                               const std::string& key_file);
  ~TlsContext();
  SSL_CTX* ctx() const { return ctx_; }

 private:
  explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
};

// The TLS session of one connection; the SSL object is used under `mu`.
class TlsSession : public Transport {
 public:
  TlsSession(std::shared_ptr<TlsContext> context, net::ConnectionRef ref);
  ~TlsSession() override;
  // Decrypts `ciphertext` (all of it is consumed), appending plaintext to `plaintext` and
  // sending what the handshake needs. Errors: kUnavailable when the session failed or ended.
  absl::Status Receive(absl::string_view ciphertext, std::string* plaintext);
  void Send(std::vector<std::string> parts, bool completes_request) override;
  void CloseWhenSent() override;
  const net::ConnectionRef& ref() const override { return ref_; }

 private:
  // Queues whatever OpenSSL wrote to the outgoing BIO (caller holds mu_).
  void FlushLocked(bool completes_request);

  std::mutex mu_;
  std::shared_ptr<TlsContext> context_;
  net::ConnectionRef ref_;
  SSL* ssl_ = nullptr;
  bool failed_ = false;
};

// Wraps a plaintext handler: feeds it decrypted input. Loop-affine like any handler.
class TlsConnection : public net::ConnectionHandler {
 public:
  TlsConnection(std::shared_ptr<TlsSession> session, std::unique_ptr<net::ConnectionHandler> inner);
  absl::StatusOr<size_t> OnData(absl::string_view input) override;
  bool WantsInput() const override;
  void OnPeerClosed() override { inner_->OnPeerClosed(); }
  void OnTick(absl::Time now) override { inner_->OnTick(now); }

 private:
  std::shared_ptr<TlsSession> session_;
  std::unique_ptr<net::ConnectionHandler> inner_;
  std::string plaintext_;  // decrypted, not yet consumed by `inner_`
};

}  // namespace cfs::http

#endif  // CFS_LIB_PROTOCOLS_HTTP_TLS_H_
