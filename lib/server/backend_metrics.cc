#include "lib/server/backend_metrics.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace cfs::server {

using observability::MetricsRegistry;
using observability::SampleSink;

MetricsRegistry::Registration RegisterAttributeCacheMetrics(MetricsRegistry& registry,
                                                            const filters::AttributeCache& cache) {
  return registry.AddCollector([&cache](SampleSink& sink) {
    filters::AttributeCache::Stats s = cache.stats();
    sink.Counter("cfs_gateway_attribute_cache_hits_total",
                 "Attribute lookups answered from the cache.", {}, s.hits);
    sink.Counter("cfs_gateway_attribute_cache_misses_total",
                 "Attribute lookups that went to the backend.", {}, s.misses);
    sink.Counter("cfs_gateway_attribute_cache_invalidations_total",
                 "Cached attributes dropped because the inode changed.", {}, s.invalidations);
    sink.Gauge("cfs_gateway_attribute_cache_entries", "Inodes whose attributes are cached.", {},
               static_cast<double>(s.entries));
    sink.Gauge("cfs_gateway_attribute_cache_hit_ratio",
               "Hits over hits and misses since start (0 before any lookup).", {}, s.hit_ratio());
  });
}

MetricsRegistry::Registration RegisterQuotaMetrics(MetricsRegistry& registry,
                                                   const filters::QuotaFilter& quotas) {
  return registry.AddCollector([&quotas](SampleSink& sink) {
    for (const quota::QuotaReport& r : quotas.ListQuotas()) {
      std::string kind(quota::QuotaKindName(r.setting.subject.kind));
      observability::Labels labels = {{"kind", kind}, {"subject", r.setting.subject.name}};
      sink.Gauge("cfs_gateway_quota_usage_bytes", "Bytes counted against a quota.", labels,
                 static_cast<double>(r.usage.bytes));
      sink.Gauge("cfs_gateway_quota_usage_inodes", "Files counted against a quota.", labels,
                 static_cast<double>(r.usage.inodes));
      const quota::QuotaLimits& l = r.setting.limits;
      const std::pair<const char*, uint64_t> bytes[] = {{"soft", l.soft_bytes},
                                                        {"hard", l.hard_bytes}};
      const std::pair<const char*, uint64_t> inodes[] = {{"soft", l.soft_inodes},
                                                         {"hard", l.hard_inodes}};
      for (const auto& [which, value] : bytes) {
        if (value == 0) continue;
        observability::Labels with = labels;
        with.push_back({"limit", which});
        sink.Gauge("cfs_gateway_quota_limit_bytes", "A quota's byte limit.", with,
                   static_cast<double>(value));
      }
      for (const auto& [which, value] : inodes) {
        if (value == 0) continue;
        observability::Labels with = labels;
        with.push_back({"limit", which});
        sink.Gauge("cfs_gateway_quota_limit_inodes", "A quota's file limit.", with,
                   static_cast<double>(value));
      }
      sink.Gauge("cfs_gateway_quota_soft_exceeded",
                 "1 while a quota's usage is above one of its soft limits.", labels,
                 r.soft_exceeded ? 1 : 0);
    }
    quota::QuotaLedger::Stats s = quotas.ledger().stats();
    sink.Counter("cfs_gateway_quota_refusals_total", "Changes refused by a hard quota limit.", {},
                 static_cast<double>(s.refusals));
    sink.Counter("cfs_gateway_quota_soft_crossings_total",
                 "Times a quota's usage rose past a soft limit.", {},
                 static_cast<double>(s.soft_crossings));
  });
}

MetricsRegistry::Registration RegisterRemoteBackendMetrics(MetricsRegistry& registry,
                                                           const remote::RemoteBackend& remote) {
  return registry.AddCollector([&remote](SampleSink& sink) {
    for (const resilience::CircuitBreakerRegistry::Entry& e : remote.breakers()->Snapshot()) {
      double state = e.state == resilience::CircuitBreaker::State::kClosed     ? 0
                     : e.state == resilience::CircuitBreaker::State::kHalfOpen ? 1
                                                                               : 2;
      observability::Labels labels = {{"breaker", e.name}};
      sink.Gauge("cfs_gateway_backend_breaker_state",
                 "Circuit breaker state per backend node: 0 closed, 1 half-open, 2 open.", labels,
                 state);
      sink.Counter("cfs_gateway_backend_breaker_opened_total", "Times the circuit opened.", labels,
                   static_cast<double>(e.times_opened));
      sink.Counter("cfs_gateway_backend_breaker_refused_total",
                   "Calls failed at once because the circuit was open.", labels,
                   static_cast<double>(e.calls_refused));
    }
    for (const auto& [node, s] : remote.PoolStats()) {
      for (const auto& [state, count] : {std::pair<const char*, size_t>{"open", s.connections},
                                         {"connecting", s.connecting},
                                         {"in_use", s.in_use}}) {
        sink.Gauge("cfs_gateway_backend_pool_connections",
                   "Pooled data node connections: open, being opened, and requests holding one.",
                   {{"node", node}, {"state", state}}, static_cast<double>(count));
      }
      observability::Labels labels = {{"node", node}};
      sink.Gauge("cfs_gateway_backend_pool_waiters", "Requests waiting for a pooled connection.",
                 labels, static_cast<double>(s.waiters));
      sink.Counter("cfs_gateway_backend_pool_opened_total", "Connections opened.", labels,
                   static_cast<double>(s.opened));
      sink.Counter("cfs_gateway_backend_pool_connect_failures_total", "Connects that failed.",
                   labels, static_cast<double>(s.connect_failures));
      sink.Counter("cfs_gateway_backend_pool_replaced_total",
                   "Broken or unhealthy connections dropped.", labels,
                   static_cast<double>(s.replaced));
      sink.Counter("cfs_gateway_backend_pool_reaped_total", "Idle connections closed.", labels,
                   static_cast<double>(s.reaped));
      sink.Counter("cfs_gateway_backend_pool_rejected_total",
                   "Requests refused because too many waited.", labels,
                   static_cast<double>(s.rejected));
    }
  });
}

std::vector<gateway::Gateway::Check> BreakerChecks(
    const resilience::CircuitBreakerRegistry& breakers) {
  std::vector<gateway::Gateway::Check> checks;
  for (const resilience::CircuitBreakerRegistry::Entry& e : breakers.Snapshot()) {
    absl::Status status =
        e.state == resilience::CircuitBreaker::State::kOpen
            ? absl::UnavailableError("circuit open: the node failed and is not called")
            : absl::OkStatus();
    checks.push_back({absl::StrCat("node ", e.name), std::move(status)});
  }
  return checks;
}

std::vector<gateway::Gateway::NodeState> BackendNodeStates(const remote::RemoteBackend& remote) {
  std::vector<std::pair<std::string, resilience::ConnPool::Stats>> pools = remote.PoolStats();
  std::vector<gateway::Gateway::NodeState> out;
  for (const resilience::CircuitBreakerRegistry::Entry& e : remote.breakers()->Snapshot()) {
    gateway::Gateway::NodeState node;
    node.name = e.name;
    node.breaker_state = e.state == resilience::CircuitBreaker::State::kClosed     ? "closed"
                         : e.state == resilience::CircuitBreaker::State::kHalfOpen ? "half-open"
                                                                                   : "open";
    node.times_opened = e.times_opened;
    node.calls_refused = e.calls_refused;
    for (const auto& [name, stats] : pools) {
      if ("a4:" + name != e.name) continue;  // pools are named by address alone
      node.has_pool = true;
      node.pool_connections = stats.connections;
      node.pool_connecting = stats.connecting;
      node.pool_in_use = stats.in_use;
      node.pool_waiters = stats.waiters;
    }
    out.push_back(std::move(node));
  }
  return out;
}

}  // namespace cfs::server
