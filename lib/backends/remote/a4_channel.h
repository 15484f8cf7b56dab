// A4Channel and A4Transport: the client side of A4, one connection to one data node carrying
// many requests at once, behind one interface so the remote backend does not care whether the
// bytes go over TCP (io_uring), libfabric or a plain blocking socket.
//
// A4Channel: Thread-safe. Call() may be made from any thread; `done` runs exactly once, on a
// transport thread (never inside Call), with the response or an error: kUnavailable when the
// connection failed (the channel is then Broken() and fails every later call at once),
// kDeadlineExceeded when no response came before the call's deadline.
//
// Example:
//   absl::StatusOr<std::unique_ptr<A4Channel>> ch = transport.Connect("10.0.0.2:7100", deadline);
//   a4::Request req; req.op = a4::Op::kPing;
//   (*ch)->Call(req, nullptr, absl::Now() + absl::Seconds(5), [](absl::StatusOr<A4Reply> r) {});

#ifndef CFS_LIB_BACKENDS_REMOTE_A4_CHANNEL_H_
#define CFS_LIB_BACKENDS_REMOTE_A4_CHANNEL_H_

#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/backends/remote/a4_frame.h"
#include "lib/resilience/conn_pool.h"

namespace cfs::remote {

// A decoded response and the bytes its data views.
struct A4Reply {
  a4::Response response;  // response.data views *payload
  std::shared_ptr<const std::string> payload;
};

using A4Done = absl::AnyInvocable<void(absl::StatusOr<A4Reply>) &&>;

// Broken(), InFlight() and Close() come from PooledConnection: a channel lives in the node's
// connection pool.
class A4Channel : public resilience::PooledConnection {
 public:
  ~A4Channel() override = default;
  // Sends `request` (its request_id is chosen by the channel). For kWrite, request.data must
  // stay valid until `done` runs; `keep_alive` (may be null) is held until then.
  virtual void Call(a4::Request request, std::shared_ptr<const void> keep_alive,
                    absl::Time deadline, A4Done done) = 0;
};

class A4Transport {
 public:
  virtual ~A4Transport() = default;
  // "tcp-uring", "socket", "libfabric:tcp", ...
  virtual std::string Name() const = 0;
  // True when the transport reaches data nodes at their libfabric addresses (the layout's
  // fabric_servers) rather than their TCP ones.
  virtual bool UsesFabricAddresses() const { return false; }
  // Connects to `address` ("host:port"). Errors: kUnavailable (refused, unreachable),
  // kDeadlineExceeded (no connection before `deadline`).
  virtual absl::StatusOr<std::unique_ptr<A4Channel>> Connect(const std::string& address,
                                                             absl::Time deadline) = 0;
};

}  // namespace cfs::remote

#endif  // CFS_LIB_BACKENDS_REMOTE_A4_CHANNEL_H_
