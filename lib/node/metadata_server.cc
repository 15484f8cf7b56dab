#include "lib/node/metadata_server.h"

#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/backend/await.h"
#include "lib/backend/errors.h"
#include "lib/backends/remote/a2_convert.h"
#include "lib/backends/remote/placement.h"

namespace cfs::remote {

using backend::Await;
using backend::Callback;

class MetadataServer::Service final : public pb::MetadataService::Service {
 public:
  Service(backend::Backend& backend, ClusterLayout layout)
      : backend_(backend), layout_(std::move(layout)) {
    std::random_device random;
    verifier_ = (static_cast<uint64_t>(random()) << 32) ^ random() ^
                static_cast<uint64_t>(absl::ToUnixMicros(absl::Now()));
  }

  grpc::Status Lookup(grpc::ServerContext*, const pb::NameRequest* req,
                      pb::Attributes* resp) override {
    return Run<backend::Attributes>(
        [&](auto done) {
          backend_.Lookup(Ctx(req->caller()), req->dir(), req->name(), std::move(done));
        },
        [&](auto& v) { *resp = ToProto(v); });
  }
  grpc::Status GetAttr(grpc::ServerContext*, const pb::InodeRequest* req,
                       pb::Attributes* resp) override {
    return Run<backend::Attributes>(
        [&](auto done) { backend_.GetAttr(Ctx(req->caller()), req->inode(), std::move(done)); },
        [&](auto& v) { *resp = ToProto(v); });
  }
  grpc::Status SetAttr(grpc::ServerContext*, const pb::SetAttrRequest* req,
                       pb::AttrChange* resp) override {
    return Run<backend::AttrChange>(
        [&](auto done) {
          backend_.SetAttr(Ctx(req->caller()), req->inode(), FromProto(req->attributes()),
                           std::move(done));
        },
        [&](auto& v) { *resp = ToProto(v); });
  }
  grpc::Status Access(grpc::ServerContext*, const pb::AccessRequest* req,
                      pb::AccessResponse* resp) override {
    return Run<uint32_t>(
        [&](auto done) {
          backend_.Access(Ctx(req->caller()), req->inode(), req->requested(), std::move(done));
        },
        [&](auto& v) { resp->set_granted(v); });
  }
  grpc::Status Create(grpc::ServerContext*, const pb::CreateRequest* req,
                      pb::EntryResult* resp) override {
    backend::CreateRequest create;
    create.parent = req->parent();
    create.name = req->name();
    create.how = req->how() <= 2 ? static_cast<backend::CreateMode>(req->how())
                                 : backend::CreateMode::kGuarded;
    create.verifier = req->verifier();
    create.attributes = FromProto(req->attributes());
    return Run<backend::EntryResult>(
        [&](auto done) { backend_.Create(Ctx(req->caller()), create, std::move(done)); },
        [&](auto& v) { *resp = ToProto(v); });
  }
  grpc::Status MakeDirectory(grpc::ServerContext*, const pb::MakeDirectoryRequest* req,
                             pb::EntryResult* resp) override {
    return Run<backend::EntryResult>(
        [&](auto done) {
          backend_.MakeDirectory(Ctx(req->caller()), req->parent(), req->name(),
                                 FromProto(req->attributes()), std::move(done));
        },
        [&](auto& v) { *resp = ToProto(v); });
  }
  grpc::Status MakeSymlink(grpc::ServerContext*, const pb::MakeSymlinkRequest* req,
                           pb::EntryResult* resp) override {
    return Run<backend::EntryResult>(
        [&](auto done) {
          backend_.MakeSymlink(Ctx(req->caller()), req->parent(), req->name(), req->target(),
                               FromProto(req->attributes()), std::move(done));
        },
        [&](auto& v) { *resp = ToProto(v); });
  }
  grpc::Status MakeNode(grpc::ServerContext*, const pb::MakeNodeRequest* req,
                        pb::EntryResult* resp) override {
    if (req->type() < 1 || req->type() > 7) {
      return ToGrpc(backend::FsErrorStatus(backend::FsError::kInvalid, "bad file type"));
    }
    return Run<backend::EntryResult>(
        [&](auto done) {
          backend_.MakeNode(Ctx(req->caller()), req->parent(), req->name(),
                            static_cast<backend::FileType>(req->type()), req->rdev_major(),
                            req->rdev_minor(), FromProto(req->attributes()), std::move(done));
        },
        [&](auto& v) { *resp = ToProto(v); });
  }
  grpc::Status ReadLink(grpc::ServerContext*, const pb::InodeRequest* req,
                        pb::ReadLinkResponse* resp) override {
    return Run<std::string>(
        [&](auto done) { backend_.ReadLink(Ctx(req->caller()), req->inode(), std::move(done)); },
        [&](auto& v) { resp->set_target(v); });
  }
  grpc::Status Link(grpc::ServerContext*, const pb::LinkRequest* req,
                    pb::EntryResult* resp) override {
    return Run<backend::EntryResult>(
        [&](auto done) {
          backend_.Link(Ctx(req->caller()), req->inode(), req->dir(), req->name(), std::move(done));
        },
        [&](auto& v) { *resp = ToProto(v); });
  }
  grpc::Status Unlink(grpc::ServerContext*, const pb::NameRequest* req,
                      pb::AttrChange* resp) override {
    return Run<backend::DirChange>(
        [&](auto done) {
          backend_.Unlink(Ctx(req->caller()), req->dir(), req->name(), std::move(done));
        },
        [&](auto& v) { *resp = ToProto(v); });
  }
  grpc::Status RemoveDirectory(grpc::ServerContext*, const pb::NameRequest* req,
                               pb::AttrChange* resp) override {
    return Run<backend::DirChange>(
        [&](auto done) {
          backend_.RemoveDirectory(Ctx(req->caller()), req->dir(), req->name(), std::move(done));
        },
        [&](auto& v) { *resp = ToProto(v); });
  }
  grpc::Status Rename(grpc::ServerContext*, const pb::RenameRequest* req,
                      pb::RenameResponse* resp) override {
    return Run<backend::RenameResult>(
        [&](auto done) {
          backend_.Rename(Ctx(req->caller()), req->from_dir(), req->from_name(), req->to_dir(),
                          req->to_name(), std::move(done));
        },
        [&](auto& v) {
          *resp->mutable_from_dir() = ToProto(v.from_dir);
          *resp->mutable_to_dir() = ToProto(v.to_dir);
        });
  }
  grpc::Status ReadDir(grpc::ServerContext*, const pb::ReadDirRequest* req,
                       pb::ReadDirResponse* resp) override {
    return Run<backend::ReadDirResult>(
        [&](auto done) {
          backend_.ReadDir(Ctx(req->caller()), req->dir(), req->cookie(), req->verifier(),
                           req->max_entries(), req->with_attributes(), std::move(done));
        },
        [&](auto& v) { *resp = ToProto(v); });
  }
  grpc::Status FsStat(grpc::ServerContext*, const pb::InodeRequest* req,
                      pb::FsStatResponse* resp) override {
    return Run<backend::FsStatResult>(
        [&](auto done) { backend_.FsStat(Ctx(req->caller()), req->inode(), std::move(done)); },
        [&](auto& v) { *resp = ToProto(v); });
  }
  grpc::Status GetXattr(grpc::ServerContext*, const pb::XattrRequest* req,
                        pb::XattrValue* resp) override {
    return Run<std::string>(
        [&](auto done) {
          backend_.GetXattr(Ctx(req->caller()), req->inode(), req->name(), std::move(done));
        },
        [&](auto& v) { resp->set_value(v); });
  }
  grpc::Status SetXattr(grpc::ServerContext*, const pb::XattrRequest* req, pb::Empty*) override {
    backend::XattrSetMode mode = req->mode() <= 2 ? static_cast<backend::XattrSetMode>(req->mode())
                                                  : backend::XattrSetMode::kCreateOrReplace;
    return Run<backend::Done>(
        [&](auto done) {
          backend_.SetXattr(Ctx(req->caller()), req->inode(), req->name(), req->value(), mode,
                            std::move(done));
        },
        [](auto&) {});
  }
  grpc::Status ListXattrs(grpc::ServerContext*, const pb::InodeRequest* req,
                          pb::XattrNames* resp) override {
    return Run<std::vector<std::string>>(
        [&](auto done) { backend_.ListXattrs(Ctx(req->caller()), req->inode(), std::move(done)); },
        [&](auto& v) {
          for (const std::string& name : v) resp->add_names(name);
        });
  }
  grpc::Status RemoveXattr(grpc::ServerContext*, const pb::XattrRequest* req, pb::Empty*) override {
    return Run<backend::Done>(
        [&](auto done) {
          backend_.RemoveXattr(Ctx(req->caller()), req->inode(), req->name(), std::move(done));
        },
        [](auto&) {});
  }
  grpc::Status GetExtentMap(grpc::ServerContext*, const pb::ExtentMapRequest* req,
                            pb::ExtentMapResponse* resp) override {
    absl::StatusOr<backend::Attributes> attrs = Await<backend::Attributes>(
        [&](auto done) { backend_.GetAttr(Ctx(req->caller()), req->inode(), std::move(done)); });
    if (!attrs.ok()) return ToGrpc(attrs.status());
    if (attrs->type == backend::FileType::kDirectory) {
      return ToGrpc(backend::FsErrorStatus(backend::FsError::kIsDirectory, "a directory"));
    }
    if (attrs->type != backend::FileType::kRegular) {
      return ToGrpc(backend::FsErrorStatus(backend::FsError::kInvalid, "not a regular file"));
    }
    uint64_t end = std::min(attrs->size, req->offset() + std::min(req->length(), attrs->size));
    if (req->offset() >= end) return grpc::Status::OK;
    for (const Piece& p : Place(req->inode(), req->offset(), end - req->offset(),
                                layout_.stripe_size, layout_.data_servers.size())) {
      pb::Extent* e = resp->add_extents();
      e->set_offset(p.offset);
      e->set_length(p.length);
      e->set_data_server(layout_.data_servers[p.node]);
    }
    return grpc::Status::OK;
  }
  grpc::Status Open(grpc::ServerContext*, const pb::InodeRequest* req, pb::Empty*) override {
    return Run<backend::Done>(
        [&](auto done) { backend_.Open(Ctx(req->caller()), req->inode(), std::move(done)); },
        [](auto&) {});
  }
  grpc::Status Release(grpc::ServerContext*, const pb::InodeRequest* req, pb::Empty*) override {
    return Run<backend::Done>(
        [&](auto done) { backend_.Release(Ctx(req->caller()), req->inode(), std::move(done)); },
        [](auto&) {});
  }
  grpc::Status NoteWrite(grpc::ServerContext*, const pb::NoteWriteRequest* req,
                         pb::AttrChange* resp) override {
    // Serialised per inode, so two writers cannot shrink each other's size extension.
    std::lock_guard<std::mutex> lock(note_mu_[req->inode() % note_mu_.size()]);
    backend::RequestContext ctx = Ctx(req->caller());
    backend::RequestContext root = ctx;
    root.identity = backend::Identity::Root();  // the gateway checked write permission
    absl::StatusOr<backend::Attributes> before = Await<backend::Attributes>(
        [&](auto done) { backend_.GetAttr(ctx, req->inode(), std::move(done)); });
    if (!before.ok()) return ToGrpc(before.status());
    backend::SetAttributes set;
    if (req->end() > before->size) set.size = req->end();
    set.mtime_how = backend::SetAttributes::TimeHow::kServerTime;
    absl::StatusOr<backend::AttrChange> change = Await<backend::AttrChange>(
        [&](auto done) { backend_.SetAttr(root, req->inode(), set, std::move(done)); });
    if (!change.ok()) return ToGrpc(change.status());
    change->before = *before;
    *resp = ToProto(*change);
    return grpc::Status::OK;
  }
  grpc::Status Stripes(grpc::ServerContext*, const pb::StripesRequest*,
                       pb::StripesResponse* resp) override {
    resp->set_stripe_size(layout_.stripe_size);
    for (const std::string& s : layout_.data_servers) resp->add_data_servers(s);
    for (const std::string& s : layout_.fabric_servers) resp->add_fabric_servers(s);
    resp->set_metadata_verifier(verifier_);
    return grpc::Status::OK;
  }

 private:
  static backend::RequestContext Ctx(const pb::Caller& caller) { return FromProto(caller); }

  // Runs one SPI call to completion and fills the response from its value.
  template <typename T, typename Start, typename Fill>
  static grpc::Status Run(Start start, Fill fill) {
    absl::StatusOr<T> result = Await<T>([&](Callback<T> done) { start(std::move(done)); });
    if (!result.ok()) return ToGrpc(result.status());
    fill(*result);
    return grpc::Status::OK;
  }

  backend::Backend& backend_;
  const ClusterLayout layout_;
  uint64_t verifier_ = 0;
  std::array<std::mutex, 64> note_mu_;
};

MetadataServer::MetadataServer(backend::Backend& backend, ClusterLayout layout)
    : valid_layout_(layout.stripe_size > 0 && !layout.data_servers.empty() &&
                    (layout.fabric_servers.empty() ||
                     layout.fabric_servers.size() == layout.data_servers.size())),
      service_(std::make_unique<Service>(backend, std::move(layout))) {}

MetadataServer::~MetadataServer() { Shutdown(absl::Now()); }

absl::Status MetadataServer::Start(const std::string& host, int port) {
  if (!valid_layout_) {
    return absl::InvalidArgumentError(
        "A2: a cluster needs data servers, a stripe size > 0, and a libfabric address for every "
        "data server or for none");
  }
  int bound = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat(host, ":", port), grpc::InsecureServerCredentials(),
                           &bound);
  builder.RegisterService(service_.get());
  builder.SetMaxReceiveMessageSize(64 << 20);
  builder.SetMaxSendMessageSize(64 << 20);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || bound == 0) {
    return absl::UnavailableError(absl::StrCat("A2: cannot listen on ", host, ":", port));
  }
  address_ = absl::StrCat(host, ":", bound);
  return absl::OkStatus();
}

void MetadataServer::Shutdown(absl::Time deadline) {
  if (server_ == nullptr) return;
  server_->Shutdown(absl::ToChronoTime(deadline));
  server_->Wait();
  server_.reset();
}

}  // namespace cfs::remote
