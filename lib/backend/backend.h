// Backend: one store behind the gateway, both its metadata (A2) and data (A4) halves.
//
// The gateway owns exactly one Backend (GatewayBuilder::SetBackend). Filters wrap one and are
// Backends themselves. Embedders implement this to put the gateway in front of their own store.
// Thread-safe.
//
// Example:
//   std::unique_ptr<Backend> backend = ...;
//   backend->GetAttr(ctx, kRootInode, [](absl::StatusOr<Attributes> root) { ... });
//   backend->Shutdown();

#ifndef CFS_LIB_BACKEND_BACKEND_H_
#define CFS_LIB_BACKEND_BACKEND_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "lib/backend/data_service.h"
#include "lib/backend/metadata_service.h"

namespace cfs::backend {

class Backend : public MetadataService, public DataService {
 public:
  ~Backend() override = default;

  // A short name for logs and health ("embedded:/var/lib/cfs", "remote:3 nodes").
  virtual std::string Describe() const = 0;

  // OK while the backend can serve requests (readiness).
  virtual absl::Status Health() const = 0;

  // Finishes calls in flight, flushes what must be durable, and refuses later calls with
  // kUnavailable. Blocks at most until `deadline`. Idempotent.
  virtual absl::Status Shutdown(absl::Time deadline) = 0;
};

using BackendPtr = std::unique_ptr<Backend>;

}  // namespace cfs::backend

#endif  // CFS_LIB_BACKEND_BACKEND_H_
