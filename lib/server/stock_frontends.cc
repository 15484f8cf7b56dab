#include "lib/server/stock_frontends.h"

#include "lib/protocols/nfs/nfs_frontend.h"

namespace cfs::server {

std::vector<std::unique_ptr<gateway::Frontend>> StockFrontends() {
  std::vector<std::unique_ptr<gateway::Frontend>> frontends;
  frontends.push_back(std::make_unique<nfs::NfsFrontend>());
  return frontends;
}

}  // namespace cfs::server
