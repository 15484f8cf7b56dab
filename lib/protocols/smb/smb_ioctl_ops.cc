// IOCTL of SmbConnection: FSCTL_VALIDATE_NEGOTIATE_INFO, FSCTL_QUERY_NETWORK_INTERFACE_INFO,
// FSCTL_PIPE_TRANSCEIVE (srvsvc), server-side copy (FSCTL_SRV_REQUEST_RESUME_KEY,
// FSCTL_SRV_COPYCHUNK[_WRITE]), FSCTL_QUERY_ALLOCATED_RANGES, FSCTL_SET_SPARSE and
// FSCTL_GET_REPARSE_POINT: answered from memory, or (on files' data) from backend callbacks.
#include <arpa/inet.h>

#include <memory>
#include <utility>

#include "lib/backend/backend.h"
#include "lib/common/buffer.h"
#include "lib/protocols/smb/le_bytes.h"
#include "lib/protocols/smb/ntstatus.h"
#include "lib/protocols/smb/smb_connection.h"

namespace cfs::smb {

namespace {

constexpr uint32_t kFsctlDfsGetReferrals = 0x00060194;
constexpr uint32_t kFsctlPipeTransceive = 0x0011C017;
constexpr uint32_t kFsctlValidateNegotiateInfo = 0x00140204;
constexpr uint32_t kFsctlQueryNetworkInterfaceInfo = 0x001401FC;
constexpr uint32_t kFsctlSrvRequestResumeKey = 0x00140078;
constexpr uint32_t kFsctlSrvCopyChunk = 0x001440F2;
constexpr uint32_t kFsctlSrvCopyChunkWrite = 0x001480F2;
constexpr uint32_t kFsctlGetReparsePoint = 0x000900A8;
constexpr uint32_t kFsctlSetSparse = 0x000900C4;
constexpr uint32_t kFsctlCreateOrGetObjectId = 0x000900C0;
constexpr uint32_t kFsctlQueryAllocatedRanges = 0x000940CF;
constexpr uint32_t kStatusNotAReparsePoint = 0xC0000275;
constexpr uint32_t kStatusObjectNameNotFound = 0xC0000034;

constexpr uint32_t kMaxChunks = 256;
constexpr uint32_t kMaxChunkSize = 1 << 20;
constexpr uint32_t kMaxCopyTotal = 16 << 20;

std::string CopyChunkLimits() {
  std::string out;
  Put32(&out, kMaxChunks);
  Put32(&out, kMaxChunkSize);
  Put32(&out, kMaxCopyTotal);
  return out;
}

// The IOCTL response carrying `output`, or BUFFER_TOO_SMALL when it exceeds what the client
// takes.
SmbResponse IoctlReply(const IoctlRequest& req, std::string output, uint32_t status) {
  if (output.size() > req.max_output_response) return SmbResponse{nt::kBufferTooSmall};
  SmbResponse out;
  out.status = status;
  out.body = EncodeIoctlResponse(req.ctl_code, req.file, output);
  return out;
}

}  // namespace

// One server-side copy (FSCTL_SRV_COPYCHUNK[_WRITE]) while its chunks are read and written,
// one after the other; touched by one callback at a time.
struct SmbConnection::CopyRun {
  struct Chunk {
    uint64_t from = 0;
    uint64_t to = 0;
    uint32_t length = 0;
  };
  IoctlRequest request;
  std::shared_ptr<Open> source;
  std::shared_ptr<Open> target;
  std::vector<Chunk> chunks;
  size_t next = 0;
  uint64_t written = 0;
  SmbLater later;
};

void SmbConnection::CopyNextChunk(const std::shared_ptr<CopyRun>& copy) {
  Open& target = *copy->target;
  if (copy->next == copy->chunks.size()) {
    {
      std::lock_guard<std::mutex> lock(target.mu);
      target.dirty = true;
    }
    std::string out;
    Put32(&out, static_cast<uint32_t>(copy->chunks.size()));
    Put32(&out, 0);
    Put32(&out, static_cast<uint32_t>(copy->written));
    return copy->later(IoctlReply(copy->request, std::move(out), nt::kSuccess));
  }
  const CopyRun::Chunk chunk = copy->chunks[copy->next];
  const Open& source = *copy->source;
  if (server_.state().IoConflicts(source.inode, source.id, chunk.from, chunk.length, false) ||
      server_.state().IoConflicts(target.inode, target.id, chunk.to, chunk.length, true)) {
    return copy->later(SmbResponse{nt::kFileLockConflict});
  }
  std::shared_ptr<SmbConnection> self = shared_from_this();
  backend::Backend* backend = &server_.backend();
  backend->Read(source.tree->ctx, source.inode, chunk.from, chunk.length,
                [self, backend, copy, chunk](absl::StatusOr<backend::ReadResult> data) {
                  if (!data.ok()) return copy->later(SmbResponse{NtStatusFor(data.status())});
                  if (data->data.size() < chunk.length)
                    return copy->later(SmbResponse{nt::kInvalidViewSize});
                  const Open& target = *copy->target;
                  backend->Write(target.tree->ctx, target.inode, chunk.to,
                                 Buffer::Adopt(std::move(data->data)),
                                 backend::Stability::kUnstable,
                                 [self, copy](absl::StatusOr<backend::WriteResult> written) {
                                   if (!written.ok()) {
                                     return copy->later(SmbResponse{NtStatusFor(written.status())});
                                   }
                                   copy->written += written->count;
                                   ++copy->next;
                                   self->CopyNextChunk(copy);
                                 });
                });
}

std::optional<SmbResponse> SmbConnection::Ioctl(SmbRequest& r, SmbLater later) {
  absl::StatusOr<IoctlRequest> req = DecodeIoctl(r.message);
  if (!req.ok()) return SmbResponse{nt::kInvalidParameter};
  if ((req->flags & 1) == 0) return SmbResponse{nt::kNotSupported};
  auto reply = [req = *req](std::string output, uint32_t status = nt::kSuccess) {
    return IoctlReply(req, std::move(output), status);
  };
  switch (req->ctl_code) {
    case kFsctlValidateNegotiateInfo: {
      const std::string& in = req->input;
      if (in.size() < 24) return SmbResponse{nt::kInvalidParameter, "", false, false, true};
      uint16_t count = Le16(in, 22);
      if (in.size() < 24 + size_t{count} * 2) {
        return SmbResponse{nt::kInvalidParameter, "", false, false, true};
      }
      std::vector<uint16_t> dialects;
      for (uint16_t i = 0; i < count; ++i) dialects.push_back(Le16(in, 24 + 2 * i));
      bool matches = Le32(in, 0) == negotiate_request_.capabilities &&
                     in.substr(4, 16) == negotiate_request_.client_guid &&
                     Le16(in, 20) == negotiate_request_.security_mode &&
                     dialects == negotiate_request_.dialects;
      if (!matches || dialect_ == kDialect311) {
        // A tampered negotiation: MS-SMB2 3.3.5.15.12 says terminate the connection.
        SmbResponse out{nt::kAccessDenied};
        out.disconnect = true;
        return out;
      }
      std::string out;
      Put32(&out, server_capabilities_);  // as the NEGOTIATE response said
      out += server_.guid();
      Put16(&out, 1 | (server_.config().signing_required ? 2 : 0));
      Put16(&out, dialect_);
      return reply(out);
    }
    case kFsctlQueryNetworkInterfaceInfo: {
      std::string out;
      Put32(&out, 0);            // Next
      Put32(&out, 1);            // IfIndex
      Put32(&out, 0);            // Capability
      Put32(&out, 0);            // Reserved
      Put64(&out, 10000000000);  // LinkSpeed: 10 Gbit/s
      std::string sockaddr(128, '\0');
      sockaddr[0] = 2;  // AF_INET
      in_addr addr{};
      inet_pton(AF_INET, server_.config().local_address.c_str(), &addr);
      memcpy(&sockaddr[4], &addr, 4);
      out += sockaddr;
      return reply(out);
    }
    case kFsctlDfsGetReferrals:
      return SmbResponse{0xC000019C};  // STATUS_FS_DRIVER_REQUIRED: no DFS here
    default:
      break;
  }
  std::shared_ptr<Open> open = FindOpen(r, req->file);
  if (open == nullptr) return SmbResponse{nt::kFileClosed};
  if (req->ctl_code == kFsctlPipeTransceive) {
    if (open->pipe == nullptr) return SmbResponse{nt::kInvalidDeviceRequest};
    if (!open->pipe->Write(req->input).ok()) return SmbResponse{nt::kInvalidParameter};
    std::string output = open->pipe->Read(req->max_output_response);
    return reply(output, open->pipe->pending() > 0 ? nt::kBufferOverflow : nt::kSuccess);
  }
  if (open->pipe != nullptr) return SmbResponse{nt::kInvalidDeviceRequest};
  std::shared_ptr<SmbConnection> self = shared_from_this();
  backend::Backend* backend = &server_.backend();
  const backend::RequestContext& ctx = open->tree->ctx;
  switch (req->ctl_code) {
    case kFsctlSrvRequestResumeKey: {
      // SRV_REQUEST_RESUME_KEY response (MS-SMB2 2.2.32.3): a 24-byte key, ContextLength and
      // a 4-byte Context that is reserved (zero); 32 bytes, as Windows and Samba answer.
      std::string out;
      Put64(&out, open->id);
      Put64(&out, open->id);
      out.append(8, '\0');
      Put32(&out, 0);  // ContextLength
      Put32(&out, 0);  // Context
      return reply(out);
    }
    case kFsctlSrvCopyChunk:
    case kFsctlSrvCopyChunkWrite: {
      const std::string& in = req->input;
      if (in.size() < 32) return SmbResponse{nt::kInvalidParameter};
      uint32_t count = Le32(in, 24);
      if (count > kMaxChunks || in.size() < 32 + size_t{count} * 24) {
        return reply(CopyChunkLimits(), nt::kInvalidParameter);
      }
      uint64_t source_id = Le64(in, 0);
      std::shared_ptr<Open> source;
      {
        std::lock_guard<std::mutex> lock(r.session->mu);
        auto it = r.session->opens.find(source_id);
        if (it != r.session->opens.end()) source = it->second;
      }
      if (source == nullptr || source->pipe != nullptr)
        return SmbResponse{kStatusObjectNameNotFound};
      if (!(source->granted_access & access::kReadData) ||
          !(open->granted_access & access::kWriteData) ||
          (req->ctl_code == kFsctlSrvCopyChunk && !(open->granted_access & access::kReadData))) {
        return SmbResponse{nt::kAccessDenied};
      }
      uint64_t total = 0;
      for (uint32_t i = 0; i < count; ++i) {
        uint32_t length = Le32(in, 32 + 24 * i + 16);
        if (length == 0 || length > kMaxChunkSize) {
          return reply(CopyChunkLimits(), nt::kInvalidParameter);
        }
        total += length;
      }
      if (total > kMaxCopyTotal) return reply(CopyChunkLimits(), nt::kInvalidParameter);
      // Server-side copy moves the files' own data; named streams are copied by READ/WRITE.
      if (!source->stream.empty() || !open->stream.empty()) return SmbResponse{nt::kNotSupported};
      auto copy = std::make_shared<CopyRun>();
      copy->request = *req;
      copy->source = source;
      copy->target = open;
      copy->later = std::move(later);
      for (uint32_t i = 0; i < count; ++i) {
        size_t at = 32 + 24 * i;
        copy->chunks.push_back({Le64(in, at), Le64(in, at + 8), Le32(in, at + 16)});
      }
      CopyNextChunk(copy);
      return std::nullopt;
    }
    case kFsctlQueryAllocatedRanges: {
      if (req->input.size() < 16) return SmbResponse{nt::kInvalidParameter};
      if (!open->stream.empty()) return SmbResponse{nt::kNotSupported};
      uint64_t offset = Le64(req->input, 0);
      uint64_t length = Le64(req->input, 8);
      backend->GetExtentMap(
          ctx, open->inode, offset, length,
          [req = *req, later](absl::StatusOr<std::vector<backend::Extent>> extents) {
            if (!extents.ok()) return later(SmbResponse{NtStatusFor(extents.status())});
            std::string out;
            for (const backend::Extent& e : *extents) {
              if (e.hole || e.length == 0) continue;
              Put64(&out, e.offset);
              Put64(&out, e.length);
            }
            if (out.size() > req.max_output_response) {
              out.resize(req.max_output_response / 16 * 16);
              SmbResponse resp;
              resp.status = nt::kBufferOverflow;
              resp.body = EncodeIoctlResponse(req.ctl_code, req.file, out);
              return later(std::move(resp));
            }
            later(IoctlReply(req, std::move(out), nt::kSuccess));
          });
      return std::nullopt;
    }
    case kFsctlCreateOrGetObjectId: {
      // The object id is the inode number: stable for the file's life, never reused.
      std::string out;
      Put64(&out, open->inode);
      Put64(&out, open->tree->share->export_->id);
      out.resize(64, '\0');
      return reply(out);
    }
    case kFsctlSetSparse: {
      // Every file of the store may have holes; the mark is what clients see as
      // FILE_ATTRIBUTE_SPARSE_FILE (MS-FSA 2.1.5.10.32: no input buffer means set).
      if (open->directory) return SmbResponse{nt::kInvalidParameter};
      if (!(open->granted_access &
            (access::kWriteData | access::kAppendData | access::kWriteAttributes))) {
        return SmbResponse{nt::kAccessDenied};
      }
      if (open->tree->read_only) return SmbResponse{nt::kAccessDenied};
      bool sparse = req->input.empty() || req->input[0] != 0;
      backend->GetAttr(ctx, open->inode,
                       [backend, ctx, open, sparse, req = *req,
                        later](absl::StatusOr<backend::Attributes> attrs) {
                         if (!attrs.ok()) return later(SmbResponse{NtStatusFor(attrs.status())});
                         uint32_t flags = sparse ? attrs->flags | backend::kFileFlagSparse
                                                 : attrs->flags & ~backend::kFileFlagSparse;
                         if (flags == attrs->flags) return later(IoctlReply(req, "", nt::kSuccess));
                         backend::SetAttributes set;
                         set.flags = flags;
                         backend->SetAttr(
                             ctx, open->inode, set,
                             [req, later](absl::StatusOr<backend::AttrChange> changed) {
                               if (!changed.ok()) {
                                 return later(SmbResponse{NtStatusFor(changed.status())});
                               }
                               later(IoctlReply(req, "", nt::kSuccess));
                             });
                       });
      return std::nullopt;
    }
    case kFsctlGetReparsePoint:
      return SmbResponse{kStatusNotAReparsePoint};
    default:
      return SmbResponse{nt::kInvalidDeviceRequest};
  }
}

}  // namespace cfs::smb
