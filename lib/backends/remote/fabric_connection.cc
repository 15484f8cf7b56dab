#include "lib/backends/remote/fabric_connection.h"

#include <rdma/fi_cm.h>
#include <rdma/fi_eq.h>
#include <rdma/fi_errno.h>

#include <algorithm>
#include <cstring>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"

namespace cfs::remote {
namespace {

constexpr int kTickMillis = 100;
// A send that finds the queue full this long breaks the connection: the peer stopped reading.
constexpr absl::Duration kSendStall = absl::Seconds(5);

absl::Status FabricError(absl::string_view what, int rc) {
  return absl::UnavailableError(absl::StrCat("libfabric ", what, ": ", fi_strerror(-rc)));
}

int MillisUntil(absl::Time deadline) {
  absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 1 << 30));
}

// The FabricConnectionGroup the calling thread is counted in, if it is a progress thread.
thread_local const FabricConnectionGroup* current_group = nullptr;

template <typename Fid>
void CloseFid(Fid*& fid) {
  if (fid != nullptr) fi_close(&fid->fid);
  fid = nullptr;
}

}  // namespace

void FabricConnectionGroup::Enter(const std::shared_ptr<FabricConnection>& conn) {
  std::lock_guard<std::mutex> lock(mu_);
  live_[conn.get()] = conn;
  ++running_;
}

void FabricConnectionGroup::Leaving(const FabricConnection* conn) {
  std::lock_guard<std::mutex> lock(mu_);
  live_.erase(conn);
}

void FabricConnectionGroup::Left() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    --running_;
  }
  left_.notify_all();
}

void FabricConnectionGroup::BreakAll(const absl::Status& why) {
  std::vector<std::shared_ptr<FabricConnection>> live;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [key, weak] : live_) {
      if (auto conn = weak.lock()) live.push_back(std::move(conn));
    }
  }
  for (const std::shared_ptr<FabricConnection>& conn : live) conn->Break(why);
}

size_t FabricConnectionGroup::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return running_;
}

bool FabricConnectionGroup::WaitIdle(absl::Time deadline) {
  size_t self = current_group == this ? 1 : 0;
  std::unique_lock<std::mutex> lock(mu_);
  while (running_ > self) {
    if (deadline == absl::InfiniteFuture()) {
      left_.wait(lock);
    } else if (left_.wait_until(lock, absl::ToChronoTime(deadline)) == std::cv_status::timeout) {
      return running_ <= self;
    }
  }
  return true;
}

absl::StatusOr<fi_info*> OpenFabricInfo(const std::string& provider, const std::string& host,
                                        const std::string& port, bool passive) {
  fi_info* hints = fi_allocinfo();
  if (hints == nullptr) return absl::ResourceExhaustedError("fi_allocinfo");
  hints->ep_attr->type = FI_EP_MSG;
  hints->caps = FI_MSG;
  hints->mode = FI_CONTEXT | FI_CONTEXT2;
  hints->addr_format = FI_FORMAT_UNSPEC;
  hints->domain_attr->threading = FI_THREAD_SAFE;
  // Buffers are not registered (FI_MR_LOCAL is not offered); the other bits only concern RMA.
  hints->domain_attr->mr_mode = FI_MR_VIRT_ADDR | FI_MR_ALLOCATED | FI_MR_PROV_KEY;
  hints->tx_attr->msg_order = FI_ORDER_SAS;
  hints->rx_attr->msg_order = FI_ORDER_SAS;
  if (!provider.empty()) hints->fabric_attr->prov_name = strdup(provider.c_str());
  fi_info* found = nullptr;
  int rc = fi_getinfo(FI_VERSION(FI_MAJOR_VERSION, FI_MINOR_VERSION), host.c_str(), port.c_str(),
                      passive ? FI_SOURCE : 0, hints, &found);
  fi_freeinfo(hints);
  if (rc != 0 || found == nullptr) {
    return absl::UnavailableError(absl::StrCat("libfabric: no ",
                                               provider.empty() ? "" : "'" + provider + "' ",
                                               "provider offers reliable connected messaging at ",
                                               host, ":", port, ": ", fi_strerror(-rc)));
  }
  // The first entry is libfabric's preference (hardware providers before software ones).
  fi_info* chosen = fi_dupinfo(found);
  fi_freeinfo(found);
  if (chosen == nullptr) return absl::ResourceExhaustedError("fi_dupinfo");
  return chosen;
}

absl::StatusOr<std::shared_ptr<FabricDomain>> FabricDomain::Open(fi_info* info) {
  std::shared_ptr<FabricDomain> d(new FabricDomain());
  d->info_ = info;
  if (int rc = fi_fabric(info->fabric_attr, &d->fabric_, nullptr); rc != 0) {
    return FabricError("fi_fabric", rc);
  }
  if (int rc = fi_domain(d->fabric_, info, &d->domain_, nullptr); rc != 0) {
    return FabricError("fi_domain", rc);
  }
  return d;
}

FabricDomain::~FabricDomain() {
  CloseFid(domain_);
  CloseFid(fabric_);
  if (info_ != nullptr) fi_freeinfo(info_);
}

absl::StatusOr<fid_eq*> FabricDomain::OpenEventQueue() const {
  fi_eq_attr attr{};
  attr.size = 16;
  attr.wait_obj = FI_WAIT_UNSPEC;
  fid_eq* eq = nullptr;
  if (int rc = fi_eq_open(fabric_, &attr, &eq, nullptr); rc != 0) {
    return FabricError("fi_eq_open", rc);
  }
  return eq;
}

// One posted message of a frame: the context libfabric hands back on completion, and what
// keeps the bytes it points at alive.
struct FabricConnection::SendOp {
  fi_context2 context;  // first: the completion's op_context is its address
  std::shared_ptr<const std::string> head;
  std::shared_ptr<const void> keep_alive;
};

absl::Status FabricConnection::Open(const fi_info* info) {
  absl::StatusOr<fid_eq*> eq = domain_->OpenEventQueue();
  if (!eq.ok()) return eq.status();
  eq_ = *eq;
  fi_info* copy = fi_dupinfo(info);
  if (copy == nullptr) return absl::ResourceExhaustedError("fi_dupinfo");
  int rc = fi_endpoint(domain_->domain(), copy, &ep_, nullptr);
  fi_freeinfo(copy);
  if (rc != 0) return FabricError("fi_endpoint", rc);

  fi_cq_attr rx{};
  rx.format = FI_CQ_FORMAT_MSG;  // carries the received length
  rx.wait_obj = FI_WAIT_UNSPEC;
  rx.size = kFabricReceives * 2;
  if (rc = fi_cq_open(domain_->domain(), &rx, &rx_cq_, nullptr); rc != 0) {
    return FabricError("fi_cq_open", rc);
  }
  fi_cq_attr tx{};
  tx.format = FI_CQ_FORMAT_CONTEXT;
  tx.wait_obj = FI_WAIT_NONE;
  tx.size = std::max<size_t>(info->tx_attr->size, 64);
  if (rc = fi_cq_open(domain_->domain(), &tx, &tx_cq_, nullptr); rc != 0) {
    return FabricError("fi_cq_open", rc);
  }
  if (rc = fi_ep_bind(ep_, &eq_->fid, 0); rc != 0) return FabricError("fi_ep_bind(eq)", rc);
  if (rc = fi_ep_bind(ep_, &tx_cq_->fid, FI_TRANSMIT); rc != 0) {
    return FabricError("fi_ep_bind(tx)", rc);
  }
  if (rc = fi_ep_bind(ep_, &rx_cq_->fid, FI_RECV); rc != 0) {
    return FabricError("fi_ep_bind(rx)", rc);
  }
  if (rc = fi_enable(ep_); rc != 0) return FabricError("fi_enable", rc);
  receives_ = std::vector<Receive>(kFabricReceives);
  for (size_t i = 0; i < receives_.size(); ++i) {
    receives_[i].buffer.resize(kFabricChunk);
    if (absl::Status s = PostReceive(i); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status FabricConnection::PostReceive(size_t index) {
  Receive& r = receives_[index];
  while (true) {
    ssize_t rc = fi_recv(ep_, r.buffer.data(), r.buffer.size(), nullptr, 0, &r.context);
    if (rc == 0) return absl::OkStatus();
    if (rc != -FI_EAGAIN) return FabricError("fi_recv", static_cast<int>(rc));
    std::this_thread::yield();
  }
}

absl::StatusOr<std::shared_ptr<FabricConnection>> FabricConnection::Connect(
    std::shared_ptr<FabricDomain> domain, const fi_info* info, absl::Time deadline) {
  std::shared_ptr<FabricConnection> conn(new FabricConnection(std::move(domain)));
  if (absl::Status s = conn->Open(info); !s.ok()) return s;
  if (int rc = fi_connect(conn->ep_, info->dest_addr, nullptr, 0); rc != 0) {
    return FabricError("fi_connect", rc);
  }
  while (true) {
    uint32_t event = 0;
    fi_eq_cm_entry entry{};
    ssize_t rc = fi_eq_sread(conn->eq_, &event, &entry, sizeof entry, MillisUntil(deadline), 0);
    if (rc == -FI_EAGAIN || rc == -FI_ETIMEDOUT || rc == -FI_EINTR) {
      if (absl::Now() >= deadline)
        return absl::DeadlineExceededError("libfabric connect: timed out");
      continue;
    }
    if (rc == -FI_EAVAIL) {
      fi_eq_err_entry error{};
      fi_eq_readerr(conn->eq_, &error, 0);
      return absl::UnavailableError(
          absl::StrCat("libfabric connect: ", fi_strerror(error.err != 0 ? error.err : FI_EIO)));
    }
    if (rc < 0) return FabricError("fi_eq_sread", static_cast<int>(rc));
    if (event == FI_CONNECTED) return conn;
    if (event == FI_SHUTDOWN) return absl::UnavailableError("libfabric connect: refused");
  }
}

absl::StatusOr<std::shared_ptr<FabricConnection>> FabricConnection::Accept(
    std::shared_ptr<FabricDomain> domain, const fi_info* request) {
  std::shared_ptr<FabricConnection> conn(new FabricConnection(std::move(domain)));
  if (absl::Status s = conn->Open(request); !s.ok()) return s;
  if (int rc = fi_accept(conn->ep_, nullptr, 0); rc != 0) return FabricError("fi_accept", rc);
  return conn;
}

FabricConnection::~FabricConnection() {
  CloseFid(ep_);
  for (SendOp* op : sends_) delete op;  // the endpoint is closed: nothing touches them now
  sends_.clear();
  CloseFid(rx_cq_);
  CloseFid(tx_cq_);
  CloseFid(eq_);
}

void FabricConnection::Start(FrameHandler on_frame, BrokenHandler on_broken, TickHandler on_tick,
                             std::shared_ptr<FabricConnectionGroup> group) {
  on_frame_ = std::move(on_frame);
  on_broken_ = std::move(on_broken);
  on_tick_ = std::move(on_tick);
  group->Enter(shared_from_this());
  std::thread([self = shared_from_this(), group = std::move(group)]() mutable {
    current_group = group.get();
    self->ProgressLoop();
    group->Leaving(self.get());
    self.reset();  // closes the endpoint when no one else holds the connection
    current_group = nullptr;
    group->Left();
  }).detach();
}

absl::Status FabricConnection::Send(std::shared_ptr<const std::string> head, absl::string_view data,
                                    std::shared_ptr<const void> keep_alive) {
  std::lock_guard<std::mutex> lock(send_mu_);
  if (broken_.load()) return absl::UnavailableError("A4 connection broken");
  if (absl::Status s = ReapSendsLocked(); !s.ok()) return s;
  // The frame's bytes as one stream: head, then data, cut into messages of kFabricChunk.
  absl::string_view parts[2] = {*head, data};
  size_t part = 0, offset = 0;
  while (part < 2) {
    iovec iov[2];
    size_t count = 0, room = kFabricChunk;
    while (part < 2 && room > 0) {
      size_t take = std::min(room, parts[part].size() - offset);
      if (take > 0) {
        iov[count].iov_base = const_cast<char*>(parts[part].data() + offset);
        iov[count].iov_len = take;
        ++count;
        room -= take;
        offset += take;
      }
      if (offset == parts[part].size()) {
        ++part;
        offset = 0;
      }
    }
    if (count == 0) break;
    auto* op = new SendOp{{}, head, keep_alive};
    absl::Time stall = absl::Now() + kSendStall;
    while (true) {
      ssize_t rc = fi_sendv(ep_, iov, nullptr, count, 0, &op->context);
      if (rc == 0) break;
      if (rc == -FI_EAGAIN && absl::Now() < stall) {
        if (absl::Status s = ReapSendsLocked(); !s.ok()) {
          delete op;
          return s;
        }
        std::this_thread::yield();
        continue;
      }
      delete op;
      absl::Status why = rc == -FI_EAGAIN ? absl::UnavailableError("A4 peer stopped reading")
                                          : FabricError("fi_sendv", static_cast<int>(rc));
      Break(why);
      return why;
    }
    sends_.insert(op);
  }
  return absl::OkStatus();
}

absl::Status FabricConnection::ReapSendsLocked() {
  fi_cq_entry done[16];
  while (true) {
    ssize_t n = fi_cq_read(tx_cq_, done, 16);
    if (n == -FI_EAGAIN) return absl::OkStatus();
    if (n == -FI_EAVAIL) {
      fi_cq_err_entry error{};
      fi_cq_readerr(tx_cq_, &error, 0);
      auto* op = static_cast<SendOp*>(error.op_context);
      if (op != nullptr && sends_.erase(op) > 0) delete op;
      absl::Status why = absl::UnavailableError(
          absl::StrCat("A4 send failed: ", fi_strerror(error.err != 0 ? error.err : FI_EIO)));
      Break(why);
      return why;
    }
    if (n < 0) return FabricError("fi_cq_read", static_cast<int>(n));
    for (ssize_t i = 0; i < n; ++i) {
      auto* op = static_cast<SendOp*>(done[i].op_context);
      if (sends_.erase(op) > 0) delete op;
    }
  }
}

void FabricConnection::Break(const absl::Status& why) {
  {
    std::lock_guard<std::mutex> lock(why_mu_);
    if (why_.ok()) why_ = why.ok() ? absl::UnavailableError("A4 connection closed") : why;
  }
  if (!broken_.exchange(true)) fi_shutdown(ep_, 0);
}

void FabricConnection::ProgressLoop() {
  fi_cq_msg_entry done[kFabricReceives];
  while (!broken_.load()) {
    ssize_t n = fi_cq_sread(rx_cq_, done, kFabricReceives, nullptr, kTickMillis);
    if (n > 0) {
      for (ssize_t i = 0; i < n && !broken_.load(); ++i) {
        auto* receive = static_cast<Receive*>(done[i].op_context);
        size_t index = static_cast<size_t>(receive - receives_.data());
        absl::Status s = Absorb(absl::string_view(receive->buffer.data(), done[i].len));
        if (s.ok()) s = PostReceive(index);
        if (!s.ok()) Break(s);
      }
    } else if (n == -FI_EAVAIL) {
      fi_cq_err_entry error{};
      fi_cq_readerr(rx_cq_, &error, 0);
      Break(absl::UnavailableError(
          absl::StrCat("A4 receive failed: ", fi_strerror(error.err != 0 ? error.err : FI_EIO))));
    } else if (n < 0 && n != -FI_EAGAIN && n != -FI_ETIMEDOUT && n != -FI_EINTR) {
      Break(FabricError("fi_cq_sread", static_cast<int>(n)));
    }
    uint32_t event = 0;
    fi_eq_cm_entry entry{};
    ssize_t e = fi_eq_read(eq_, &event, &entry, sizeof entry, 0);
    if (e == -FI_EAVAIL) {
      fi_eq_err_entry error{};
      fi_eq_readerr(eq_, &error, 0);
      Break(absl::UnavailableError("A4 connection lost"));
    } else if (e > 0 && event == FI_SHUTDOWN) {
      Break(absl::UnavailableError("A4 connection closed by the peer"));
    }
    {
      std::lock_guard<std::mutex> lock(send_mu_);
      (void)ReapSendsLocked();
    }
    if (on_tick_) on_tick_();
  }
  absl::Status why;
  {
    std::lock_guard<std::mutex> lock(why_mu_);
    why = why_;
  }
  if (on_broken_) on_broken_(why);
  // Handlers may hold what owns this connection: drop them here, on the connection's thread.
  on_frame_ = nullptr;
  on_broken_ = nullptr;
  on_tick_ = nullptr;
}

absl::Status FabricConnection::Absorb(absl::string_view bytes) {
  while (!bytes.empty()) {
    if (!have_header_) {
      size_t take = std::min(a4::kHeaderSize - header_bytes_.size(), bytes.size());
      header_bytes_.append(bytes.data(), take);
      bytes.remove_prefix(take);
      if (header_bytes_.size() < a4::kHeaderSize) return absl::OkStatus();
      absl::StatusOr<a4::Header> header = a4::DecodeHeader(header_bytes_);
      header_bytes_.clear();
      if (!header.ok()) return header.status();
      header_ = *header;
      have_header_ = true;
      payload_ = std::make_shared<std::string>(header_.payload_length, '\0');
      payload_filled_ = 0;
    }
    size_t take = std::min(payload_->size() - payload_filled_, bytes.size());
    std::memcpy(payload_->data() + payload_filled_, bytes.data(), take);
    payload_filled_ += take;
    bytes.remove_prefix(take);
    if (payload_filled_ == payload_->size()) {
      have_header_ = false;
      if (absl::Status s = on_frame_(header_, std::move(payload_)); !s.ok()) return s;
      payload_ = nullptr;
    }
  }
  return absl::OkStatus();
}

}  // namespace cfs::remote
