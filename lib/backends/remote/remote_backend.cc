#include "lib/backends/remote/remote_backend.h"

#include <algorithm>
#include <cstring>
#include <future>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/auth/posix_permissions.h"
#include "lib/backend/errors.h"
#include "lib/backends/remote/a2_convert.h"
#include "lib/backends/remote/placement.h"

namespace cfs::remote {

using backend::Callback;
using backend::InodeNumber;
using backend::RequestContext;
using Stub = ::cfs::a2::v1::MetadataService::Stub;

// The channels to one data node: a few connections, the least busy one used for each call, a
// broken one replaced on the next call. (The pool with bounds, idle reaping and health checks
// that replaces this is lib/resilience's.)
class RemoteBackend::DataNodeLink {
 public:
  DataNodeLink(std::string address, A4Transport& transport, size_t connections,
               absl::Duration connect_timeout)
      : address_(std::move(address)),
        transport_(transport),
        connect_timeout_(connect_timeout),
        channels_(connections) {}

  const std::string& address() const { return address_; }
  std::atomic<uint64_t>& verifier() { return verifier_; }

  // A usable channel, connecting one if needed. Errors: those of the transport's Connect.
  absl::StatusOr<A4Channel*> Pick() {
    std::lock_guard<std::mutex> lock(mu_);
    A4Channel* best = nullptr;
    for (std::shared_ptr<A4Channel>& ch : channels_) {
      if (ch != nullptr && ch->Broken()) {
        retired_.push_back(std::move(ch));  // closed later, never inside its own callback
        ch = nullptr;
      }
      if (ch == nullptr) continue;
      if (best == nullptr || ch->InFlight() < best->InFlight()) best = ch.get();
    }
    if (best != nullptr && best->InFlight() == 0) return best;
    for (std::shared_ptr<A4Channel>& ch : channels_) {
      if (ch != nullptr) continue;
      absl::StatusOr<std::unique_ptr<A4Channel>> fresh =
          transport_.Connect(address_, absl::Now() + connect_timeout_);
      if (!fresh.ok()) {
        if (best != nullptr) return best;
        return fresh.status();
      }
      ch = std::move(*fresh);
      return ch.get();
    }
    if (best == nullptr) return absl::UnavailableError("no A4 connection to " + address_);
    return best;
  }

  void CloseAll() {
    std::lock_guard<std::mutex> lock(mu_);
    for (std::shared_ptr<A4Channel>& ch : channels_) {
      if (ch != nullptr) ch->Close();
    }
  }

  bool AnyUsable() const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::shared_ptr<A4Channel>& ch : channels_) {
      if (ch != nullptr && !ch->Broken()) return true;
    }
    return false;
  }

 private:
  const std::string address_;
  A4Transport& transport_;
  const absl::Duration connect_timeout_;
  std::atomic<uint64_t> verifier_{0};
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<A4Channel>> channels_;  // guarded by mu_
  std::vector<std::shared_ptr<A4Channel>> retired_;   // guarded by mu_
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
    (backend.stub_->async()->*method)(&state->client, &state->request, &state->response,
                                      [state, convert](grpc::Status status) mutable {
                                        if (!status.ok()) {
                                          std::move(state->done)(FromGrpc(status));
                                        } else {
                                          std::move(state->done)(convert(state->response));
                                        }
                                      });
  }
};

RemoteBackend::RemoteBackend(RemoteBackendOptions options) : options_(std::move(options)) {}

RemoteBackend::~RemoteBackend() { (void)Shutdown(absl::Now()); }

absl::StatusOr<std::unique_ptr<RemoteBackend>> RemoteBackend::Connect(
    RemoteBackendOptions options) {
  if (options.metadata_address.empty() || options.transport == nullptr ||
      options.connections_per_node == 0) {
    return absl::InvalidArgumentError(
        "remote backend: a metadata address, a transport and at least one connection per node "
        "are required");
  }
  std::unique_ptr<RemoteBackend> backend(new RemoteBackend(std::move(options)));
  if (absl::Status s = backend->Start(); !s.ok()) return s;
  return backend;
}

absl::Status RemoteBackend::Start() {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  channel_ = grpc::CreateCustomChannel(options_.metadata_address,
                                       grpc::InsecureChannelCredentials(), args);
  stub_ = ::cfs::a2::v1::MetadataService::NewStub(channel_);
  grpc::ClientContext client;
  client.set_deadline(absl::ToChronoTime(absl::Now() + options_.connect_timeout));
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
  for (const std::string& address : layout.data_servers()) {
    nodes_.push_back(std::make_unique<DataNodeLink>(
        address, *options_.transport, options_.connections_per_node, options_.connect_timeout));
  }
  // Every data node must answer a PING now: it gives each one's boot verifier.
  for (size_t i = 0; i < nodes_.size(); ++i) {
    a4::Request ping;
    ping.op = a4::Op::kPing;
    std::promise<absl::StatusOr<A4Reply>> reply;
    CallNode(i, ping, nullptr, absl::Now() + options_.connect_timeout,
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
    if (!node->AnyUsable()) return absl::UnavailableError("no connection to " + node->address());
  }
  return absl::OkStatus();
}

absl::Status RemoteBackend::Shutdown(absl::Time deadline) {
  if (shut_down_.exchange(true)) return absl::OkStatus();
  for (auto& node : nodes_) node->CloseAll();
  return absl::OkStatus();
}

absl::Time RemoteBackend::DeadlineFor(const RequestContext& ctx) const {
  return std::min(ctx.deadline, absl::Now() + options_.operation_timeout);
}

void RemoteBackend::CallNode(size_t node, a4::Request request,
                             std::shared_ptr<const void> keep_alive, absl::Time deadline,
                             A4Done done) {
  if (shut_down_.load()) {
    std::move(done)(absl::UnavailableError("remote backend is shut down"));
    return;
  }
  absl::StatusOr<A4Channel*> channel = nodes_[node]->Pick();
  if (!channel.ok()) {
    std::move(done)(absl::UnavailableError(absl::StrCat(
        "data node ", nodes_[node]->address(), " unreachable: ", channel.status().message())));
    return;
  }
  absl::Duration left = deadline - absl::Now();
  request.timeout_ms = static_cast<uint32_t>(
      std::clamp<int64_t>(absl::ToInt64Milliseconds(left), 1, int64_t{1} << 31));
  (*channel)->Call(std::move(request), std::move(keep_alive), deadline, std::move(done));
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
  // A size change also moves the data: bytes past the smaller of the two sizes are cut from the
  // data nodes (before a grow, so no stale byte reappears; after a shrink, once it is decided).
  uint64_t new_size = *attrs.size;
  GetAttr(ctx, inode,
          [this, ctx, inode, new_size, set_metadata = std::move(set_metadata),
           done = std::move(done)](absl::StatusOr<backend::Attributes> before) mutable {
            if (!before.ok() || before->type != backend::FileType::kRegular) {
              set_metadata(std::move(done));  // the metadata node gives the right error
              return;
            }
            a4::Request cut;
            cut.op = a4::Op::kTruncate;
            cut.inode = inode;
            cut.length = std::min(new_size, before->size);
            absl::Time deadline = DeadlineFor(ctx);
            if (new_size > before->size) {
              if (!auth::MayAccess(ctx.identity, *before, backend::kAccessWrite)) {
                set_metadata(std::move(done));  // refused there, with kAccess
                return;
              }
              CallAllNodes(cut, deadline,
                           [set_metadata = std::move(set_metadata),
                            done = std::move(done)](absl::Status s) mutable {
                             if (!s.ok()) {
                               std::move(done)(s);
                               return;
                             }
                             set_metadata(std::move(done));
                           });
              return;
            }
            set_metadata([this, cut, deadline, done = std::move(done)](
                             absl::StatusOr<backend::AttrChange> change) mutable {
              if (!change.ok()) {
                std::move(done)(change.status());
                return;
              }
              CallAllNodes(
                  cut, deadline,
                  [change = std::move(change), done = std::move(done)](absl::Status s) mutable {
                    if (!s.ok()) {
                      std::move(done)(s);
                    } else {
                      std::move(done)(std::move(change));
                    }
                  });
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
  // Creating over an existing file may truncate it (attributes.size): its bytes go too.
  bool truncates = request.attributes.size.has_value();
  uint64_t size = request.attributes.size.value_or(0);
  Rpc::Call<backend::EntryResult>(
      *this, ctx, &Stub::async::Create, std::move(req),
      [](const pb::EntryResult& e) { return FromProto(e); },
      [this, ctx, truncates, size,
       done = std::move(done)](absl::StatusOr<backend::EntryResult> entry) mutable {
        if (!entry.ok() || !truncates) {
          std::move(done)(std::move(entry));
          return;
        }
        a4::Request cut;
        cut.op = a4::Op::kTruncate;
        cut.inode = entry->attributes.inode;
        cut.length = size;
        CallAllNodes(cut, DeadlineFor(ctx),
                     [entry = std::move(entry), done = std::move(done)](absl::Status s) mutable {
                       if (!s.ok()) {
                         std::move(done)(s);
                       } else {
                         std::move(done)(std::move(entry));
                       }
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
  pb::InodeRequest req;
  req.set_inode(inode);
  Rpc::Call<backend::FsStatResult>(
      *this, ctx, &Stub::async::FsStat, std::move(req),
      [](const pb::FsStatResponse& r) { return FromProto(r); }, std::move(done));
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
        // Ask each piece's node which of its bytes hold data; the rest are holes.
        struct State {
          Fanout fan;
          std::vector<std::vector<a4::DataRange>> data;
          std::vector<backend::Extent> placed;
          Callback<std::vector<backend::Extent>> done;
        };
        auto state = std::make_shared<State>();
        state->fan.left = placed->size();
        state->data.resize(placed->size());
        state->placed = std::move(*placed);
        state->done = std::move(done);
        absl::Time deadline = DeadlineFor(ctx);
        for (size_t i = 0; i < state->placed.size(); ++i) {
          const backend::Extent& piece = state->placed[i];
          size_t node = nodes_.size();
          for (size_t n = 0; n < nodes_.size(); ++n) {
            if (nodes_[n]->address() == piece.data_server) node = n;
          }
          auto finish_one = [state, i](absl::Status s, std::vector<a4::DataRange> ranges) {
            if (!s.ok()) state->fan.Fail(s);
            state->data[i] = std::move(ranges);
            if (!state->fan.Done()) return;
            if (!state->fan.first_error.ok()) {
              std::move(state->done)(state->fan.first_error);
              return;
            }
            std::vector<backend::Extent> out;
            auto add = [&out](uint64_t off, uint64_t len, bool hole, const std::string& server) {
              if (len == 0) return;
              if (!out.empty() && out.back().hole == hole && out.back().data_server == server &&
                  out.back().offset + out.back().length == off) {
                out.back().length += len;
                return;
              }
              out.push_back(backend::Extent{off, len, hole, hole ? "" : server});
            };
            for (size_t k = 0; k < state->placed.size(); ++k) {
              const backend::Extent& p = state->placed[k];
              uint64_t at = p.offset;
              uint64_t end = p.offset + p.length;
              for (const a4::DataRange& r : state->data[k]) {
                uint64_t from = std::max(r.offset, at);
                uint64_t to = std::min(r.offset + r.length, end);
                if (from >= to) continue;
                add(at, from - at, true, p.data_server);
                add(from, to - from, false, p.data_server);
                at = to;
              }
              add(at, end - at, true, p.data_server);
            }
            std::move(state->done)(std::move(out));
          };
          if (node == nodes_.size()) {
            finish_one(absl::InternalError("extent on an unknown data node " + piece.data_server),
                       {});
            continue;
          }
          a4::Request map;
          map.op = a4::Op::kMap;
          map.inode = inode;
          map.offset = piece.offset;
          map.length = piece.length;
          CallNode(node, map, nullptr, deadline, [finish_one](absl::StatusOr<A4Reply> r) mutable {
            if (!r.ok()) return finish_one(r.status(), {});
            if (!r->response.status.ok()) return finish_one(r->response.status, {});
            finish_one(absl::OkStatus(), std::move(r->response.ranges));
          });
        }
      });
}

// ---- data ----

void RemoteBackend::Read(const RequestContext& ctx, InodeNumber inode, uint64_t offset,
                         uint64_t count, Callback<backend::ReadResult> done) {
  GetAttr(ctx, inode,
          [this, ctx, inode, offset, count,
           done = std::move(done)](absl::StatusOr<backend::Attributes> attrs) mutable {
            if (!attrs.ok()) return std::move(done)(attrs.status());
            absl::Status invalid;
            if (!ValidForData(*attrs, &invalid)) return std::move(done)(invalid);
            if (!auth::MayAccess(ctx.identity, *attrs, backend::kAccessRead)) {
              return std::move(done)(
                  backend::FsErrorStatus(backend::FsError::kAccess, "no read permission"));
            }
            backend::ReadResult result;
            result.attributes = *attrs;
            if (offset >= attrs->size || count == 0) {
              result.eof = offset >= attrs->size;
              return std::move(done)(std::move(result));
            }
            uint64_t n = std::min(count, attrs->size - offset);
            result.eof = offset + n >= attrs->size;
            struct State {
              Fanout fan;
              backend::ReadResult result;
              Callback<backend::ReadResult> done;
            };
            auto state = std::make_shared<State>();
            state->result = std::move(result);
            state->result.data.assign(n, '\0');  // holes and short stripes read as zeros
            state->done = std::move(done);
            std::vector<Piece> pieces = Place(inode, offset, n, stripe_size_, nodes_.size());
            state->fan.left = pieces.size();
            absl::Time deadline = DeadlineFor(ctx);
            for (const Piece& p : pieces) {
              a4::Request read;
              read.op = a4::Op::kRead;
              read.inode = inode;
              read.offset = p.offset;
              read.length = p.length;
              uint64_t at = p.offset - offset;
              uint64_t len = p.length;
              CallNode(p.node, read, nullptr, deadline,
                       [state, at, len](absl::StatusOr<A4Reply> r) {
                         if (!r.ok()) {
                           state->fan.Fail(r.status());
                         } else if (!r->response.status.ok()) {
                           state->fan.Fail(r->response.status);
                         } else {
                           absl::string_view bytes = r->response.data;
                           std::memcpy(state->result.data.data() + at, bytes.data(),
                                       std::min<uint64_t>(bytes.size(), len));
                         }
                         if (!state->fan.Done()) return;
                         if (!state->fan.first_error.ok()) {
                           std::move(state->done)(state->fan.first_error);
                         } else {
                           std::move(state->done)(std::move(state->result));
                         }
                       });
            }
          });
}

void RemoteBackend::Write(const RequestContext& ctx, InodeNumber inode, uint64_t offset,
                          absl::string_view data, backend::Stability stability,
                          Callback<backend::WriteResult> done) {
  auto copy = std::make_shared<const std::string>(data);  // the caller's bytes may go away
  absl::string_view view = *copy;
  WriteRetained(ctx, inode, offset, std::move(copy), view, stability, std::move(done));
}

void RemoteBackend::WriteRetained(const RequestContext& ctx, InodeNumber inode, uint64_t offset,
                                  std::shared_ptr<const void> keep_alive, absl::string_view data,
                                  backend::Stability stability,
                                  Callback<backend::WriteResult> done) {
  GetAttr(ctx, inode,
          [this, ctx, inode, offset, keep_alive = std::move(keep_alive), data, stability,
           done = std::move(done)](absl::StatusOr<backend::Attributes> attrs) mutable {
            if (!attrs.ok()) return std::move(done)(attrs.status());
            absl::Status invalid;
            if (!ValidForData(*attrs, &invalid)) return std::move(done)(invalid);
            if (!auth::MayAccess(ctx.identity, *attrs, backend::kAccessWrite)) {
              return std::move(done)(
                  backend::FsErrorStatus(backend::FsError::kAccess, "no write permission"));
            }
            if (offset + data.size() < offset) {
              return std::move(done)(
                  backend::FsErrorStatus(backend::FsError::kTooBig, "offset overflows"));
            }
            if (offset <= attrs->size) {
              WritePieces(ctx, inode, offset, std::move(keep_alive), data, stability,
                          std::move(done));
              return;
            }
            // The write leaves a gap past the end: whatever lingers there on the data nodes
            // must read as zeros, so they are cut to the current size first.
            a4::Request cut;
            cut.op = a4::Op::kTruncate;
            cut.inode = inode;
            cut.length = attrs->size;
            CallAllNodes(cut, DeadlineFor(ctx),
                         [this, ctx, inode, offset, keep_alive = std::move(keep_alive), data,
                          stability, done = std::move(done)](absl::Status s) mutable {
                           if (!s.ok()) return std::move(done)(s);
                           WritePieces(ctx, inode, offset, std::move(keep_alive), data, stability,
                                       std::move(done));
                         });
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
