#include "lib/backends/remote/a4_fabric_transport.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/backends/remote/a4_pending_calls.h"
#include "lib/backends/remote/host_port.h"
#include "lib/common/logging.h"

namespace cfs::remote {
namespace {

// What Connect returns. The connection's handlers hold only the pending calls, so dropping the
// channel breaks the connection and its progress thread lets it go.
class FabricA4Channel : public A4Channel {
 public:
  FabricA4Channel(std::shared_ptr<FabricConnection> conn, std::shared_ptr<A4PendingCalls> pending)
      : conn_(std::move(conn)), pending_(std::move(pending)) {}
  ~FabricA4Channel() override { Close(); }

  void Call(a4::Request request, std::shared_ptr<const void> keep_alive, absl::Time deadline,
            A4Done done) override {
    absl::StatusOr<uint64_t> id = pending_->Add(deadline, std::move(done), keep_alive);
    if (!id.ok()) return;
    request.request_id = *id;
    auto head = std::make_shared<const std::string>(a4::EncodeRequest(request));
    absl::string_view data = request.op == a4::Op::kWrite ? request.data : absl::string_view();
    if (absl::Status s = conn_->Send(std::move(head), data, std::move(keep_alive)); !s.ok()) {
      pending_->Break(s);
    }
  }
  bool Broken() const override { return pending_->broken(); }
  size_t InFlight() const override { return pending_->size(); }
  void Close() override {
    absl::Status closed = absl::UnavailableError("A4 connection closed");
    conn_->Break(closed);
    pending_->Break(closed);
  }

 private:
  std::shared_ptr<FabricConnection> conn_;
  std::shared_ptr<A4PendingCalls> pending_;
};

}  // namespace

FabricA4Transport::~FabricA4Transport() {
  conns_->BreakAll(absl::UnavailableError("A4 transport closed"));
  // Each progress thread leaves within a tick of its Break. One that does not (a completion
  // callback that never returns) is left behind rather than hang the caller.
  if (!conns_->WaitIdle(absl::Now() + absl::Seconds(5))) {
    CFS_LOG(WARNING, "a4") << conns_->running()
                           << " libfabric progress threads still running after 5 s";
  }
}

std::string FabricA4Transport::Name() const {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string& shown = used_.empty() ? provider_ : used_;
  return shown.empty() ? "libfabric" : "libfabric:" + shown;
}

absl::StatusOr<std::unique_ptr<A4Channel>> FabricA4Transport::Connect(const std::string& address,
                                                                      absl::Time deadline) {
  std::string host, port;
  if (!SplitHostPort(address, &host, &port)) {
    return absl::InvalidArgumentError(absl::StrCat("bad A4 address '", address, "'"));
  }
  absl::StatusOr<fi_info*> info = OpenFabricInfo(provider_, host, port, /*passive=*/false);
  if (!info.ok()) return info.status();
  std::string key = absl::StrCat((*info)->fabric_attr->prov_name, "/", (*info)->fabric_attr->name,
                                 "/", (*info)->domain_attr->name);
  std::shared_ptr<FabricDomain> domain;
  {
    std::lock_guard<std::mutex> lock(mu_);
    domain = domains_[key].lock();
    if (domain == nullptr) {
      fi_info* copy = fi_dupinfo(*info);
      absl::StatusOr<std::shared_ptr<FabricDomain>> opened =
          copy == nullptr ? absl::ResourceExhaustedError("fi_dupinfo") : FabricDomain::Open(copy);
      if (!opened.ok()) {
        fi_freeinfo(*info);
        return opened.status();
      }
      domain = *opened;
      domains_[key] = domain;
    }
    used_ = domain->provider();
  }
  absl::StatusOr<std::shared_ptr<FabricConnection>> conn =
      FabricConnection::Connect(domain, *info, deadline);
  fi_freeinfo(*info);
  if (!conn.ok()) {
    return absl::Status(conn.status().code(),
                        absl::StrCat("connect ", address, ": ", conn.status().message()));
  }
  auto pending = std::make_shared<A4PendingCalls>();
  (*conn)->Start(
      [pending](const a4::Header& header, std::shared_ptr<std::string> payload) -> absl::Status {
        if (header.kind != a4::Kind::kResponse) {
          return absl::InvalidArgumentError("A4: a request sent to the client");
        }
        absl::StatusOr<a4::Response> response = a4::DecodeResponse(header, *payload);
        if (!response.ok()) return response.status();
        // A response to a call that expired meanwhile is dropped.
        pending->Complete(header.request_id, A4Reply{std::move(*response), std::move(payload)});
        return absl::OkStatus();
      },
      [pending](const absl::Status& why) { pending->Break(why); },
      [pending] { pending->ExpireOverdue(absl::Now()); }, conns_);
  return std::unique_ptr<A4Channel>(new FabricA4Channel(std::move(*conn), std::move(pending)));
}

}  // namespace cfs::remote
