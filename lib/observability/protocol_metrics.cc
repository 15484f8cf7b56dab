#include "lib/observability/protocol_metrics.h"

#include <utility>

namespace cfs::observability {

ProtocolMetrics::ProtocolMetrics(MetricsRegistry& registry, std::string protocol)
    : protocol_(std::move(protocol)),
      requests_(registry.AddCounter("cfs_gateway_protocol_requests_total",
                                    "Requests answered, by protocol and operation.",
                                    {"protocol", "op"})),
      errors_(registry.AddCounter(
          "cfs_gateway_protocol_errors_total",
          "Requests answered with an error, by protocol, operation and the protocol's code.",
          {"protocol", "op", "code"})),
      latency_(registry.AddHistogram("cfs_gateway_protocol_request_duration_seconds",
                                     "Time from a request's arrival to its answer.",
                                     {"protocol", "op"}, LatencyBuckets())),
      received_(registry
                    .AddCounter("cfs_gateway_protocol_received_bytes_total",
                                "Request bytes received, by protocol.", {"protocol"})
                    .With({protocol_})),
      sent_(registry
                .AddCounter("cfs_gateway_protocol_sent_bytes_total",
                            "Response bytes sent, by protocol.", {"protocol"})
                .With({protocol_})) {}

ProtocolMetrics::OpCells& ProtocolMetrics::CellsFor(absl::string_view op) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = ops_.find(op);
  if (it != ops_.end()) return it->second;
  OpCells cells{requests_.With({protocol_, std::string(op)}),
                latency_.With({protocol_, std::string(op)})};
  return ops_.emplace(std::string(op), cells).first->second;
}

void ProtocolMetrics::Record(absl::string_view op, absl::string_view error, absl::Duration latency,
                             uint64_t received_bytes, uint64_t sent_bytes) {
  OpCells& cells = CellsFor(op);
  cells.requests->Increment();
  cells.latency->Observe(absl::ToDoubleSeconds(latency));
  if (!error.empty()) errors_.With({protocol_, std::string(op), std::string(error)})->Increment();
  if (received_bytes > 0) received_->Increment(received_bytes);
  if (sent_bytes > 0) sent_->Increment(sent_bytes);
}

void ReportConnections(SampleSink& sink, absl::string_view protocol, size_t open) {
  sink.Gauge("cfs_gateway_protocol_connections", "Open client connections, by protocol.",
             {{"protocol", std::string(protocol)}}, static_cast<double>(open));
}

}  // namespace cfs::observability
