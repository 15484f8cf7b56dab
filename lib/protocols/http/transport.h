// Transport: how an HTTP connection's bytes reach the peer, from the loop or a worker thread:
// as they are (PlainTransport) or through TLS (TlsTransport, tls.h). Thread-safe.
#ifndef CFS_LIB_PROTOCOLS_HTTP_TRANSPORT_H_
#define CFS_LIB_PROTOCOLS_HTTP_TRANSPORT_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "lib/common/net/tcp_server.h"

namespace cfs::http {

class Transport {
 public:
  virtual ~Transport() = default;
  // Sends plaintext `parts` in order; with `completes_request`, one request in flight ends.
  virtual void Send(std::vector<std::string> parts, bool completes_request) = 0;
  virtual void CloseWhenSent() = 0;
  void WhenOutputBelow(size_t max_queued, absl::AnyInvocable<void() &&> fn) {
    ref().WhenOutputBelow(max_queued, std::move(fn));
  }
  void Resume() { ref().Resume(); }
  virtual const net::ConnectionRef& ref() const = 0;
};

class PlainTransport : public Transport {
 public:
  explicit PlainTransport(net::ConnectionRef ref) : ref_(std::move(ref)) {}
  void Send(std::vector<std::string> parts, bool completes_request) override {
    ref_.SendParts(std::move(parts), completes_request);
  }
  void CloseWhenSent() override { ref_.CloseWhenSent(); }
  const net::ConnectionRef& ref() const override { return ref_; }

 private:
  net::ConnectionRef ref_;
};

}  // namespace cfs::http

#endif  // CFS_LIB_PROTOCOLS_HTTP_TRANSPORT_H_
