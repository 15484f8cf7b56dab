// ProtocolMetrics: what every protocol (NFS, MOUNT, S3, SMB) reports about the requests it
// serves, under one set of metric names with a `protocol` label:
//   cfs_gateway_protocol_requests_total{protocol,op}
//   cfs_gateway_protocol_errors_total{protocol,op,code}      code: the protocol's own name
//   cfs_gateway_protocol_request_duration_seconds{protocol,op}  (histogram)
//   cfs_gateway_protocol_received_bytes_total{protocol}
//   cfs_gateway_protocol_sent_bytes_total{protocol}
//   cfs_gateway_protocol_connections{protocol}   (open connections, from each frontend's
//                                                 collector through ReportConnections)
// Thread-safe; Record() takes one short lock the first time an op is seen, atomics after.
//
// Example:
//   ProtocolMetrics nfs(registry, "nfs");
//   nfs.Record("READ", "", absl::Microseconds(80), /*received=*/140, /*sent=*/4216);
//   nfs.Record("LOOKUP", "NFS3ERR_NOENT", absl::Microseconds(30), 120, 96);

#ifndef CFS_LIB_OBSERVABILITY_PROTOCOL_METRICS_H_
#define CFS_LIB_OBSERVABILITY_PROTOCOL_METRICS_H_

#include <map>
#include <mutex>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/observability/metrics.h"

namespace cfs::observability {

class ProtocolMetrics {
 public:
  // Borrows `registry`, which must outlive this.
  ProtocolMetrics(MetricsRegistry& registry, std::string protocol);

  // One answered request. `error` is empty on success, else the protocol's status name
  // (NFS3ERR_NOENT, NoSuchKey, STATUS_ACCESS_DENIED).
  void Record(absl::string_view op, absl::string_view error, absl::Duration latency,
              uint64_t received_bytes, uint64_t sent_bytes);

  const std::string& protocol() const { return protocol_; }

 private:
  struct OpCells {
    Counter* requests;
    Histogram* latency;
  };
  OpCells& CellsFor(absl::string_view op);

  const std::string protocol_;
  Family<Counter>& requests_;
  Family<Counter>& errors_;
  Family<Histogram>& latency_;
  Counter* received_;
  Counter* sent_;
  std::mutex mu_;
  std::map<std::string, OpCells, std::less<>> ops_;  // guarded by mu_
};

// For a frontend's collector: `open` connections of `protocol`.
void ReportConnections(SampleSink& sink, absl::string_view protocol, size_t open);

}  // namespace cfs::observability

#endif  // CFS_LIB_OBSERVABILITY_PROTOCOL_METRICS_H_
