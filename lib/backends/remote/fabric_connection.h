// FabricConnection: one connected libfabric FI_EP_MSG endpoint carrying A4 frames, the piece
// the libfabric client transport and the cfs-node libfabric server share.
//
// A4 frames are a byte stream (header, payload) while FI_EP_MSG moves messages that must fit
// the receive buffer the peer posted. So each frame is sent as ordered messages of at most
// kFabricChunk bytes (the head and the caller's data gathered, not copied), and the receiver
// posts kFabricReceives buffers of that size, joins the messages back into frames and reposts
// each buffer at once. Message order on one endpoint is FI_ORDER_SAS, which both software
// providers (tcp, sockets) give and OpenFabric() asks for.
//
// A progress thread per connection waits on the receive completion queue and hands every whole
// frame to the owner's FrameHandler, in arrival order. Sends may come from any thread; they are
// serialised so the messages of two frames never interleave. The connection breaks (once) on a
// peer shutdown, a completion error, a malformed frame or Break(); the owner's BrokenHandler then
// runs on the progress thread, which exits.
//
// Ownership: the progress thread holds the connection while it runs; the last holder closes
// the endpoint and its queues. FabricDomain (fabric + domain) is shared by every connection
// opened on it and outlives them. Every connection has its own event queue. A connection joins
// the FabricConnectionGroup its owner passes to Start() and counts there until its progress
// thread has dropped its hold; the owner breaks the group and waits for it before it goes away,
// so no thread is left inside libfabric when the process exits and libfabric's own destructor
// tears its providers down.
//
// Example:
//   auto domain = FabricDomain::Open(OpenFabric("tcp", "127.0.0.1", "7200", false));
//   auto conn = FabricConnection::Connect(*domain, info, deadline);
//   auto group = std::make_shared<FabricConnectionGroup>();
//   (*conn)->Start(on_frame, on_broken, /*on_tick=*/nullptr, group);
//   (*conn)->Send(head, data, keep_alive);

#ifndef CFS_LIB_BACKENDS_REMOTE_FABRIC_CONNECTION_H_
#define CFS_LIB_BACKENDS_REMOTE_FABRIC_CONNECTION_H_

#include <rdma/fabric.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/backends/remote/a4_frame.h"

namespace cfs::remote {

inline constexpr size_t kFabricChunk = 64 << 10;
inline constexpr size_t kFabricReceives = 16;

// fi_getinfo for a reliable-connected (FI_EP_MSG) messaging endpoint. `provider` is a provider
// name ("tcp", "sockets") or empty for the first usable one libfabric lists (hardware providers
// come first). `passive`: information for listening at host:port (port "0": any); otherwise for
// connecting to host:port. The caller frees the result with fi_freeinfo.
// Errors: kUnavailable (no such provider, or none reaches the address).
absl::StatusOr<fi_info*> OpenFabricInfo(const std::string& provider, const std::string& host,
                                        const std::string& port, bool passive);

// A fabric and one access domain on it, and the event queue connections report on.
class FabricDomain {
 public:
  // Takes `info` (freed with the domain).
  static absl::StatusOr<std::shared_ptr<FabricDomain>> Open(fi_info* info);
  ~FabricDomain();
  FabricDomain(const FabricDomain&) = delete;
  FabricDomain& operator=(const FabricDomain&) = delete;

  fi_info* info() const { return info_; }
  fid_fabric* fabric() const { return fabric_; }
  fid_domain* domain() const { return domain_; }
  std::string provider() const { return info_->fabric_attr->prov_name; }

  // An event queue with a wait object on this fabric; the caller closes it.
  absl::StatusOr<fid_eq*> OpenEventQueue() const;

 private:
  FabricDomain() = default;
  fi_info* info_ = nullptr;
  fid_fabric* fabric_ = nullptr;
  fid_domain* domain_ = nullptr;
};

class FabricConnection;

// The connections one owner (a transport, a server) started and their progress threads: a way
// to break them all and a wait for their threads to be gone. A thread counts until it has
// dropped its hold on its connection, which closes the endpoint when that was the last one.
// Thread-safe.
class FabricConnectionGroup {
 public:
  // Breaks every connection whose progress thread is still running.
  void BreakAll(const absl::Status& why);
  // Waits until every progress thread counted here has left, or `deadline`; true when they all
  // left. Called on one of these threads, it waits for the others.
  bool WaitIdle(absl::Time deadline);
  size_t running() const;

 private:
  friend class FabricConnection;
  void Enter(const std::shared_ptr<FabricConnection>& conn);
  void Leaving(const FabricConnection* conn);  // before the thread lets go of `conn`
  void Left();                                 // after

  mutable std::mutex mu_;
  std::condition_variable left_;
  size_t running_ = 0;  // guarded by mu_
  // guarded by mu_: the connections whose threads have not begun to leave
  std::map<const FabricConnection*, std::weak_ptr<FabricConnection>> live_;
};

class FabricConnection : public std::enable_shared_from_this<FabricConnection> {
 public:
  // A whole frame; an error return breaks the connection with it.
  using FrameHandler =
      std::function<absl::Status(const a4::Header& header, std::shared_ptr<std::string> payload)>;
  using BrokenHandler = std::function<void(const absl::Status& why)>;

  // Connects to the address in `info` (from OpenFabricInfo(passive=false)) before `deadline`.
  // Errors: kUnavailable (refused), kDeadlineExceeded.
  static absl::StatusOr<std::shared_ptr<FabricConnection>> Connect(
      std::shared_ptr<FabricDomain> domain, const fi_info* info, absl::Time deadline);

  // Server side: accepts the connection request `request` (an FI_CONNREQ event's info) with
  // an endpoint of its own, receives posted. The caller then calls Start(), or rejects the
  // request on its listener when this fails.
  static absl::StatusOr<std::shared_ptr<FabricConnection>> Accept(
      std::shared_ptr<FabricDomain> domain, const fi_info* request);

  ~FabricConnection();
  FabricConnection(const FabricConnection&) = delete;
  FabricConnection& operator=(const FabricConnection&) = delete;

  // Runs on the progress thread at least every 100 ms (deadline checks).
  using TickHandler = std::function<void()>;

  // Starts the progress thread; the connection joins `group` until the thread is gone.
  // `on_broken` also runs when the connection is already broken. `on_broken` and `on_tick` may
  // be empty.
  void Start(FrameHandler on_frame, BrokenHandler on_broken, TickHandler on_tick,
             std::shared_ptr<FabricConnectionGroup> group);

  // Sends one frame: `head` then `data`. `keep_alive` (may be null) is held until the provider
  // is done with both. Waits while the send queue is full. Error: kUnavailable (broken).
  absl::Status Send(std::shared_ptr<const std::string> head, absl::string_view data,
                    std::shared_ptr<const void> keep_alive);

  // Breaks the connection (idempotent): shuts the endpoint down; the progress thread reports
  // `why` to the BrokenHandler and exits.
  void Break(const absl::Status& why);
  bool broken() const { return broken_.load(); }

  fid_ep* ep() const { return ep_; }

 private:
  struct SendOp;
  explicit FabricConnection(std::shared_ptr<FabricDomain> domain) : domain_(std::move(domain)) {}
  absl::Status Open(const fi_info* info);
  absl::Status PostReceive(size_t index);
  // Reads the send completion queue and frees what the provider is done with. send_mu_ held.
  absl::Status ReapSendsLocked();
  void ProgressLoop();
  // Joins received bytes into frames and hands each to the handler.
  absl::Status Absorb(absl::string_view bytes);

  std::shared_ptr<FabricDomain> domain_;
  fid_eq* eq_ = nullptr;  // connection events (connected, shutdown)
  fid_ep* ep_ = nullptr;
  fid_cq* rx_cq_ = nullptr;
  fid_cq* tx_cq_ = nullptr;
  struct Receive {
    fi_context2 context;  // first: libfabric hands back its address
    std::vector<char> buffer;
  };
  std::vector<Receive> receives_;

  std::mutex send_mu_;                 // serialises sends and the send completion queue
  std::unordered_set<SendOp*> sends_;  // guarded by send_mu_: posted, not yet completed
  std::atomic<bool> broken_{false};
  std::mutex why_mu_;
  absl::Status why_;  // guarded by why_mu_: the first reason it broke

  FrameHandler on_frame_;
  BrokenHandler on_broken_;
  TickHandler on_tick_;

  // Frame assembly, progress thread only.
  std::string header_bytes_;
  bool have_header_ = false;
  a4::Header header_;
  std::shared_ptr<std::string> payload_;
  size_t payload_filled_ = 0;
};

}  // namespace cfs::remote

#endif  // CFS_LIB_BACKENDS_REMOTE_FABRIC_CONNECTION_H_
