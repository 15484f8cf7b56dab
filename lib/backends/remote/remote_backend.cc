#include "lib/backends/remote/remote_backend.h"

#include <algorithm>
#include <cstring>
#include <future>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/auth/posix_permissions.h"
#include "lib/backend/errors.h"
#include "lib/backends/remote/a2_convert.h"
#include "lib/backends/remote/placement.h"
#include "lib/common/logging.h"

namespace cfs::remote {

using backend::Callback;
using backend::InodeNumber;
using backend::RequestContext;
using Stub = ::cfs::a2::v1::MetadataService::Stub;

// One data node: its connection pool, its circuit breaker and its last boot verifier.
class RemoteBackend::DataNodeLink {
 public:
  DataNodeLink(std::string address, std::shared_ptr<resilience::ConnPool> pool,
               std::shared_ptr<resilience::CircuitBreaker> breaker)
      : address_(std::move(address)), pool_(std::move(pool)), breaker_(std::move(breaker)) {}

  const std::string& address() const { return address_; }
  std::atomic<uint64_t>& verifier() { return verifier_; }
  resilience::ConnPool& pool() { return *pool_; }
  const std::shared_ptr<resilience::ConnPool>& pool_ptr() const { return pool_; }
  resilience::CircuitBreaker& breaker() { return *breaker_; }

 private:
  const std::string address_;
  const std::shared_ptr<resilience::ConnPool> pool_;
  const std::shared_ptr<resilience::CircuitBreaker> breaker_;
  std::atomic<uint64_t> verifier_{0};
};

namespace {

template <typename Req, typename Resp>
using AsyncMethod = void (Stub::async::*)(grpc::ClientContext*, const Req*, Resp*,
                                          std::function<void(grpc::Status)>);

// Counts down the parts of a split operation; the last one to finish runs `finish`.
struct Fanout {
  std::mutex mu;
  size_t left = 0;
  absl::Status first_error;
  void Fail(const absl::Status& s) {
    std::lock_guard<std::mutex> lock(mu);
    if (first_error.ok()) first_error = s;
  }
  bool Done() {
    std::lock_guard<std::mutex> lock(mu);
    return --left == 0;
  }
};

bool ValidForData(const backend::Attributes& attrs, absl::Status* error) {
  if (attrs.type == backend::FileType::kDirectory) {
    *error = backend::FsErrorStatus(backend::FsError::kIsDirectory, "a directory");
    return false;
  }
  if (attrs.type != backend::FileType::kRegular) {
    *error = backend::FsErrorStatus(backend::FsError::kInvalid, "not a regular file");
    return false;
  }
  return true;
}

}  // namespace

// One A2 call through gRPC's callback API: the request, response and client context live in
// one heap object until the completion has run.
class RemoteBackend::Rpc {
 public:
  template <typename T, typename Req, typename Resp, typename Convert>
  static void Call(RemoteBackend& backend, const RequestContext& ctx, AsyncMethod<Req, Resp> method,
                   Req request, Convert convert, Callback<T> done) {
    if (backend.shut_down_.load()) {
      std::move(done)(absl::UnavailableError("remote backend is shut down"));
      return;
    }
    if (ctx.Expired()) {
      std::move(done)(absl::DeadlineExceededError("deadline passed before the call"));
      return;
    }
    if (absl::Status allowed = backend.metadata_breaker_->Allow(); !allowed.ok()) {
      std::move(done)(allowed);
      return;
    }
    struct State {
      grpc::ClientContext client;
      Req request;
      Resp response;
      Callback<T> done;
    };
    auto state = std::make_shared<State>();
    state->request = std::move(request);
    *state->request.mutable_caller() = ToProto(ctx);
    state->client.set_deadline(absl::ToChronoTime(backend.DeadlineFor(ctx)));
    state->done = std::move(done);
    std::shared_ptr<resilience::CircuitBreaker> breaker = backend.metadata_breaker_;
    backend.RpcStarted();
    RemoteBackend* owner = &backend;
    (backend.stub_->async()->*method)(
        &state->client, &state->request, &state->response,
        [state, convert, breaker, owner](grpc::Status status) mutable {
          absl::Status result = FromGrpc(status);
          RemoteBackend::NoteNodeResult(*breaker,
                                        !resilience::CircuitBreaker::IsNodeFailure(result));
          if (!status.ok()) {
            std::move(state->done)(std::move(result));
          } else {
            std::move(state->done)(convert(state->response));
          }
          owner->RpcFinished();  // last: the backend may be destroyed right after
        });
  }
};

RemoteBackend::RemoteBackend(RemoteBackendOptions options)
    : options_(std::move(options)),
      breakers_(options_.breakers != nullptr
                    ? options_.breakers
                    : std::make_shared<resilience::CircuitBreakerRegistry>(options_.breaker)),
      scheduler_(std::make_unique<resilience::Scheduler>()),
      rng_(std::random_device{}()) {}

RemoteBackend::~RemoteBackend() {
  (void)Shutdown(absl::Now());
  // A2 completions (and what they continue with, e.g. a background reclaim) use this object:
  // they all end within their deadlines, at most the operation timeout.
  std::unique_lock<std::mutex> lock(rpc_mu_);
  rpc_idle_.wait(lock, [this] { return rpcs_in_flight_ == 0; });
}

void RemoteBackend::RpcStarted() {
  std::lock_guard<std::mutex> lock(rpc_mu_);
  ++rpcs_in_flight_;
}

void RemoteBackend::RpcFinished() {
  std::lock_guard<std::mutex> lock(rpc_mu_);
  if (--rpcs_in_flight_ == 0) rpc_idle_.notify_all();
}

absl::StatusOr<std::unique_ptr<RemoteBackend>> RemoteBackend::Connect(
    RemoteBackendOptions options) {
  if (options.metadata_address.empty() || options.transport == nullptr ||
      options.pool.max_connections == 0 ||
      options.pool.min_connections > options.pool.max_connections) {
    return absl::InvalidArgumentError(
        "remote backend: a metadata address, a transport and a pool of at least one connection "
        "(min <= max) are required");
  }
  std::unique_ptr<RemoteBackend> backend(new RemoteBackend(std::move(options)));
  if (absl::Status s = backend->Start(); !s.ok()) return s;
  return backend;
}

absl::Status RemoteBackend::Start() {
  metadata_breaker_ = breakers_->GetOrCreate("a2:" + options_.metadata_address);
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  // gRPC retries the idempotent (read-only) A2 calls itself when the node is unreachable,
  // with jittered exponential backoff; calls that change the namespace are never retried.
  std::string methods;
  for (const char* m : {"Lookup", "GetAttr", "Access", "ReadLink", "ReadDir", "FsStat", "GetXattr",
                        "ListXattrs", "GetExtentMap", "Stripes"}) {
    absl::StrAppend(&methods, methods.empty() ? "" : ",",
                    "{\"service\":\"cfs.a2.v1.MetadataService\",\"method\":\"", m, "\"}");
  }
  args.SetServiceConfigJSON(
      absl::StrCat("{\"methodConfig\":[{\"name\":[", methods,
                   "],\"retryPolicy\":{\"maxAttempts\":", options_.retry.max_retries + 1,
                   ",\"initialBackoff\":\"", absl::ToDoubleSeconds(options_.retry.initial),
                   "s\",\"maxBackoff\":\"", absl::ToDoubleSeconds(options_.retry.max),
                   "s\",\"backoffMultiplier\":", options_.retry.multiplier,
                   ",\"retryableStatusCodes\":[\"UNAVAILABLE\"]}}]}"));
  channel_ = grpc::CreateCustomChannel(options_.metadata_address,
                                       grpc::InsecureChannelCredentials(), args);
  stub_ = ::cfs::a2::v1::MetadataService::NewStub(channel_);
  grpc::ClientContext client;
  client.set_deadline(absl::ToChronoTime(absl::Now() + options_.pool.connect_timeout));
  client.set_wait_for_ready(true);
  pb::StripesRequest request;
  pb::StripesResponse layout;
  grpc::Status status = stub_->Stripes(&client, request, &layout);
  if (!status.ok()) {
    return absl::UnavailableError(absl::StrCat("metadata node ", options_.metadata_address,
                                               " unreachable: ", status.error_message()));
  }
  if (layout.stripe_size() == 0 || layout.data_servers().empty()) {
    return absl::UnavailableError("metadata node reports no data layout");
  }
  stripe_size_ = layout.stripe_size();
  metadata_verifier_ = layout.metadata_verifier();
  const auto& addresses =
      options_.transport->UsesFabricAddresses() ? layout.fabric_servers() : layout.data_servers();
  if (addresses.size() != layout.data_servers().size()) {
    return absl::UnavailableError(absl::StrCat("the cluster's data nodes do not serve A4 over ",
                                               options_.transport->Name(),
                                               " (start cfs-node with --fabric_port)"));
  }
  layout_servers_.assign(layout.data_servers().begin(), layout.data_servers().end());
  for (const std::string& address : addresses) {
    std::shared_ptr<A4Transport> transport = options_.transport;
    resilience::ConnPool::Connector connect =
        [transport, address](
            absl::Time deadline) -> absl::StatusOr<std::unique_ptr<resilience::PooledConnection>> {
      absl::StatusOr<std::unique_ptr<A4Channel>> channel = transport->Connect(address, deadline);
      if (!channel.ok()) return channel.status();
      return std::unique_ptr<resilience::PooledConnection>(std::move(*channel));
    };
    absl::Duration check_timeout = options_.operation_timeout;
    resilience::ConnPool::HealthCheck check = [check_timeout](
                                                  resilience::PooledConnection& conn,
                                                  absl::AnyInvocable<void(bool) &&> healthy) {
      a4::Request ping;
      ping.op = a4::Op::kPing;
      auto verdict = std::make_shared<absl::AnyInvocable<void(bool) &&>>(std::move(healthy));
      static_cast<A4Channel&>(conn).Call(ping, nullptr, absl::Now() + check_timeout,
                                         [verdict](absl::StatusOr<A4Reply> r) {
                                           std::move (*verdict)(r.ok() && r->response.status.ok());
                                         });
    };
    nodes_.push_back(std::make_unique<DataNodeLink>(
        address,
        resilience::ConnPool::Create("a4:" + address, options_.pool, std::move(connect),
                                     std::move(check), scheduler_.get()),
        breakers_->GetOrCreate("a4:" + address)));
  }
  // Every data node must answer a PING now: it gives each one's boot verifier.
  for (size_t i = 0; i < nodes_.size(); ++i) {
    a4::Request ping;
    ping.op = a4::Op::kPing;
    std::promise<absl::StatusOr<A4Reply>> reply;
    CallNode(i, ping, nullptr, absl::Now() + options_.pool.connect_timeout,
             [&reply](absl::StatusOr<A4Reply> r) { reply.set_value(std::move(r)); });
    absl::StatusOr<A4Reply> r = reply.get_future().get();
    if (!r.ok()) {
      return absl::UnavailableError(
          absl::StrCat("data node ", nodes_[i]->address(), " unreachable: ", r.status().message()));
    }
    if (!r->response.status.ok()) return r->response.status;
    NoteVerifier(i, r->response.verifier);
  }
  return absl::OkStatus();
}

std::string RemoteBackend::Describe() const {
  return absl::StrCat("remote:", options_.metadata_address, " + ", nodes_.size(),
                      " data nodes over ", options_.transport->Name());
}

absl::Status RemoteBackend::Health() const {
  if (shut_down_.load()) return absl::UnavailableError("shut down");
  grpc_connectivity_state state = channel_->GetState(true);
  if (state == GRPC_CHANNEL_TRANSIENT_FAILURE || state == GRPC_CHANNEL_SHUTDOWN) {
    return absl::UnavailableError("metadata node " + options_.metadata_address + " unreachable");
  }
  for (const auto& node : nodes_) {
    if (node->breaker().state() == resilience::CircuitBreaker::State::kOpen) {
      return absl::UnavailableError("data node " + node->address() + ": circuit open");
    }
  }
  return absl::OkStatus();
}

absl::Status RemoteBackend::Shutdown(absl::Time deadline) {
  if (shut_down_.exchange(true)) return absl::OkStatus();
  for (auto& node : nodes_) node->pool().Shutdown();
  return absl::OkStatus();
}

std::vector<std::pair<std::string, resilience::ConnPool::Stats>> RemoteBackend::PoolStats() const {
  std::vector<std::pair<std::string, resilience::ConnPool::Stats>> out;
  for (const auto& node : nodes_) out.emplace_back(node->address(), node->pool().stats());
  return out;
}

absl::Time RemoteBackend::DeadlineFor(const RequestContext& ctx) const {
  return std::min(ctx.deadline, absl::Now() + options_.operation_timeout);
}

void RemoteBackend::CallNode(size_t node, a4::Request request,
                             std::shared_ptr<const void> keep_alive, absl::Time deadline,
                             A4Done done, int attempt) {
  if (shut_down_.load()) {
    std::move(done)(absl::UnavailableError("remote backend is shut down"));
    return;
  }
  DataNodeLink& link = *nodes_[node];
  if (absl::Status allowed = link.breaker().Allow(); !allowed.ok()) {
    std::move(done)(allowed);  // the node keeps failing: fail fast, no timeout to wait out
    return;
  }
  auto finish = std::make_shared<A4Done>(std::move(done));
  // A node failure (unreachable, connection lost) is retried after a jittered backoff while
  // the deadline allows: every A4 operation is idempotent (a WRITE rewrites the same bytes).
  auto failed = [this, node, request, keep_alive, deadline, finish,
                 attempt](const absl::Status& status) mutable {
    NoteNodeResult(nodes_[node]->breaker(), false);
    absl::Duration wait = absl::ZeroDuration();
    {
      std::lock_guard<std::mutex> lock(rng_mu_);
      wait = options_.retry.Delay(attempt, rng_);
    }
    if (status.code() == absl::StatusCode::kUnavailable && attempt < options_.retry.max_retries &&
        absl::Now() + wait < deadline && !shut_down_.load()) {
      scheduler_->RunAfter(
          wait, [this, node, request, keep_alive, deadline, finish, attempt]() mutable {
            CallNode(
                node, std::move(request), std::move(keep_alive), deadline,
                [finish](absl::StatusOr<A4Reply> r) { std::move (*finish)(std::move(r)); },
                attempt + 1);
          });
      return;
    }
    std::move (*finish)(
        absl::Status(status.code(),
                     absl::StrCat("data node ", nodes_[node]->address(), ": ", status.message())));
  };
  std::shared_ptr<resilience::ConnPool> pool = link.pool_ptr();
  pool->Acquire(
      deadline, [this, node, pool, request, keep_alive, deadline, finish, failed](
                    absl::StatusOr<std::shared_ptr<resilience::PooledConnection>> conn) mutable {
        if (!conn.ok()) {
          if (resilience::CircuitBreaker::IsNodeFailure(conn.status())) {
            failed(conn.status());
          } else {
            std::move (*finish)(
                conn.status());  // too many waiting: the gateway's limit, not the node
          }
          return;
        }
        std::shared_ptr<resilience::PooledConnection> held = *conn;
        absl::Duration left = deadline - absl::Now();
        request.timeout_ms = static_cast<uint32_t>(
            std::clamp<int64_t>(absl::ToInt64Milliseconds(left), 1, int64_t{1} << 31));
        static_cast<A4Channel&>(*held).Call(
            request, keep_alive, deadline,
            [this, node, pool, held, finish, failed](absl::StatusOr<A4Reply> reply) mutable {
              pool->Release(held.get());
              if (!reply.ok() && resilience::CircuitBreaker::IsNodeFailure(reply.status())) {
                failed(reply.status());
                return;
              }
              NoteNodeResult(nodes_[node]->breaker(), true);
              std::move (*finish)(std::move(reply));
            });
      });
}

void RemoteBackend::CallAllNodes(const a4::Request& request, absl::Time deadline,
                                 absl::AnyInvocable<void(absl::Status) &&> done) {
  auto fan = std::make_shared<Fanout>();
  fan->left = nodes_.size();
  auto finish = std::make_shared<absl::AnyInvocable<void(absl::Status) &&>>(std::move(done));
  for (size_t i = 0; i < nodes_.size(); ++i) {
    CallNode(i, request, nullptr, deadline, [this, i, fan, finish](absl::StatusOr<A4Reply> r) {
      if (!r.ok()) {
        fan->Fail(r.status());
      } else if (!r->response.status.ok()) {
        fan->Fail(r->response.status);
      } else if (r->response.op == a4::Op::kCommit) {
        NoteVerifier(i, r->response.verifier);
      }
      if (fan->Done()) std::move (*finish)(fan->first_error);
    });
  }
}

void RemoteBackend::NoteNodeResult(resilience::CircuitBreaker& breaker, bool ok) {
  using State = resilience::CircuitBreaker::State;
  State before = breaker.state();
  if (ok) {
    breaker.RecordSuccess();
  } else {
    breaker.RecordFailure();
  }
  State after = breaker.state();
  if (after == State::kOpen && before != State::kOpen) {
    CFS_LOG(WARNING, "remote") << "circuit open for " << breaker.name()
                               << ": its calls fail at once for "
                               << absl::FormatDuration(breaker.options().open_duration);
  } else if (after == State::kClosed && before == State::kHalfOpen) {
    CFS_LOG(INFO, "remote") << "circuit closed for " << breaker.name() << ": it answers again";
  }
}

void RemoteBackend::NoteVerifier(size_t node, backend::WriteVerifier verifier) {
  nodes_[node]->verifier().store(verifier);
}

backend::WriteVerifier RemoteBackend::CurrentWriteVerifier() const {
  // A restart of any node changes the result.
  uint64_t v = metadata_verifier_;
  for (const auto& node : nodes_) {
    v = (v ^ node->verifier().load()) * 0x100000001b3ULL + 0x9e3779b97f4a7c15ULL;
  }
  return v;
}

// ---- metadata: one A2 RPC each ----

void RemoteBackend::Lookup(const RequestContext& ctx, InodeNumber dir, absl::string_view name,
                           Callback<backend::Attributes> done) {
  pb::NameRequest req;
  req.set_dir(dir);
  req.set_name(std::string(name));
  Rpc::Call<backend::Attributes>(
      *this, ctx, &Stub::async::Lookup, std::move(req),
      [](const pb::Attributes& a) { return FromProto(a); }, std::move(done));
}

void RemoteBackend::GetAttr(const RequestContext& ctx, InodeNumber inode,
                            Callback<backend::Attributes> done) {
  pb::InodeRequest req;
  req.set_inode(inode);
  Rpc::Call<backend::Attributes>(
      *this, ctx, &Stub::async::GetAttr, std::move(req),
      [](const pb::Attributes& a) { return FromProto(a); }, std::move(done));
}

void RemoteBackend::SetAttr(const RequestContext& ctx, InodeNumber inode,
                            const backend::SetAttributes& attrs,
                            Callback<backend::AttrChange> done) {
  pb::SetAttrRequest req;
  req.set_inode(inode);
  *req.mutable_attributes() = ToProto(attrs);
  auto set_metadata = [this, ctx,
                       req = std::move(req)](Callback<backend::AttrChange> done) mutable {
    Rpc::Call<backend::AttrChange>(
        *this, ctx, &Stub::async::SetAttr, std::move(req),
        [](const pb::AttrChange& c) { return FromProto(c); }, std::move(done));
  };
  if (!attrs.size.has_value()) {
    set_metadata(std::move(done));
    return;
  }
  // A shrink cuts the bytes past the new size from the data nodes first, then changes the size:
  // were it the other way round, a crash between the two would leave old bytes past the size
  // that a later grow would bring back. (A grow needs no data change: past its end a node's
  // file reads as a hole.)
  uint64_t new_size = *attrs.size;
  std::optional<backend::Timestamp> guard = attrs.guard_ctime;
  GetAttr(ctx, inode,
          [this, ctx, inode, new_size, guard, set_metadata = std::move(set_metadata),
           done = std::move(done)](absl::StatusOr<backend::Attributes> before) mutable {
            // Anything the metadata node would refuse is left for it to refuse, untouched.
            if (!before.ok() || before->type != backend::FileType::kRegular ||
                new_size >= before->size ||
                !auth::MayAccess(ctx.identity, *before, backend::kAccessWrite) ||
                (guard.has_value() && *guard != before->ctime)) {
              set_metadata(std::move(done));
              return;
            }
            a4::Request cut;
            cut.op = a4::Op::kTruncate;
            cut.inode = inode;
            cut.length = new_size;
            CallAllNodes(cut, DeadlineFor(ctx),
                         [set_metadata = std::move(set_metadata),
                          done = std::move(done)](absl::Status s) mutable {
                           if (!s.ok()) return std::move(done)(s);
                           set_metadata(std::move(done));
                         });
          });
}

void RemoteBackend::Access(const RequestContext& ctx, InodeNumber inode, uint32_t requested,
                           Callback<uint32_t> done) {
  pb::AccessRequest req;
  req.set_inode(inode);
  req.set_requested(requested);
  Rpc::Call<uint32_t>(
      *this, ctx, &Stub::async::Access, std::move(req),
      [](const pb::AccessResponse& r) { return r.granted(); }, std::move(done));
}

void RemoteBackend::Create(const RequestContext& ctx, const backend::CreateRequest& request,
                           Callback<backend::EntryResult> done) {
  pb::CreateRequest req;
  req.set_parent(request.parent);
  req.set_name(request.name);
  req.set_how(static_cast<uint32_t>(request.how));
  req.set_verifier(request.verifier);
  *req.mutable_attributes() = ToProto(request.attributes);
  auto create = [this, ctx, req = std::move(req)](Callback<backend::EntryResult> done) mutable {
    Rpc::Call<backend::EntryResult>(
        *this, ctx, &Stub::async::Create, std::move(req),
        [](const pb::EntryResult& e) { return FromProto(e); }, std::move(done));
  };
  // Creating over an existing file may truncate it (attributes.size): as for SetAttr, its bytes
  // past the new size leave the data nodes before the size changes.
  if (!request.attributes.size.has_value() || request.how == backend::CreateMode::kGuarded) {
    create(std::move(done));
    return;
  }
  uint64_t size = *request.attributes.size;
  Lookup(ctx, request.parent, request.name,
         [this, ctx, size, create = std::move(create),
          done = std::move(done)](absl::StatusOr<backend::Attributes> existing) mutable {
           if (!existing.ok() || existing->type != backend::FileType::kRegular ||
               size >= existing->size ||
               !auth::MayAccess(ctx.identity, *existing, backend::kAccessWrite)) {
             create(std::move(done));
             return;
           }
           a4::Request cut;
           cut.op = a4::Op::kTruncate;
           cut.inode = existing->inode;
           cut.length = size;
           CallAllNodes(
               cut, DeadlineFor(ctx),
               [create = std::move(create), done = std::move(done)](absl::Status s) mutable {
                 if (!s.ok()) return std::move(done)(s);
                 create(std::move(done));
               });
         });
}

void RemoteBackend::MakeDirectory(const RequestContext& ctx, InodeNumber parent,
                                  absl::string_view name, const backend::SetAttributes& attrs,
                                  Callback<backend::EntryResult> done) {
  pb::MakeDirectoryRequest req;
  req.set_parent(parent);
  req.set_name(std::string(name));
  *req.mutable_attributes() = ToProto(attrs);
  Rpc::Call<backend::EntryResult>(
      *this, ctx, &Stub::async::MakeDirectory, std::move(req),
      [](const pb::EntryResult& e) { return FromProto(e); }, std::move(done));
}

void RemoteBackend::MakeSymlink(const RequestContext& ctx, InodeNumber parent,
                                absl::string_view name, absl::string_view target,
                                const backend::SetAttributes& attrs,
                                Callback<backend::EntryResult> done) {
  pb::MakeSymlinkRequest req;
  req.set_parent(parent);
  req.set_name(std::string(name));
  req.set_target(std::string(target));
  *req.mutable_attributes() = ToProto(attrs);
  Rpc::Call<backend::EntryResult>(
      *this, ctx, &Stub::async::MakeSymlink, std::move(req),
      [](const pb::EntryResult& e) { return FromProto(e); }, std::move(done));
}

void RemoteBackend::MakeNode(const RequestContext& ctx, InodeNumber parent, absl::string_view name,
                             backend::FileType type, uint32_t rdev_major, uint32_t rdev_minor,
                             const backend::SetAttributes& attrs,
                             Callback<backend::EntryResult> done) {
  pb::MakeNodeRequest req;
  req.set_parent(parent);
  req.set_name(std::string(name));
  req.set_type(static_cast<uint32_t>(type));
  req.set_rdev_major(rdev_major);
  req.set_rdev_minor(rdev_minor);
  *req.mutable_attributes() = ToProto(attrs);
  Rpc::Call<backend::EntryResult>(
      *this, ctx, &Stub::async::MakeNode, std::move(req),
      [](const pb::EntryResult& e) { return FromProto(e); }, std::move(done));
}

void RemoteBackend::ReadLink(const RequestContext& ctx, InodeNumber inode,
                             Callback<std::string> done) {
  pb::InodeRequest req;
  req.set_inode(inode);
  Rpc::Call<std::string>(
      *this, ctx, &Stub::async::ReadLink, std::move(req),
      [](const pb::ReadLinkResponse& r) { return r.target(); }, std::move(done));
}

void RemoteBackend::Link(const RequestContext& ctx, InodeNumber inode, InodeNumber dir,
                         absl::string_view name, Callback<backend::EntryResult> done) {
  pb::LinkRequest req;
  req.set_inode(inode);
  req.set_dir(dir);
  req.set_name(std::string(name));
  Rpc::Call<backend::EntryResult>(
      *this, ctx, &Stub::async::Link, std::move(req),
      [](const pb::EntryResult& e) { return FromProto(e); }, std::move(done));
}

void RemoteBackend::Unlink(const RequestContext& ctx, InodeNumber dir, absl::string_view name,
                           Callback<backend::DirChange> done) {
  // The inode the name leads to, so its bytes can be reclaimed once it is gone.
  std::string entry(name);
  Lookup(ctx, dir, entry,
         [this, ctx, dir, entry,
          done = std::move(done)](absl::StatusOr<backend::Attributes> target) mutable {
           InodeNumber gone =
               target.ok() && target->type == backend::FileType::kRegular ? target->inode : 0;
           pb::NameRequest req;
           req.set_dir(dir);
           req.set_name(entry);
           Rpc::Call<backend::DirChange>(
               *this, ctx, &Stub::async::Unlink, std::move(req),
               [](const pb::AttrChange& c) { return FromProto(c); },
               [this, gone,
                done = std::move(done)](absl::StatusOr<backend::DirChange> change) mutable {
                 if (change.ok() && gone != 0) ReclaimIfFreed(gone);
                 std::move(done)(std::move(change));
               });
         });
}

void RemoteBackend::RemoveDirectory(const RequestContext& ctx, InodeNumber dir,
                                    absl::string_view name, Callback<backend::DirChange> done) {
  pb::NameRequest req;
  req.set_dir(dir);
  req.set_name(std::string(name));
  Rpc::Call<backend::DirChange>(
      *this, ctx, &Stub::async::RemoveDirectory, std::move(req),
      [](const pb::AttrChange& c) { return FromProto(c); }, std::move(done));
}

void RemoteBackend::Rename(const RequestContext& ctx, InodeNumber from_dir,
                           absl::string_view from_name, InodeNumber to_dir,
                           absl::string_view to_name, Callback<backend::RenameResult> done) {
  pb::RenameRequest req;
  req.set_from_dir(from_dir);
  req.set_from_name(std::string(from_name));
  req.set_to_dir(to_dir);
  req.set_to_name(std::string(to_name));
  // A replaced target file may be freed by the rename: its bytes are reclaimed then.
  Lookup(ctx, to_dir, to_name,
         [this, ctx, req = std::move(req),
          done = std::move(done)](absl::StatusOr<backend::Attributes> target) mutable {
           InodeNumber replaced =
               target.ok() && target->type == backend::FileType::kRegular ? target->inode : 0;
           Rpc::Call<backend::RenameResult>(
               *this, ctx, &Stub::async::Rename, std::move(req),
               [](const pb::RenameResponse& r) {
                 return backend::RenameResult{FromProto(r.from_dir()), FromProto(r.to_dir())};
               },
               [this, replaced,
                done = std::move(done)](absl::StatusOr<backend::RenameResult> result) mutable {
                 if (result.ok() && replaced != 0) ReclaimIfFreed(replaced);
                 std::move(done)(std::move(result));
               });
         });
}

void RemoteBackend::ReadDir(const RequestContext& ctx, InodeNumber dir, uint64_t cookie,
                            uint64_t verifier, size_t max_entries, bool with_attributes,
                            Callback<backend::ReadDirResult> done) {
  pb::ReadDirRequest req;
  req.set_dir(dir);
  req.set_cookie(cookie);
  req.set_verifier(verifier);
  req.set_max_entries(max_entries);
  req.set_with_attributes(with_attributes);
  Rpc::Call<backend::ReadDirResult>(
      *this, ctx, &Stub::async::ReadDir, std::move(req),
      [](const pb::ReadDirResponse& r) { return FromProto(r); }, std::move(done));
}

void RemoteBackend::FsStat(const RequestContext& ctx, InodeNumber inode,
                           Callback<backend::FsStatResult> done) {
  // Files and the root's attributes come from A2; bytes are the data nodes' file systems (a
  // STAT to each, at the same time), each file system counted once however many nodes share it.
  struct State {
    Fanout fan;
    backend::FsStatResult result;
    std::vector<a4::Response> nodes;
    Callback<backend::FsStatResult> done;
  };
  auto state = std::make_shared<State>();
  state->fan.left = nodes_.size() + 1;
  state->nodes.resize(nodes_.size());
  state->done = std::move(done);
  auto finish = [state] {
    if (!state->fan.first_error.ok()) return std::move(state->done)(state->fan.first_error);
    backend::FsStatResult& out = state->result;
    out.total_bytes = out.free_bytes = out.available_bytes = 0;
    std::set<std::pair<uint64_t, uint64_t>> counted;  // (file system id, its size)
    for (const a4::Response& node : state->nodes) {
      if (!counted.insert({node.filesystem_id, node.total_bytes}).second) continue;
      out.total_bytes += node.total_bytes;
      out.free_bytes += node.free_bytes;
      out.available_bytes += node.available_bytes;
    }
    std::move(state->done)(std::move(out));
  };
  pb::InodeRequest req;
  req.set_inode(inode);
  Rpc::Call<backend::FsStatResult>(
      *this, ctx, &Stub::async::FsStat, std::move(req),
      [](const pb::FsStatResponse& r) { return FromProto(r); },
      [state, finish](absl::StatusOr<backend::FsStatResult> r) {
        if (r.ok()) {
          state->result = std::move(*r);
        } else {
          state->fan.Fail(r.status());
        }
        if (state->fan.Done()) finish();
      });
  absl::Time deadline = DeadlineFor(ctx);
  for (size_t n = 0; n < nodes_.size(); ++n) {
    a4::Request stat;
    stat.op = a4::Op::kStat;
    CallNode(n, stat, nullptr, deadline, [state, finish, n](absl::StatusOr<A4Reply> r) {
      if (!r.ok()) {
        state->fan.Fail(r.status());
      } else if (!r->response.status.ok()) {
        state->fan.Fail(r->response.status);
      } else {
        state->nodes[n] = r->response;  // written before Done(), read after the last Done()
      }
      if (state->fan.Done()) finish();
    });
  }
}

void RemoteBackend::GetXattr(const RequestContext& ctx, InodeNumber inode, absl::string_view name,
                             Callback<std::string> done) {
  pb::XattrRequest req;
  req.set_inode(inode);
  req.set_name(std::string(name));
  Rpc::Call<std::string>(
      *this, ctx, &Stub::async::GetXattr, std::move(req),
      [](const pb::XattrValue& v) { return v.value(); }, std::move(done));
}

void RemoteBackend::SetXattr(const RequestContext& ctx, InodeNumber inode, absl::string_view name,
                             absl::string_view value, backend::XattrSetMode mode,
                             Callback<backend::Done> done) {
  pb::XattrRequest req;
  req.set_inode(inode);
  req.set_name(std::string(name));
  req.set_value(std::string(value));
  req.set_mode(static_cast<uint32_t>(mode));
  Rpc::Call<backend::Done>(
      *this, ctx, &Stub::async::SetXattr, std::move(req),
      [](const pb::Empty&) { return backend::Done{}; }, std::move(done));
}

void RemoteBackend::ListXattrs(const RequestContext& ctx, InodeNumber inode,
                               Callback<std::vector<std::string>> done) {
  pb::InodeRequest req;
  req.set_inode(inode);
  Rpc::Call<std::vector<std::string>>(
      *this, ctx, &Stub::async::ListXattrs, std::move(req),
      [](const pb::XattrNames& n) {
        return std::vector<std::string>(n.names().begin(), n.names().end());
      },
      std::move(done));
}

void RemoteBackend::RemoveXattr(const RequestContext& ctx, InodeNumber inode,
                                absl::string_view name, Callback<backend::Done> done) {
  pb::XattrRequest req;
  req.set_inode(inode);
  req.set_name(std::string(name));
  Rpc::Call<backend::Done>(
      *this, ctx, &Stub::async::RemoveXattr, std::move(req),
      [](const pb::Empty&) { return backend::Done{}; }, std::move(done));
}

void RemoteBackend::Open(const RequestContext& ctx, InodeNumber inode,
                         Callback<backend::Done> done) {
  pb::InodeRequest req;
  req.set_inode(inode);
  Rpc::Call<backend::Done>(
      *this, ctx, &Stub::async::Open, std::move(req),
      [](const pb::Empty&) { return backend::Done{}; }, std::move(done));
}

void RemoteBackend::Release(const RequestContext& ctx, InodeNumber inode,
                            Callback<backend::Done> done) {
  pb::InodeRequest req;
  req.set_inode(inode);
  Rpc::Call<backend::Done>(
      *this, ctx, &Stub::async::Release, std::move(req),
      [](const pb::Empty&) { return backend::Done{}; },
      [this, inode, done = std::move(done)](absl::StatusOr<backend::Done> r) mutable {
        if (r.ok()) ReclaimIfFreed(inode);
        std::move(done)(std::move(r));
      });
}

void RemoteBackend::ReclaimIfFreed(InodeNumber inode) {
  RequestContext root =
      RequestContext::WithTimeout(backend::Identity::Root(), options_.operation_timeout);
  GetAttr(root, inode, [this, inode, root](absl::StatusOr<backend::Attributes> attrs) {
    if (attrs.ok() || backend::GetFsError(attrs.status()) != backend::FsError::kStale) return;
    a4::Request remove;
    remove.op = a4::Op::kRemove;
    remove.inode = inode;
    // Best effort: bytes left by a failure here are unreachable (inode numbers are never
    // reused), they only hold space.
    CallAllNodes(remove, DeadlineFor(root), [](absl::Status) {});
  });
}

// ---- the extent map: placement from A2, holes from each data node ----

void RemoteBackend::GetExtentMap(const RequestContext& ctx, InodeNumber inode, uint64_t offset,
                                 uint64_t length, Callback<std::vector<backend::Extent>> done) {
  pb::ExtentMapRequest req;
  req.set_inode(inode);
  req.set_offset(offset);
  req.set_length(length);
  Rpc::Call<std::vector<backend::Extent>>(
      *this, ctx, &Stub::async::GetExtentMap, std::move(req),
      [](const pb::ExtentMapResponse& r) {
        std::vector<backend::Extent> out;
        for (const pb::Extent& e : r.extents()) {
          out.push_back(backend::Extent{e.offset(), e.length(), e.hole(), e.data_server()});
        }
        return out;
      },
      [this, ctx, inode,
       done = std::move(done)](absl::StatusOr<std::vector<backend::Extent>> placed) mutable {
        if (!placed.ok() || placed->empty()) {
          std::move(done)(std::move(placed));
          return;
        }
        // One MAP per data node over the whole range (its local file holds only its own
        // stripes, at their file offsets); each piece then keeps its node's data ranges.
        struct State {
          Fanout fan;
          std::vector<std::vector<a4::DataRange>> ranges;  // per node, ascending
          std::vector<backend::Extent> placed;
          Callback<std::vector<backend::Extent>> done;
        };
        auto state = std::make_shared<State>();
        state->placed = std::move(*placed);
        state->done = std::move(done);
        state->ranges.resize(nodes_.size());
        state->fan.left = nodes_.size();
        uint64_t from = state->placed.front().offset;
        uint64_t to = state->placed.back().offset + state->placed.back().length;
        absl::Time deadline = DeadlineFor(ctx);
        auto finish = [this, state]() {
          if (!state->fan.first_error.ok()) {
            std::move(state->done)(state->fan.first_error);
            return;
          }
          std::vector<backend::Extent> out;
          auto add = [&out](uint64_t off, uint64_t len, bool hole, const std::string& server) {
            if (len == 0) return;
            if (!out.empty() && out.back().hole == hole &&
                out.back().data_server == (hole ? "" : server) &&
                out.back().offset + out.back().length == off) {
              out.back().length += len;
              return;
            }
            out.push_back(backend::Extent{off, len, hole, hole ? "" : server});
          };
          std::vector<size_t> cursor(nodes_.size(), 0);
          for (const backend::Extent& p : state->placed) {
            size_t node = nodes_.size();
            for (size_t n = 0; n < nodes_.size(); ++n) {
              if (layout_servers_[n] == p.data_server) node = n;
            }
            uint64_t at = p.offset;
            uint64_t end = p.offset + p.length;
            if (node < nodes_.size()) {
              const std::vector<a4::DataRange>& rs = state->ranges[node];
              size_t& i = cursor[node];
              while (i < rs.size() && rs[i].offset + rs[i].length <= at) ++i;
              for (size_t k = i; k < rs.size() && rs[k].offset < end; ++k) {
                uint64_t a = std::max(rs[k].offset, at);
                uint64_t b = std::min(rs[k].offset + rs[k].length, end);
                if (a >= b) continue;
                add(at, a - at, true, p.data_server);
                add(a, b - a, false, p.data_server);
                at = b;
              }
            }
            add(at, end - at, true, p.data_server);
          }
          std::move(state->done)(std::move(out));
        };
        for (size_t n = 0; n < nodes_.size(); ++n)
          MapNode(n, inode, from, to, deadline, state->ranges[n], [state, finish](absl::Status s) {
            if (!s.ok()) state->fan.Fail(s);
            if (state->fan.Done()) finish();
          });
      });
}

void RemoteBackend::MapNode(size_t node, InodeNumber inode, uint64_t from, uint64_t to,
                            absl::Time deadline, std::vector<a4::DataRange>& out,
                            absl::AnyInvocable<void(absl::Status) &&> done) {
  a4::Request map;
  map.op = a4::Op::kMap;
  map.inode = inode;
  map.offset = from;
  map.length = to - from;
  auto finish = std::make_shared<absl::AnyInvocable<void(absl::Status) &&>>(std::move(done));
  CallNode(node, map, nullptr, deadline,
           [this, node, inode, to, deadline, &out, finish](absl::StatusOr<A4Reply> r) {
             if (!r.ok()) return std::move(*finish)(r.status());
             if (!r->response.status.ok()) return std::move(*finish)(r->response.status);
             std::vector<a4::DataRange>& got = r->response.ranges;
             out.insert(out.end(), got.begin(), got.end());
             if (got.size() < a4::kMaxRanges) return std::move(*finish)(absl::OkStatus());
             // A full answer: ask again after its last range.
             uint64_t next = got.back().offset + got.back().length;
             if (next >= to) return std::move(*finish)(absl::OkStatus());
             MapNode(node, inode, next, to, deadline, out,
                     [finish](absl::Status s) { std::move (*finish)(s); });
           });
}

// ---- data ----

void RemoteBackend::Read(const RequestContext& ctx, InodeNumber inode, uint64_t offset,
                         uint64_t count, Callback<backend::ReadResult> done) {
  // The attributes (type, permission, size) and the bytes are asked for at once, so a READ
  // costs one round trip's latency rather than two. The bytes of a read the attributes refuse
  // are dropped unseen; a failed piece only matters where it overlaps the file.
  struct State {
    Fanout fan;
    absl::StatusOr<backend::Attributes> attrs;
    std::vector<Piece> pieces;
    std::vector<absl::Status> piece_status;
    std::string data;  // `count` bytes: holes and short stripes read as zeros
    Callback<backend::ReadResult> done;
  };
  auto state = std::make_shared<State>();
  state->done = std::move(done);
  if (count > 0) state->pieces = Place(inode, offset, count, stripe_size_, nodes_.size());
  state->piece_status.resize(state->pieces.size());
  state->data.assign(count, '\0');
  state->fan.left = state->pieces.size() + 1;
  auto finish = [state, ctx, offset, count]() {
    if (!state->attrs.ok()) return std::move(state->done)(state->attrs.status());
    const backend::Attributes& attrs = *state->attrs;
    absl::Status invalid;
    if (!ValidForData(attrs, &invalid)) return std::move(state->done)(invalid);
    if (!auth::MayAccessData(ctx.identity, attrs, backend::kAccessRead, ctx.owner_override)) {
      return std::move(state->done)(
          backend::FsErrorStatus(backend::FsError::kAccess, "no read permission"));
    }
    backend::ReadResult result;
    result.attributes = attrs;
    if (offset >= attrs.size || count == 0) {
      result.eof = offset >= attrs.size;
      return std::move(state->done)(std::move(result));
    }
    uint64_t n = std::min(count, attrs.size - offset);
    for (size_t i = 0; i < state->pieces.size(); ++i) {
      if (!state->piece_status[i].ok() && state->pieces[i].offset < offset + n) {
        return std::move(state->done)(state->piece_status[i]);
      }
    }
    state->data.resize(n);
    result.data = std::move(state->data);
    result.eof = offset + n >= attrs.size;
    std::move(state->done)(std::move(result));
  };
  GetAttr(ctx, inode, [state, finish](absl::StatusOr<backend::Attributes> attrs) mutable {
    state->attrs = std::move(attrs);
    if (state->fan.Done()) finish();
  });
  absl::Time deadline = DeadlineFor(ctx);
  for (size_t i = 0; i < state->pieces.size(); ++i) {
    const Piece& p = state->pieces[i];
    a4::Request read;
    read.op = a4::Op::kRead;
    read.inode = inode;
    read.offset = p.offset;
    read.length = p.length;
    uint64_t at = p.offset - offset;
    uint64_t len = p.length;
    CallNode(p.node, read, nullptr, deadline,
             [state, i, at, len, finish](absl::StatusOr<A4Reply> r) mutable {
               if (!r.ok()) {
                 state->piece_status[i] = r.status();
               } else if (!r->response.status.ok()) {
                 state->piece_status[i] = r->response.status;
               } else {
                 absl::string_view bytes = r->response.data;
                 std::memcpy(state->data.data() + at, bytes.data(),
                             std::min<uint64_t>(bytes.size(), len));
               }
               if (state->fan.Done()) finish();
             });
  }
}

void RemoteBackend::Write(const RequestContext& ctx, InodeNumber inode, uint64_t offset,
                          Buffer bytes, backend::Stability stability,
                          Callback<backend::WriteResult> done) {
  // An A4 write frame carries one contiguous data part: a chain is joined here, once (an NFS
  // WRITE is one slice of its record already, so it is not copied).
  auto held = std::make_shared<Buffer>(std::move(bytes));
  absl::string_view data = held->Flatten();
  std::shared_ptr<const void> keep_alive = std::move(held);
  GetAttr(
      ctx, inode,
      [this, ctx, inode, offset, keep_alive = std::move(keep_alive), data, stability,
       done = std::move(done)](absl::StatusOr<backend::Attributes> attrs) mutable {
        if (!attrs.ok()) return std::move(done)(attrs.status());
        absl::Status invalid;
        if (!ValidForData(*attrs, &invalid)) return std::move(done)(invalid);
        if (!auth::MayAccessData(ctx.identity, *attrs, backend::kAccessWrite, ctx.owner_override)) {
          return std::move(done)(
              backend::FsErrorStatus(backend::FsError::kAccess, "no write permission"));
        }
        if (offset + data.size() < offset) {
          return std::move(done)(
              backend::FsErrorStatus(backend::FsError::kTooBig, "offset overflows"));
        }
        WritePieces(ctx, inode, offset, std::move(keep_alive), data, stability, std::move(done));
      });
}

void RemoteBackend::WritePieces(const RequestContext& ctx, InodeNumber inode, uint64_t offset,
                                std::shared_ptr<const void> keep_alive, absl::string_view data,
                                backend::Stability stability, Callback<backend::WriteResult> done) {
  struct State {
    Fanout fan;
    Callback<backend::WriteResult> done;
  };
  auto state = std::make_shared<State>();
  state->done = std::move(done);
  uint64_t end = offset + data.size();
  auto noted = [this, ctx, inode, end, stability, count = data.size(), state]() {
    if (!state->fan.first_error.ok()) {
      std::move(state->done)(state->fan.first_error);
      return;
    }
    pb::NoteWriteRequest req;
    req.set_inode(inode);
    req.set_end(end);
    req.set_sync(stability != backend::Stability::kUnstable);
    Rpc::Call<backend::AttrChange>(
        *this, ctx, &Stub::async::NoteWrite, std::move(req),
        [](const pb::AttrChange& c) { return FromProto(c); },
        [this, count, stability, state](absl::StatusOr<backend::AttrChange> change) {
          if (!change.ok()) return std::move(state->done)(change.status());
          backend::WriteResult result;
          result.count = count;
          result.committed = stability;
          result.verifier = CurrentWriteVerifier();
          result.attributes = std::move(*change);
          std::move(state->done)(std::move(result));
        });
  };
  if (data.empty()) {
    state->fan.left = 1;
    state->fan.Done();
    noted();
    return;
  }
  std::vector<Piece> pieces = Place(inode, offset, data.size(), stripe_size_, nodes_.size());
  state->fan.left = pieces.size();
  absl::Time deadline = DeadlineFor(ctx);
  for (const Piece& p : pieces) {
    a4::Request write;
    write.op = a4::Op::kWrite;
    write.inode = inode;
    write.offset = p.offset;
    write.stability = stability;
    write.data = data.substr(p.offset - offset, p.length);
    size_t node = p.node;
    CallNode(node, write, keep_alive, deadline,
             [this, node, state, noted](absl::StatusOr<A4Reply> r) {
               if (!r.ok()) {
                 state->fan.Fail(r.status());
               } else if (!r->response.status.ok()) {
                 state->fan.Fail(r->response.status);
               } else {
                 NoteVerifier(node, r->response.verifier);
               }
               if (state->fan.Done()) noted();
             });
  }
}

void RemoteBackend::Commit(const RequestContext& ctx, InodeNumber inode, uint64_t offset,
                           uint64_t count, Callback<backend::CommitResult> done) {
  GetAttr(ctx, inode,
          [this, ctx, inode,
           done = std::move(done)](absl::StatusOr<backend::Attributes> attrs) mutable {
            if (!attrs.ok()) return std::move(done)(attrs.status());
            absl::Status invalid;
            if (!ValidForData(*attrs, &invalid)) return std::move(done)(invalid);
            a4::Request commit;
            commit.op = a4::Op::kCommit;
            commit.inode = inode;
            backend::Attributes after = *attrs;
            CallAllNodes(commit, DeadlineFor(ctx),
                         [this, after, done = std::move(done)](absl::Status s) mutable {
                           if (!s.ok()) return std::move(done)(s);
                           backend::CommitResult result;
                           result.verifier = CurrentWriteVerifier();
                           result.attributes = backend::AttrChange{after, after};
                           std::move(done)(std::move(result));
                         });
          });
}

}  // namespace cfs::remote
