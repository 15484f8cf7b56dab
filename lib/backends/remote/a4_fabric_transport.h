// FabricA4Transport: A4 over libfabric reliable connected endpoints (FI_EP_MSG), tested with the
// software `tcp` and `sockets` providers and meant for RDMA-capable ones. The provider is picked
// by libfabric's own order (hardware first) unless one is named. Each channel is one
// FabricConnection with its progress thread; completions run on that thread. Data nodes serve
// libfabric on their own addresses (the cluster layout's fabric_servers), not the TCP ones.
// Destroying the transport breaks the channels still open on it (their calls fail with
// kUnavailable) and waits for their progress threads to leave. Thread-safe.
//
// Example:
//   FabricA4Transport transport("tcp");   // or "" to auto-detect
//   auto channel = transport.Connect("127.0.0.1:7200", absl::Now() + absl::Seconds(5));

#ifndef CFS_LIB_BACKENDS_REMOTE_A4_FABRIC_TRANSPORT_H_
#define CFS_LIB_BACKENDS_REMOTE_A4_FABRIC_TRANSPORT_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "lib/backends/remote/a4_channel.h"
#include "lib/backends/remote/fabric_connection.h"

namespace cfs::remote {

class FabricA4Transport : public A4Transport {
 public:
  // `provider`: "tcp", "sockets", ...; empty: auto-detect.
  explicit FabricA4Transport(std::string provider) : provider_(std::move(provider)) {}
  ~FabricA4Transport() override;
  FabricA4Transport(const FabricA4Transport&) = delete;
  FabricA4Transport& operator=(const FabricA4Transport&) = delete;

  // "libfabric:<provider>", the provider actually used once a connection was made.
  std::string Name() const override;
  bool UsesFabricAddresses() const override { return true; }
  absl::StatusOr<std::unique_ptr<A4Channel>> Connect(const std::string& address,
                                                     absl::Time deadline) override;

 private:
  const std::string provider_;
  mutable std::mutex mu_;
  std::string used_;  // guarded by mu_: the provider of the last connection
  // guarded by mu_: open domains by provider/fabric/domain name, shared by their connections
  std::map<std::string, std::weak_ptr<FabricDomain>> domains_;
  // Every connection made, broken and waited for when the transport goes.
  std::shared_ptr<FabricConnectionGroup> conns_ = std::make_shared<FabricConnectionGroup>();
};

}  // namespace cfs::remote

#endif  // CFS_LIB_BACKENDS_REMOTE_A4_FABRIC_TRANSPORT_H_
