#include "lib/node/data_node.h"

#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <utility>
#include <vector>

#include "lib/backend/errors.h"

namespace cfs::remote {

absl::StatusOr<std::unique_ptr<DataNode>> DataNode::Open(const std::string& root) {
  absl::StatusOr<std::unique_ptr<embedded::ExtentStore>> store = embedded::ExtentStore::Open(root);
  if (!store.ok()) return store.status();
  // A boot verifier: the start time mixed with randomness, so two nodes (or two starts in one
  // microsecond) never share one.
  std::random_device random;
  backend::WriteVerifier verifier = (static_cast<uint64_t>(absl::ToUnixMicros(absl::Now())) << 16) ^
                                    random() ^ (static_cast<uint64_t>(random()) << 32);
  return std::unique_ptr<DataNode>(new DataNode(std::move(*store), verifier));
}

DataNode::Answer DataNode::ServeFrame(const a4::Header& header, absl::string_view payload,
                                      absl::Time arrived) {
  absl::StatusOr<a4::Request> request = a4::DecodeRequest(header, payload);
  a4::Response response;
  Answer answer;
  if (!request.ok()) {
    response.op = header.op;
    response.request_id = header.request_id;
    response.status = request.status();  // a well-framed but malformed body: answered
  } else {
    response = Handle(*request, arrived, &answer.data);
  }
  answer.head = a4::EncodeResponse(response);
  if (!response.status.ok() || response.op != a4::Op::kRead) answer.data.clear();
  return answer;
}

a4::Response DataNode::Handle(const a4::Request& request, absl::Time arrived, std::string* buffer) {
  a4::Response response;
  response.op = request.op;
  response.request_id = request.request_id;
  if (request.timeout_ms != 0 && absl::Now() > arrived + absl::Milliseconds(request.timeout_ms)) {
    response.status = absl::DeadlineExceededError("A4 request waited past its time budget");
    return response;
  }
  response.status = Serve(request, &response, buffer);
  if (!response.status.ok()) {
    response.data = {};
    response.ranges.clear();
  }
  return response;
}

absl::Status DataNode::Serve(const a4::Request& request, a4::Response* response,
                             std::string* buffer) {
  switch (request.op) {
    case a4::Op::kPing:
      response->verifier = verifier_;
      return absl::OkStatus();
    case a4::Op::kRead: {
      if (absl::Status s = store_->Read(request.inode, request.offset, request.length, buffer);
          !s.ok()) {
        return s;
      }
      response->data = *buffer;
      response->eof = request.offset + buffer->size() >= store_->Length(request.inode);
      return absl::OkStatus();
    }
    case a4::Op::kWrite: {
      if (absl::Status s = store_->Write(request.inode, request.offset, request.data); !s.ok()) {
        return s;
      }
      if (request.stability != backend::Stability::kUnstable) {
        if (absl::Status s = store_->Sync(request.inode); !s.ok()) return s;
      }
      response->count = request.data.size();
      response->stability = request.stability;
      response->verifier = verifier_;
      return absl::OkStatus();
    }
    case a4::Op::kCommit:
      response->verifier = verifier_;
      return store_->Sync(request.inode);
    case a4::Op::kTruncate: {
      // Only a shrink needs the local file: beyond its end everything reads as a hole anyway.
      if (store_->Length(request.inode) <= request.length) return absl::OkStatus();
      if (absl::Status s = store_->Truncate(request.inode, request.length); !s.ok()) return s;
      return store_->Sync(request.inode);
    }
    case a4::Op::kRemove:
      return store_->Remove(request.inode);
    case a4::Op::kStat: {
      struct statvfs fs {};
      if (::statvfs(store_->root().c_str(), &fs) != 0) {
        return backend::FsErrorStatus(backend::FsError::kIo,
                                      std::string("statvfs: ") + std::strerror(errno));
      }
      response->total_bytes = static_cast<uint64_t>(fs.f_blocks) * fs.f_frsize;
      response->free_bytes = static_cast<uint64_t>(fs.f_bfree) * fs.f_frsize;
      response->available_bytes = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
      response->filesystem_id = fs.f_fsid;
      return absl::OkStatus();
    }
    case a4::Op::kMap: {
      uint64_t length = store_->Length(request.inode);
      if (request.offset >= length) return absl::OkStatus();
      absl::StatusOr<std::vector<backend::Extent>> extents =
          store_->Map(request.inode, request.offset, request.length, length);
      if (!extents.ok()) return extents.status();
      for (const backend::Extent& e : *extents) {
        if (e.hole || e.length == 0) continue;
        if (response->ranges.size() == a4::kMaxRanges) break;
        response->ranges.push_back({e.offset, e.length});
      }
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError("unknown A4 op");
}

}  // namespace cfs::remote
