#include "lib/server/stock_frontends.h"

#include "lib/protocols/nfs/nfs_frontend.h"
#include "lib/protocols/s3/s3_frontend.h"
#include "lib/protocols/smb/smb_frontend.h"

namespace cfs::server {

std::vector<std::unique_ptr<gateway::Frontend>> StockFrontends() {
  std::vector<std::unique_ptr<gateway::Frontend>> frontends;
  frontends.push_back(std::make_unique<nfs::NfsFrontend>());
  frontends.push_back(std::make_unique<s3::S3Frontend>());
  frontends.push_back(std::make_unique<smb::SmbFrontend>());
  return frontends;
}

}  // namespace cfs::server
