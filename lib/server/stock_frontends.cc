#include "lib/server/stock_frontends.h"

namespace cfs::server {

std::vector<std::unique_ptr<gateway::Frontend>> StockFrontends() { return {}; }

}  // namespace cfs::server
