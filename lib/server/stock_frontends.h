// The protocol frontends built into libclaudefs_gateway, by name.
//
// The only place that names concrete protocol packages: today "nfs" (NFSv3 + MOUNT v3); S3 and
// SMB arrive with their own issues.
//
// Example:
//   for (auto& frontend : StockFrontends()) builder.AddFrontend(std::move(frontend));

#ifndef CFS_LIB_SERVER_STOCK_FRONTENDS_H_
#define CFS_LIB_SERVER_STOCK_FRONTENDS_H_

#include <memory>
#include <vector>

#include "lib/gateway/frontend.h"

namespace cfs::server {

std::vector<std::unique_ptr<gateway::Frontend>> StockFrontends();

}  // namespace cfs::server

#endif  // CFS_LIB_SERVER_STOCK_FRONTENDS_H_
