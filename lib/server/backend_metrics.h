// Backend metrics and readiness: scrape-time collectors for what lives inside the backend
// chain (the attribute cache, the remote backend's circuit breakers and connection pools), and
// one readiness check per remote backend node. The builder registers them with the Gateway.
//
// Metric names:
//   cfs_gateway_attribute_cache_{hits,misses,invalidations}_total, cfs_gateway_attribute_cache_
//   entries, cfs_gateway_attribute_cache_hit_ratio
//   cfs_gateway_backend_breaker_state{breaker}   0 closed, 1 half-open, 2 open
//   cfs_gateway_backend_breaker_{opened,refused}_total{breaker}
//   cfs_gateway_backend_pool_connections{node,state="open|connecting|in_use"}
//   cfs_gateway_backend_pool_waiters{node}
//   cfs_gateway_backend_pool_{opened,connect_failures,replaced,reaped,rejected}_total{node}
//   cfs_gateway_quota_usage_{bytes,inodes}{kind,subject}
//   cfs_gateway_quota_limit_{bytes,inodes}{kind,subject,limit="soft|hard"}
//   cfs_gateway_quota_soft_exceeded{kind,subject}   1 while usage is above a soft limit
//   cfs_gateway_quota_refusals_total, cfs_gateway_quota_soft_crossings_total
//
// Example:
//   registrations.push_back(RegisterAttributeCacheMetrics(registry, *cache));

#ifndef CFS_LIB_SERVER_BACKEND_METRICS_H_
#define CFS_LIB_SERVER_BACKEND_METRICS_H_

#include <memory>
#include <vector>

#include "lib/backends/filters/attribute_cache.h"
#include "lib/backends/filters/quota_filter.h"
#include "lib/backends/remote/remote_backend.h"
#include "lib/gateway/gateway.h"
#include "lib/observability/metrics.h"
#include "lib/resilience/circuit_breaker.h"

namespace cfs::server {

// Borrows `cache`, which must outlive the registration.
observability::MetricsRegistry::Registration RegisterAttributeCacheMetrics(
    observability::MetricsRegistry& registry, const filters::AttributeCache& cache);

// Borrows `remote`, which must outlive the registration.
observability::MetricsRegistry::Registration RegisterRemoteBackendMetrics(
    observability::MetricsRegistry& registry, const remote::RemoteBackend& remote);

// Borrows `quotas`, which must outlive the registration.
observability::MetricsRegistry::Registration RegisterQuotaMetrics(
    observability::MetricsRegistry& registry, const filters::QuotaFilter& quotas);

// Every node's breaker, with its connection pool where it has one (data nodes).
std::vector<gateway::Gateway::NodeState> BackendNodeStates(const remote::RemoteBackend& remote);

// One check per breaker ("node a4:10.0.0.2:7100"): failing while its circuit is open.
std::vector<gateway::Gateway::Check> BreakerChecks(
    const resilience::CircuitBreakerRegistry& breakers);

}  // namespace cfs::server

#endif  // CFS_LIB_SERVER_BACKEND_METRICS_H_
