#include "lib/node/a4_fabric_server.h"

#include <netinet/in.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_eq.h>
#include <rdma/fi_errno.h>
#include <sys/socket.h>

#include <condition_variable>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/common/logging.h"

namespace cfs::remote {

// How many requests of one connection are being served; the connection's progress thread waits
// here while the limit is reached.
struct A4FabricServer::Tracker {
  std::mutex mu;
  std::condition_variable changed;
  size_t in_flight = 0;  // guarded by mu
};

A4FabricServer::A4FabricServer(DataNode& node, Options options)
    : node_(node), options_(std::move(options)) {}

A4FabricServer::~A4FabricServer() { Shutdown(absl::Now()); }

std::string A4FabricServer::provider() const {
  return domain_ == nullptr ? "" : domain_->provider();
}

absl::Status A4FabricServer::Start(const std::string& host, int port) {
  absl::StatusOr<fi_info*> info =
      OpenFabricInfo(options_.provider, host, std::to_string(port), /*passive=*/true);
  if (!info.ok()) return info.status();
  absl::StatusOr<std::shared_ptr<FabricDomain>> domain = FabricDomain::Open(*info);
  if (!domain.ok()) return domain.status();
  domain_ = std::move(*domain);
  absl::StatusOr<fid_eq*> eq = domain_->OpenEventQueue();
  if (!eq.ok()) return eq.status();
  eq_ = *eq;
  if (int rc = fi_passive_ep(domain_->fabric(), domain_->info(), &pep_, nullptr); rc != 0) {
    return absl::UnavailableError(absl::StrCat("fi_passive_ep: ", fi_strerror(-rc)));
  }
  if (int rc = fi_pep_bind(pep_, &eq_->fid, 0); rc != 0) {
    return absl::UnavailableError(absl::StrCat("fi_pep_bind: ", fi_strerror(-rc)));
  }
  if (int rc = fi_listen(pep_); rc != 0) {
    return absl::UnavailableError(
        absl::StrCat("libfabric listen on ", host, ":", port, ": ", fi_strerror(-rc)));
  }
  sockaddr_storage bound{};
  size_t length = sizeof bound;
  if (int rc = fi_getname(&pep_->fid, &bound, &length); rc != 0) {
    return absl::UnavailableError(absl::StrCat("fi_getname: ", fi_strerror(-rc)));
  }
  int bound_port = bound.ss_family == AF_INET6
                       ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                       : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  address_ =
      absl::StrCat(host.find(':') != std::string::npos ? "[" + host + "]" : host, ":", bound_port);
  pool_ = std::make_unique<ThreadPool>(options_.io_threads, 4096);
  listener_ = std::thread([this] { ListenLoop(); });
  CFS_LOG(INFO, "a4") << "serving A4 over libfabric (" << domain_->provider() << ") on "
                      << address_;
  return absl::OkStatus();
}

void A4FabricServer::ListenLoop() {
  while (!stopping_.load()) {
    uint32_t event = 0;
    fi_eq_cm_entry entry{};
    ssize_t rc = fi_eq_sread(eq_, &event, &entry, sizeof entry, 100, 0);
    if (rc == -FI_EAVAIL) {
      fi_eq_err_entry error{};
      fi_eq_readerr(eq_, &error, 0);
      continue;
    }
    if (rc <= 0) continue;
    if (event != FI_CONNREQ) continue;
    absl::StatusOr<std::shared_ptr<FabricConnection>> conn =
        FabricConnection::Accept(domain_, entry.info);
    if (conn.ok()) {
      Serve(*conn);
    } else {
      fi_reject(pep_, entry.info->handle, nullptr, 0);
      CFS_LOG(WARNING, "a4") << "libfabric connection refused: " << conn.status();
    }
    fi_freeinfo(entry.info);
  }
}

void A4FabricServer::Serve(const std::shared_ptr<FabricConnection>& conn) {
  auto tracker = std::make_shared<Tracker>();
  std::weak_ptr<FabricConnection> weak = conn;
  auto on_frame = [this, weak, tracker](const a4::Header& header,
                                        std::shared_ptr<std::string> payload) -> absl::Status {
    if (header.kind != a4::Kind::kRequest) {
      return absl::InvalidArgumentError("A4: a response sent to the server");
    }
    std::shared_ptr<FabricConnection> strong = weak.lock();
    if (strong == nullptr) return absl::UnavailableError("A4 connection gone");
    {
      std::unique_lock<std::mutex> lock(tracker->mu);
      while (tracker->in_flight >= options_.max_in_flight && !strong->broken()) {
        tracker->changed.wait_for(lock, std::chrono::milliseconds(100));
      }
      ++tracker->in_flight;
    }
    absl::Time arrived = absl::Now();
    pool_->Submit(
        [this, conn = std::move(strong), tracker, header, payload = std::move(payload), arrived] {
          if (options_.inject_delay > absl::ZeroDuration()) absl::SleepFor(options_.inject_delay);
          DataNode::Answer answer = node_.ServeFrame(header, *payload, arrived);
          auto head = std::make_shared<const std::string>(std::move(answer.head));
          auto data = std::make_shared<const std::string>(std::move(answer.data));
          (void)conn->Send(head, *data, data);  // a broken connection has no one to answer
          {
            std::lock_guard<std::mutex> lock(tracker->mu);
            --tracker->in_flight;
          }
          tracker->changed.notify_all();
        });
    return absl::OkStatus();
  };
  conn->Start(std::move(on_frame), /*on_broken=*/nullptr, /*on_tick=*/nullptr, conns_);
}

void A4FabricServer::Shutdown(absl::Time deadline) {
  (void)deadline;  // requests being served finish; the pool has no deadline to give them
  if (stopping_.exchange(true)) return;
  if (listener_.joinable()) listener_.join();
  conns_->BreakAll(absl::UnavailableError("A4 server shutting down"));
  // Each progress thread leaves within a tick of its Break; the handlers it runs use this
  // server, so it must be gone first.
  conns_->WaitIdle(absl::InfiniteFuture());
  // Requests being served hold their connection: the last one closes its endpoint here.
  if (pool_ != nullptr) pool_->Shutdown();
  if (pep_ != nullptr) fi_close(&pep_->fid);
  pep_ = nullptr;
  if (eq_ != nullptr) fi_close(&eq_->fid);
  eq_ = nullptr;
}

}  // namespace cfs::remote
