// CREATE of SmbConnection (MS-SMB2 3.3.5.9): opens and makes files and directories as a chain of
// backend callbacks (resolve the path ignoring case, look the entry up, read its DACL, break
// oplocks, truncate or create, open), durable reconnects, and the srvsvc pipe from memory. A
// named stream's CREATE continues in smb_stream_ops.cc.
#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "lib/backend/errors.h"
#include "lib/backend/sync_backend.h"
#include "lib/common/logging.h"
#include "lib/protocols/smb/le_bytes.h"
#include "lib/protocols/smb/nt_acl.h"
#include "lib/protocols/smb/ntstatus.h"
#include "lib/protocols/smb/smb2_durable.h"
#include "lib/protocols/smb/smb2_lease.h"
#include "lib/protocols/smb/smb_access.h"
#include "lib/protocols/smb/smb_connection.h"
#include "lib/protocols/smb/smb_create_helpers.h"
#include "lib/protocols/smb/smb_create_run.h"
#include "lib/protocols/smb/smb_info.h"
#include "lib/protocols/smb/smb_paths.h"
#include "lib/protocols/smb/smb_streams.h"

namespace cfs::smb {

namespace {

using namespace create;  // NOLINT: the dispositions, actions and options of CREATE

// Durable handles wait this long for a reconnect unless DH2Q asks for less (Windows: 60 s
// for DHnQ); a client may ask for up to five minutes.
constexpr uint32_t kDefaultDurableTimeoutMs = 60000;
constexpr uint32_t kMaxDurableTimeoutMs = 300000;

constexpr uint32_t kStatusBadImpersonation = 0xC00000A5;

bool Truncates(uint32_t disposition) {
  return disposition == kOverwrite || disposition == kOverwriteIf || disposition == kSupersede;
}

}  // namespace

std::optional<SmbResponse> SmbConnection::Create(SmbRequest& r, SmbLater later) {
  absl::StatusOr<CreateRequest> req = DecodeCreate(r.message);
  if (!req.ok()) return SmbResponse{nt::kInvalidParameter};
  auto run = std::make_shared<CreateRun>();
  run->r = &r;
  run->req = *std::move(req);
  std::shared_ptr<SmbConnection> self = shared_from_this();
  // Durable handles: a reconnect to one (DHnC, DH2C), or a request for one (DHnQ, DH2Q).
  for (const CreateContext& ctx : run->req.contexts) {
    if ((ctx.name == "DHnC" || ctx.name == "DH2C") && !r.tree->share->ipc()) {
      if (dialect_ < kDialect210) continue;
      // A reconnect ignores the request's other fields (MS-SMB2 3.3.5.9.7).
      absl::StatusOr<DurableReconnect> reconnect = DecodeDurableReconnect(ctx.name, ctx.data);
      if (!reconnect.ok()) return SmbResponse{nt::kInvalidParameter};
      run->later = std::move(later);
      ReconnectDurable(run, *reconnect, 0);
      return std::nullopt;
    }
    if (ctx.name == "DHnQ") run->durable_v1 = true;
    if (ctx.name == "DH2Q" && dialect_ >= kDialect300) {
      absl::StatusOr<DurableV2Request> v2 = DecodeDurableV2Request(ctx.data);
      if (!v2.ok()) return SmbResponse{nt::kInvalidParameter};
      run->durable_v2 = *v2;
    }
  }
  const CreateRequest& create = run->req;
  if (create.disposition > kOverwriteIf || create.impersonation_level > 3 ||
      ((create.options & kOptDirectory) && (create.options & kOptNonDirectory))) {
    return SmbResponse{create.impersonation_level > 3 ? kStatusBadImpersonation
                                                      : nt::kInvalidParameter};
  }
  run->open = std::make_shared<Open>();
  run->open->id = server_.state().NextOpenId();
  run->open->tree = r.tree;
  run->open->create_options = create.options;
  run->open->share_access = create.share_access;
  if (r.tree->share->ipc()) return CreatePipe(r, *run);

  if (run->durable_v1 && run->durable_v2.has_value()) return SmbResponse{nt::kInvalidParameter};
  if (absl::StartsWith(create.name, "\\")) return SmbResponse{nt::kInvalidParameter};
  if (uint32_t s = ParseSmbPath(create.name, &run->path); s != nt::kSuccess) {
    return SmbResponse{s};
  }
  run->later = std::move(later);
  ResolveParentAsync(server_.backend(), r.tree->ctx, r.tree->share->root, run->path,
                     [self, run](uint32_t status, ResolvedParent parent) {
                       if (status != nt::kSuccess) return run->later(SmbResponse{status});
                       run->parent = std::move(parent);
                       self->CreateResolved(run);
                     });
  return std::nullopt;
}

SmbResponse SmbConnection::CreatePipe(SmbRequest& r, CreateRun& run) {
  absl::string_view name = run.req.name;
  if (absl::StartsWith(name, "\\")) name.remove_prefix(1);
  if (!absl::EqualsIgnoreCase(name, "srvsvc")) return SmbResponse{nt::kObjectNameNotFound};
  std::vector<ShareListing> listing;
  for (const Share& share : *server_.shares()) {
    listing.push_back({share.name, share.ipc() ? 0x80000003u : 0u,
                       share.ipc() ? "IPC Service" : "ClaudeFS export " + share.export_->name});
  }
  Open& open = *run.open;
  open.pipe = std::make_unique<SrvsvcPipe>(server_.config().server_name, std::move(listing));
  open.granted_access = MapGenericRights(run.req.desired_access);
  open.path = "srvsvc";
  {
    std::lock_guard<std::mutex> lock(r.session->mu);
    r.session->opens[open.id] = run.open;
  }
  backend::Attributes none;
  none.type = backend::FileType::kRegular;
  none.mode = 0666;
  SmbResponse out;
  CreateResponse resp = ResponseFor(none, open.id, kActionOpened);
  resp.file_attributes = kAttrNormal;
  out.body = EncodeCreateResponse(resp);
  out.created = resp.file;
  return out;
}

void SmbConnection::CreateResolved(const std::shared_ptr<CreateRun>& run) {
  const CreateRequest& req = run->req;
  run->desired = MapGenericRights(req.desired_access);
  if (run->desired & access::kSystemSecurity) return run->later(SmbResponse{nt::kPrivilegeNotHeld});
  run->want_delete_on_close = (req.options & kOptDeleteOnClose) != 0;
  if (run->want_delete_on_close && !(run->desired & access::kDelete)) {
    return run->later(SmbResponse{nt::kInvalidParameter});
  }
  // A data stream is never a directory (MS-FSA 2.1.5.1).
  if ((run->path.data_stream || !run->path.stream.empty()) && (req.options & kOptDirectory)) {
    return run->later(SmbResponse{nt::kNotADirectory});
  }
  // A lease request (RqLs with oplock level "lease", SMB 2.1 and later).
  if (req.oplock_level == kOplockLease && dialect_ >= kDialect210) {
    for (const CreateContext& ctx : req.contexts) {
      if (ctx.name != "RqLs") continue;
      absl::StatusOr<LeaseContext> lease = DecodeLeaseContext(ctx.data);
      if (!lease.ok()) return run->later(SmbResponse{nt::kInvalidParameter});
      if (lease->version == 2 && dialect_ < kDialect300) lease->version = 1;
      run->lease_request = *lease;
      run->lease_id = negotiate_request_.client_guid + lease->key;
    }
  }
  if (!run->path.stream.empty()) return CreateStreamOpen(run);
  std::shared_ptr<SmbConnection> self = shared_from_this();
  const Tree& tree = *run->r->tree;
  if (run->parent.name.empty()) {
    server_.backend().GetAttr(tree.ctx, tree.share->root,
                              [self, run](absl::StatusOr<backend::Attributes> root) {
                                if (!root.ok()) {
                                  return run->later(SmbResponse{NtStatusFor(root.status())});
                                }
                                self->CreateLookedUp(run, *std::move(root));
                              });
    return;
  }
  LookupIgnoringCaseAsync(
      server_.backend(), tree.ctx, run->parent.dir, run->parent.name,
      [self, run](absl::StatusOr<backend::Attributes> found, std::string stored) {
        if (found.ok()) {
          run->parent.name = std::move(stored);
          return self->CreateLookedUp(run, *std::move(found));
        }
        if (found.status().code() != absl::StatusCode::kNotFound) {
          return run->later(SmbResponse{NtStatusFor(found.status())});
        }
        self->CreateLookedUp(run, std::nullopt);
      });
}

void SmbConnection::CreateLookedUp(const std::shared_ptr<CreateRun>& run,
                                   std::optional<backend::Attributes> existing) {
  const CreateRequest& req = run->req;
  if (run->lease_request.has_value()) {
    // A lease key names one file (MS-SMB2 3.3.5.9.8).
    uint32_t s = server_.state().CheckLeaseKey(run->lease_id, existing ? existing->inode : 0);
    if (s != nt::kSuccess) return run->later(SmbResponse{s});
  }
  if (!existing.has_value()) return CreateNew(run);
  run->attrs = *existing;
  const backend::Attributes& attrs = run->attrs;
  bool is_dir = attrs.type == backend::FileType::kDirectory;
  if (req.disposition == kCreate) return run->later(SmbResponse{nt::kObjectNameCollision});
  if ((req.options & kOptDirectory) && !is_dir) return run->later(SmbResponse{nt::kNotADirectory});
  // A directory has no data stream to open (MS-FSA 2.1.5.1).
  if (is_dir && run->path.data_stream) return run->later(SmbResponse{nt::kFileIsADirectory});
  if ((req.options & kOptNonDirectory) && is_dir) {
    return run->later(SmbResponse{nt::kFileIsADirectory});
  }
  if (attrs.type != backend::FileType::kRegular && !is_dir) {
    return run->later(SmbResponse{nt::kAccessDenied});  // symlinks and special files: not served
  }
  if (is_dir && Truncates(req.disposition)) return run->later(SmbResponse{nt::kInvalidParameter});
  if (server_.state().DeletePending(attrs.inode))
    return run->later(SmbResponse{nt::kDeletePending});
  const Tree& tree = *run->r->tree;
  std::optional<backend::Attributes> dir;
  if (!run->parent.name.empty()) dir = run->parent.dir_attrs;
  std::shared_ptr<SmbConnection> self = shared_from_this();
  HandleAccessAsync(server_.backend(), tree.ctx, tree.ctx.identity, attrs, std::move(dir),
                    tree.read_only, [self, run](uint32_t maximal, bool by_dacl) {
                      self->CreateOpenExisting(run, maximal, by_dacl);
                    });
}

void SmbConnection::CreateOpenExisting(const std::shared_ptr<CreateRun>& run, uint32_t maximal,
                                       bool by_dacl) {
  const CreateRequest& req = run->req;
  const Tree& tree = *run->r->tree;
  const backend::Attributes& attrs = run->attrs;
  run->maximal_access = maximal;
  run->truncate = Truncates(req.disposition);
  if (uint32_t s = CheckOpenAccess(tree.ctx.identity, attrs, maximal, by_dacl, run->truncate,
                                   tree.read_only, &run->desired);
      s != nt::kSuccess) {
    return run->later(SmbResponse{s});
  }
  bool is_dir = attrs.type == backend::FileType::kDirectory;
  if (run->want_delete_on_close && !is_dir && (attrs.mode & 0222) == 0) {
    return run->later(SmbResponse{nt::kCannotDelete});
  }
  run->open->granted_access = run->desired;
  run->open->inode = attrs.inode;
  // Stat opens (attributes and security descriptor reads only) break no oplock.
  bool breaks = !access::IsStatAccess(run->desired) || run->truncate;
  if (!breaks) return CreateRegister(run, false);
  // Durable opens whose client is gone are closed rather than waited for; the new open's share
  // modes are checked once they are.
  std::vector<std::shared_ptr<Open>> gone = server_.state().TakeConflictingDisconnected(
      attrs.inode, SmbServerState::Intent{run->truncate, run->desired, req.share_access,
                                          run->lease_id, run->want_delete_on_close});
  if (gone.empty()) return CreateRegister(run, true);
  std::shared_ptr<SmbConnection> self = shared_from_this();
  auto left = std::make_shared<std::atomic<size_t>>(gone.size());
  for (const std::shared_ptr<Open>& open : gone) {
    server_.ReleaseOpenAsync(open, false, [self, run, left](uint32_t, backend::Attributes) {
      if (left->fetch_sub(1) == 1) self->CreateRegister(run, true);
    });
  }
}

void SmbConnection::CreateRegister(const std::shared_ptr<CreateRun>& run, bool breaks) {
  const CreateRequest& req = run->req;
  SmbRequest& r = *run->r;
  backend::InodeNumber inode = run->attrs.inode;
  SmbServerState::Intent intent{run->truncate, run->desired, req.share_access, run->lease_id,
                                run->want_delete_on_close};
  using Step = SmbServerState::BreakStep;
  if (breaks) {
    if (std::optional<SmbResponse> wait =
            WaitForOplockBreaks(r, inode, intent, Step::kBeforeShareCheck)) {
      return run->later(*std::move(wait));
    }
  }
  if (uint32_t s = server_.state().RegisterOpen(run->open); s != nt::kSuccess) {
    return run->later(SmbResponse{s});
  }
  if (breaks) {
    if (std::optional<SmbResponse> wait =
            WaitForOplockBreaks(r, inode, intent, Step::kAfterShareCheck)) {
      server_.state().UnregisterOpen(*run->open);  // registered again when the CREATE runs again
      return run->later(*std::move(wait));
    }
  }
  if (!run->truncate) return CreateFinish(run);
  run->action = req.disposition == kSupersede ? kActionSuperseded : kActionOverwritten;
  std::shared_ptr<SmbConnection> self = shared_from_this();
  auto drop_streams = [self, run] {
    self->RemoveNamedStreamsAsync(run->r->tree->ctx, run->attrs.inode,
                                  [self, run] { self->CreateFinish(run); });
  };
  if (run->attrs.size == 0) return drop_streams();
  backend::SetAttributes set;
  set.size = 0;
  server_.backend().SetAttr(r.tree->ctx, inode, set,
                            [self, run, drop_streams](absl::StatusOr<backend::AttrChange> changed) {
                              if (!changed.ok()) {
                                self->server_.state().UnregisterOpen(*run->open);
                                return run->later(SmbResponse{NtStatusFor(changed.status())});
                              }
                              run->attrs = changed->after;
                              drop_streams();
                            });
}

void SmbConnection::CreateNew(const std::shared_ptr<CreateRun>& run) {
  const CreateRequest& req = run->req;
  const Tree& tree = *run->r->tree;
  if (req.disposition == kOpen || req.disposition == kOverwrite) {
    return run->later(SmbResponse{nt::kObjectNameNotFound});
  }
  if (tree.read_only) return run->later(SmbResponse{nt::kAccessDenied});
  if (run->want_delete_on_close && (req.file_attributes & kAttrReadonly)) {
    return run->later(SmbResponse{nt::kCannotDelete});
  }
  absl::StatusOr<std::optional<Dacl>> dacl = DaclOfCreateContexts(req.contexts);
  if (!dacl.ok()) return run->later(SmbResponse{nt::kInvalidParameter});
  std::shared_ptr<SmbConnection> self = shared_from_this();
  // (Held by a shared_ptr: GCC 12 at -O1 sees a moved optional<Dacl> as maybe uninitialized.)
  auto given = std::make_shared<std::optional<Dacl>>(*std::move(dacl));
  auto made = [self, run, given](absl::StatusOr<backend::EntryResult> made) {
    if (!made.ok()) return run->later(SmbResponse{NtStatusFor(made.status())});
    run->attrs = made->attributes;
    run->action = kActionCreated;
    self->server_.state().DirectoryChanged(run->parent.dir);
    self->CreateStoreDacl(run, *given);
  };
  if (req.options & kOptDirectory) {
    backend::SetAttributes attrs;
    attrs.mode = 0755;
    server_.backend().MakeDirectory(tree.ctx, run->parent.dir, run->parent.name, attrs,
                                    std::move(made));
    return;
  }
  backend::CreateRequest request;
  request.parent = run->parent.dir;
  request.name = run->parent.name;
  request.how = backend::CreateMode::kGuarded;
  request.attributes.mode = (req.file_attributes & kAttrReadonly) ? 0444 : 0644;
  server_.backend().Create(tree.ctx, request, std::move(made));
}

void SmbConnection::CreateStoreDacl(const std::shared_ptr<CreateRun>& run,
                                    std::optional<Dacl> dacl) {
  std::shared_ptr<SmbConnection> self = shared_from_this();
  const Tree& tree = *run->r->tree;
  SetNewFileDaclAsync(
      server_.backend(), tree.ctx, run->parent.dir, run->attrs, std::move(dacl), [self, run] {
        const Tree& tree = *run->r->tree;
        // (The tree is writable here: a read-only one refused the create.)
        run->maximal_access =
            MaximalAccess(tree.ctx.identity, run->attrs, &run->parent.dir_attrs, false);
        // The creator gets what it asked for.
        uint32_t maximal = run->maximal_access | access::kAll;
        if (run->desired & access::kMaximumAllowed) {
          run->desired = (run->desired & ~access::kMaximumAllowed) | maximal;
        }
        run->open->granted_access = run->desired;
        run->open->inode = run->attrs.inode;
        uint32_t s = self->server_.state().RegisterOpen(run->open);
        if (s != nt::kSuccess) return run->later(SmbResponse{s});
        self->CreateFinish(run);
      });
}

void SmbConnection::CreateFinish(const std::shared_ptr<CreateRun>& run) {
  SmbRequest& r = *run->r;
  Open& open = *run->open;
  open.parent = run->parent.dir;
  open.name = run->parent.name;
  open.path = run->parent.PathOf(run->parent.name);
  open.directory = run->attrs.type == backend::FileType::kDirectory;
  open.delete_on_close = run->want_delete_on_close;
  open.conn = weak_from_this();
  open.session = r.session;
  open.encrypted = r.encrypted;
  // Directory leases (SMB2_CAP_DIRECTORY_LEASING) are not offered: a directory gets none, and
  // the response carries no lease context (MS-SMB2 3.3.5.9.8).
  if (open.directory) run->lease_request.reset();
  uint8_t oplock =
      GrantCaching(run->open, run->req.oplock_level, &run->lease_request, run->lease_id);
  std::shared_ptr<SmbConnection> self = shared_from_this();
  server_.backend().Open(r.tree->ctx, run->attrs.inode,
                         [self, run, oplock](absl::StatusOr<backend::Done>) {
                           run->later(self->CreateResponseFor(*run, oplock));
                         });
}

SmbResponse SmbConnection::CreateResponseFor(CreateRun& run, uint8_t oplock) {
  SmbRequest& r = *run.r;
  std::shared_ptr<Session> session = r.session;
  const Tree& tree = *r.tree;
  Open& open = *run.open;
  {
    std::lock_guard<std::mutex> lock(session->mu);
    session->opens[open.id] = run.open;
  }
  CreateResponse resp = ResponseFor(run.attrs, open.id, run.action);
  resp.oplock_level = oplock;
  for (const CreateContext& ctx : run.req.contexts) {
    if (ctx.name == "MxAc") {
      std::string data;
      Put32(&data, 0);
      Put32(&data, run.maximal_access);
      resp.contexts.push_back({"MxAc", data});
    } else if (ctx.name == "QFid") {
      std::string data;
      Put64(&data, run.attrs.inode);
      Put64(&data, tree.share->export_->id);
      data.append(16, '\0');
      resp.contexts.push_back({"QFid", data});
    }
  }
  // A durable handle is granted to what caches handles: a batch oplock or a lease with handle
  // caching (MS-SMB2 3.3.5.9.6, 3.3.5.9.10). Persistent handles are not offered.
  bool caches_handles = oplock == kOplockBatch || (run.lease_request.has_value() &&
                                                   (run.lease_request->state & kLeaseHandle));
  if ((run.durable_v1 || run.durable_v2.has_value()) && caches_handles && !open.directory) {
    open.durable = run.durable_v2.has_value() ? 2 : 1;
    server_.state().AddDurable(run.open);
    open.owner = session->user.name;
    open.durable_timeout_ms = kDefaultDurableTimeoutMs;
    if (run.durable_v2.has_value()) {
      open.create_guid = run.durable_v2->create_guid;
      if (run.durable_v2->timeout_ms != 0) {
        open.durable_timeout_ms = std::min(run.durable_v2->timeout_ms, kMaxDurableTimeoutMs);
      }
      resp.contexts.push_back({"DH2Q", EncodeDurableV2Response(open.durable_timeout_ms, 0)});
    } else {
      resp.contexts.push_back({"DHnQ", EncodeDurableV1Response()});
    }
  }
  AddLeaseContext(run.lease_request, &resp);
  SmbResponse out;
  out.body = EncodeCreateResponse(resp);
  out.created = resp.file;
  return out;
}

uint8_t SmbConnection::GrantCaching(const std::shared_ptr<Open>& open, uint8_t requested,
                                    std::optional<LeaseContext>* lease_request,
                                    const std::string& lease_id) {
  if (!lease_request->has_value()) return server_.state().GrantOplock(open, requested);
  LeaseContext& lease = **lease_request;
  SmbServerState::LeaseGrant grant = server_.state().GrantLease(
      open, lease_id, lease.key, lease.version, lease.state, lease.epoch);
  lease.state = grant.state;
  lease.flags = grant.flags | (lease.flags & kLeaseFlagParentKeySet);
  lease.epoch = grant.epoch;
  return kOplockLease;
}

void SmbConnection::AddLeaseContext(std::optional<LeaseContext>& lease, CreateResponse* resp) {
  if (!lease.has_value()) return;
  if (lease->version == 1 || !(lease->flags & kLeaseFlagParentKeySet)) lease->parent_key.clear();
  resp->contexts.push_back({"RqLs", EncodeLeaseContext(*lease)});
}

void SmbConnection::ReconnectDurable(const std::shared_ptr<CreateRun>& run,
                                     const DurableReconnect& reconnect, int attempt) {
  // MS-SMB2 3.3.5.9.7 and 3.3.5.9.12: the open must be a disconnected durable one of this
  // user, on this share, with the same CreateGuid (v2) and lease key (when leased).
  SmbRequest& r = *run->r;
  const CreateRequest& req = run->req;
  SmbServerState& state = server_.state();
  std::shared_ptr<Open> open = state.TakeDisconnected(reconnect.file.persistent);
  if (open == nullptr && attempt < 100 && state.DurableAttached(reconnect.file.persistent)) {
    // A client reconnecting at once may beat the teardown of its old connection: look again
    // (every 20 ms, at most 2 s) for a durable open still attached there to be let go.
    std::shared_ptr<SmbConnection> self = shared_from_this();
    server_.RunAfter(absl::Milliseconds(20), [self, run, reconnect, attempt] {
      self->ReconnectDurable(run, reconnect, attempt + 1);
    });
    return;
  }
  if (open == nullptr) return run->later(SmbResponse{nt::kObjectNameNotFound});
  std::string lease_key;
  for (const CreateContext& ctx : req.contexts) {
    if (ctx.name != "RqLs") continue;
    absl::StatusOr<LeaseContext> lease = DecodeLeaseContext(ctx.data);
    if (lease.ok()) lease_key = lease->key;
  }
  uint32_t refused = nt::kSuccess;
  if (open->owner != r.session->user.name) {
    refused = nt::kAccessDenied;
  } else if (open->durable != reconnect.version || open->tree->share->name != r.tree->share->name ||
             (reconnect.version == 2 && open->create_guid != reconnect.create_guid) ||
             (open->lease != nullptr &&
              open->lease->id != negotiate_request_.client_guid + lease_key)) {
    refused = nt::kObjectNameNotFound;
  } else if (open->lease != nullptr) {
    // A leased handle is reconnected under its own name (MS-SMB2 3.3.5.9.7).
    ParsedPath path;
    absl::string_view name = req.name;
    if (absl::StartsWith(name, "\\")) name.remove_prefix(1);
    if (ParseSmbPath(name, &path) != nt::kSuccess ||
        !absl::EqualsIgnoreCase(path.normalized, open->path)) {
      refused = nt::kInvalidParameter;
    }
  }
  if (refused != nt::kSuccess) {
    server_.KeepDurable(open);  // still the owner's to reconnect until its timeout
    return run->later(SmbResponse{refused});
  }
  open->tree = r.tree;
  open->conn = weak_from_this();
  open->session = r.session;
  open->encrypted = r.encrypted;
  {
    std::lock_guard<std::mutex> lock(r.session->mu);
    r.session->opens[open->id] = open;
  }
  std::shared_ptr<SmbConnection> self = shared_from_this();
  server_.backend().GetAttr(
      open->tree->ctx, open->inode, [self, run, open](absl::StatusOr<backend::Attributes> attrs) {
        if (!attrs.ok()) return run->later(SmbResponse{NtStatusFor(attrs.status())});
        CreateResponse resp = ResponseFor(*attrs, open->id, kActionOpened);
        resp.oplock_level = open->lease != nullptr ? kOplockLease : open->oplock;
        if (open->lease != nullptr) {
          LeaseContext lease;
          lease.version = open->lease->version;
          lease.key = open->lease->key;
          lease.state = open->lease->state;
          lease.epoch = open->lease->epoch;
          resp.contexts.push_back({"RqLs", EncodeLeaseContext(lease)});
        }
        CFS_LOG(DEBUG, "smb") << self->peer_address_ << ": durable open " << open->id
                              << " reconnected";
        SmbResponse out;
        out.body = EncodeCreateResponse(resp);
        out.created = resp.file;
        run->later(std::move(out));
      });
}

}  // namespace cfs::smb
