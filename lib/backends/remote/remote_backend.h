// RemoteBackend: the backend SPI served by a cfs-node cluster. Metadata calls go to the
// metadata node over gRPC (A2, proto/a2.proto); file bytes go straight to the data nodes over A4
// (docs/protocols/a4.md) through a pluggable transport, striped as the cluster's layout says
// (placement.h): a read or write is cut into stripe pieces sent to their nodes in parallel.
//
// Consistency rules the data path keeps:
// - A file's size is metadata. A write's bytes go to the data nodes first; then NoteWrite
//   extends the size (so a reader never sees a size whose bytes are not written yet).
// - A shrink (SetAttr, or a Create that truncates) cuts the bytes past the new size from the
//   data nodes before the metadata node changes the size, so no old byte can come back with a
//   later grow. Writes never cut anything: writes in flight together (an upload, an NFS client
//   pipelining) each land their own bytes.
// - The write verifier combines the metadata node's and every data node's boot verifiers, so it
//   changes when any of them restarts (clients resend unstable writes, as NFS expects).
// - The bytes of a file whose last link goes away are removed from the data nodes once the
//   metadata node says the inode is gone.
//
// Thread-safe. Callbacks run on gRPC or transport threads.
//
// Example:
//   RemoteBackendOptions options;
//   options.metadata_address = "127.0.0.1:7000";
//   options.transport = std::make_shared<SocketA4Transport>();
//   absl::StatusOr<std::unique_ptr<RemoteBackend>> backend = RemoteBackend::Connect(options);

#ifndef CFS_LIB_BACKENDS_REMOTE_REMOTE_BACKEND_H_
#define CFS_LIB_BACKENDS_REMOTE_REMOTE_BACKEND_H_

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/backend/backend.h"
#include "lib/backends/remote/a4_channel.h"
#include "lib/backends/remote/proto/a2.grpc.pb.h"
#include "lib/resilience/backoff.h"
#include "lib/resilience/circuit_breaker.h"
#include "lib/resilience/conn_pool.h"
#include "lib/resilience/scheduler.h"

namespace cfs::remote {

struct RemoteBackendOptions {
  std::string metadata_address;  // the metadata node's A2 address, "host:port"
  std::shared_ptr<A4Transport> transport;
  // Every call gets at most this long (and never past its own deadline): the breaker's
  // operation timeout.
  absl::Duration operation_timeout = absl::Seconds(5);
  // Per data node; its connect_timeout also bounds reaching every node at start.
  resilience::ConnPoolOptions pool;
  resilience::CircuitBreakerOptions breaker;  // per node (data nodes and the metadata node)
  // Where the breakers live (shared with metrics); null: the backend makes its own.
  std::shared_ptr<resilience::CircuitBreakerRegistry> breakers;
  resilience::BackoffPolicy retry;  // for node failures of idempotent calls
};

class RemoteBackend : public backend::Backend {
 public:
  // Reaches the metadata node, learns the layout and connects to every data node.
  // Errors: kUnavailable (a node unreachable), kInvalidArgument (options).
  static absl::StatusOr<std::unique_ptr<RemoteBackend>> Connect(RemoteBackendOptions options);
  ~RemoteBackend() override;

  std::string Describe() const override;
  absl::Status Health() const override;
  absl::Status Shutdown(absl::Time deadline) override;

  // The circuit breakers of every node (for metrics and health).
  const std::shared_ptr<resilience::CircuitBreakerRegistry>& breakers() const { return breakers_; }
  // Pool statistics per data node address.
  std::vector<std::pair<std::string, resilience::ConnPool::Stats>> PoolStats() const;

  // ---- MetadataService ----
  void Lookup(const backend::RequestContext& ctx, backend::InodeNumber dir, absl::string_view name,
              backend::Callback<backend::Attributes> done) override;
  void GetAttr(const backend::RequestContext& ctx, backend::InodeNumber inode,
               backend::Callback<backend::Attributes> done) override;
  void SetAttr(const backend::RequestContext& ctx, backend::InodeNumber inode,
               const backend::SetAttributes& attrs,
               backend::Callback<backend::AttrChange> done) override;
  void Access(const backend::RequestContext& ctx, backend::InodeNumber inode, uint32_t requested,
              backend::Callback<uint32_t> done) override;
  void Create(const backend::RequestContext& ctx, const backend::CreateRequest& request,
              backend::Callback<backend::EntryResult> done) override;
  void MakeDirectory(const backend::RequestContext& ctx, backend::InodeNumber parent,
                     absl::string_view name, const backend::SetAttributes& attrs,
                     backend::Callback<backend::EntryResult> done) override;
  void MakeSymlink(const backend::RequestContext& ctx, backend::InodeNumber parent,
                   absl::string_view name, absl::string_view target,
                   const backend::SetAttributes& attrs,
                   backend::Callback<backend::EntryResult> done) override;
  void MakeNode(const backend::RequestContext& ctx, backend::InodeNumber parent,
                absl::string_view name, backend::FileType type, uint32_t rdev_major,
                uint32_t rdev_minor, const backend::SetAttributes& attrs,
                backend::Callback<backend::EntryResult> done) override;
  void ReadLink(const backend::RequestContext& ctx, backend::InodeNumber inode,
                backend::Callback<std::string> done) override;
  void Link(const backend::RequestContext& ctx, backend::InodeNumber inode,
            backend::InodeNumber dir, absl::string_view name,
            backend::Callback<backend::EntryResult> done) override;
  void Unlink(const backend::RequestContext& ctx, backend::InodeNumber dir, absl::string_view name,
              backend::Callback<backend::DirChange> done) override;
  void RemoveDirectory(const backend::RequestContext& ctx, backend::InodeNumber dir,
                       absl::string_view name, backend::Callback<backend::DirChange> done) override;
  void Rename(const backend::RequestContext& ctx, backend::InodeNumber from_dir,
              absl::string_view from_name, backend::InodeNumber to_dir, absl::string_view to_name,
              backend::Callback<backend::RenameResult> done) override;
  void ReadDir(const backend::RequestContext& ctx, backend::InodeNumber dir, uint64_t cookie,
               uint64_t verifier, size_t max_entries, bool with_attributes,
               backend::Callback<backend::ReadDirResult> done) override;
  void FsStat(const backend::RequestContext& ctx, backend::InodeNumber inode,
              backend::Callback<backend::FsStatResult> done) override;
  void GetXattr(const backend::RequestContext& ctx, backend::InodeNumber inode,
                absl::string_view name, backend::Callback<std::string> done) override;
  void SetXattr(const backend::RequestContext& ctx, backend::InodeNumber inode,
                absl::string_view name, absl::string_view value, backend::XattrSetMode mode,
                backend::Callback<backend::Done> done) override;
  void ListXattrs(const backend::RequestContext& ctx, backend::InodeNumber inode,
                  backend::Callback<std::vector<std::string>> done) override;
  void RemoveXattr(const backend::RequestContext& ctx, backend::InodeNumber inode,
                   absl::string_view name, backend::Callback<backend::Done> done) override;
  void GetExtentMap(const backend::RequestContext& ctx, backend::InodeNumber inode, uint64_t offset,
                    uint64_t length, backend::Callback<std::vector<backend::Extent>> done) override;
  void Open(const backend::RequestContext& ctx, backend::InodeNumber inode,
            backend::Callback<backend::Done> done) override;
  void Release(const backend::RequestContext& ctx, backend::InodeNumber inode,
               backend::Callback<backend::Done> done) override;

  // ---- DataService ----
  void Read(const backend::RequestContext& ctx, backend::InodeNumber inode, uint64_t offset,
            uint64_t count, backend::Callback<backend::ReadResult> done) override;
  void Write(const backend::RequestContext& ctx, backend::InodeNumber inode, uint64_t offset,
             Buffer data, backend::Stability stability,
             backend::Callback<backend::WriteResult> done) override;
  void Commit(const backend::RequestContext& ctx, backend::InodeNumber inode, uint64_t offset,
              uint64_t count, backend::Callback<backend::CommitResult> done) override;
  backend::WriteVerifier CurrentWriteVerifier() const override;

 private:
  class DataNodeLink;
  class Rpc;
  RemoteBackend(RemoteBackendOptions options);
  absl::Status Start();

  absl::Time DeadlineFor(const backend::RequestContext& ctx) const;
  // One A4 request to data node `node`; `done` gets the reply or the error.
  // An open circuit fails it at once; node failures are retried with backoff.
  void CallNode(size_t node, a4::Request request, std::shared_ptr<const void> keep_alive,
                absl::Time deadline, A4Done done, int attempt = 0);
  // The same request to every data node; `done` gets the first error, or OK.
  void CallAllNodes(const a4::Request& request, absl::Time deadline,
                    absl::AnyInvocable<void(absl::Status) &&> done);
  // The data ranges of `inode`'s local file on `node` within [from, to), appended to `out`
  // (which must outlive the call), in as many MAP requests as needed.
  void MapNode(size_t node, backend::InodeNumber inode, uint64_t from, uint64_t to,
               absl::Time deadline, std::vector<a4::DataRange>& out,
               absl::AnyInvocable<void(absl::Status) &&> done);
  // Counts a call's outcome on a node's breaker and logs when the circuit opens or closes.
  static void NoteNodeResult(resilience::CircuitBreaker& breaker, bool ok);
  // Records a data node's boot verifier (from a PING, WRITE or COMMIT response).
  void NoteVerifier(size_t node, backend::WriteVerifier verifier);
  // Sends the pieces of a write and then NoteWrite.
  void WritePieces(const backend::RequestContext& ctx, backend::InodeNumber inode, uint64_t offset,
                   std::shared_ptr<const void> keep_alive, absl::string_view data,
                   backend::Stability stability, backend::Callback<backend::WriteResult> done);
  // After an unlink, rename or release: if the metadata node no longer knows `inode`, its
  // bytes are removed from the data nodes (in the background).
  void ReclaimIfFreed(backend::InodeNumber inode);

  const RemoteBackendOptions options_;
  const std::shared_ptr<resilience::CircuitBreakerRegistry> breakers_;
  std::shared_ptr<resilience::CircuitBreaker> metadata_breaker_;
  std::unique_ptr<resilience::Scheduler> scheduler_;
  // A2 calls whose completion has not run yet; the destructor waits for none.
  void RpcStarted();
  void RpcFinished();
  std::mutex rpc_mu_;
  std::condition_variable rpc_idle_;
  int rpcs_in_flight_ = 0;  // guarded by rpc_mu_
  std::mutex rng_mu_;
  std::mt19937_64 rng_;  // guarded by rng_mu_
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<::cfs::a2::v1::MetadataService::Stub> stub_;
  uint64_t stripe_size_ = 0;
  uint64_t metadata_verifier_ = 0;
  std::vector<std::unique_ptr<DataNodeLink>> nodes_;
  // The data nodes' A4 TCP addresses as A2 names them (in extent maps), in nodes_ order; a
  // libfabric transport reaches the same nodes at other addresses.
  std::vector<std::string> layout_servers_;
  std::atomic<bool> shut_down_{false};
};

}  // namespace cfs::remote

#endif  // CFS_LIB_BACKENDS_REMOTE_REMOTE_BACKEND_H_
