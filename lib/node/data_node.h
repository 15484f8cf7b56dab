// DataNode: what a cfs-node's A4 data service does with each request, independent of the
// transport that carried it (TCP or libfabric). Stores every inode's stripes in one sparse local
// file at their file offsets (embedded::ExtentStore), as docs/protocols/a4.md describes.
// Thread-safe: Handle() runs on many worker threads at once; it blocks on disk I/O.
//
// Example:
//   auto node = DataNode::Open("/var/lib/cfs-node/data");
//   std::string buffer;
//   a4::Response resp = (*node)->Handle(request, absl::Now(), &buffer);

#ifndef CFS_LIB_BACKENDS_REMOTE_DATA_NODE_H_
#define CFS_LIB_BACKENDS_REMOTE_DATA_NODE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/backends/embedded/extent_store.h"
#include "lib/backends/remote/a4_frame.h"

namespace cfs::remote {

class DataNode {
 public:
  // Opens (creating) the store under `root`. The write verifier is new on every Open.
  static absl::StatusOr<std::unique_ptr<DataNode>> Open(const std::string& root);

  // Serves one request that arrived at `arrived`. A READ's bytes go into `*buffer`, which the
  // response's data views. A request whose time budget ran out before it started fails with
  // kDeadlineExceeded and does nothing.
  a4::Response Handle(const a4::Request& request, absl::Time arrived, std::string* buffer);

  // The encoded answer to one request frame: the response head and, for a READ, its bytes
  // (sent right after the head). A frame whose body does not decode is answered with the error.
  struct Answer {
    std::string head;
    std::string data;
  };
  Answer ServeFrame(const a4::Header& header, absl::string_view payload, absl::Time arrived);

  backend::WriteVerifier verifier() const { return verifier_; }

 private:
  DataNode(std::unique_ptr<embedded::ExtentStore> store, backend::WriteVerifier verifier)
      : store_(std::move(store)), verifier_(verifier) {}
  absl::Status Serve(const a4::Request& request, a4::Response* response, std::string* buffer);

  std::unique_ptr<embedded::ExtentStore> store_;
  const backend::WriteVerifier verifier_;
};

}  // namespace cfs::remote

#endif  // CFS_LIB_BACKENDS_REMOTE_DATA_NODE_H_
