// MetricsRegistry: the gateway's metrics, rendered in the Prometheus text exposition format
// (version 0.0.4) for the admin port's /metrics.
//
// Two kinds of metrics:
// - Families that code updates as things happen: counters, gauges and histograms with labels.
//   A family hands out one cell per label-value combination; cells live as long as the
//   registry, so callers keep the pointer and update it without a lookup (atomics, no lock).
// - Collectors, called at scrape time, for state that lives elsewhere (circuit breakers,
//   connection pools, open connections): they report samples into a SampleSink.
//
// Names follow cfs_gateway_<area>_<what>_<unit> (docs/operations.md lists them all).
// Thread-safe.
//
// Example:
//   MetricsRegistry registry;
//   Family<Counter>& requests = registry.AddCounter(
//       "cfs_gateway_protocol_requests_total", "Requests served.", {"protocol", "op"});
//   requests.With({"nfs", "READ"})->Increment();
//   auto registration = registry.AddCollector([&](SampleSink& sink) {
//     sink.Gauge("cfs_gateway_x", "X.", {{"node", "a"}}, 1);
//   });
//   std::string text = registry.RenderText();

#ifndef CFS_LIB_OBSERVABILITY_METRICS_H_
#define CFS_LIB_OBSERVABILITY_METRICS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace cfs::observability {

// Label names and values, in order.
using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Increment(uint64_t by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(int64_t v) { value_.store(v, std::memory_order_relaxed); }
  void Add(int64_t by) { value_.fetch_add(by, std::memory_order_relaxed); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// Observations counted into buckets with fixed upper bounds (ascending), plus their sum.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // per bound, then +Inf (== count)
    double sum = 0;
  };
  Snapshot snapshot() const;

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1 (the last: +Inf)
  std::atomic<double> sum_{0};
};

// Latency buckets in seconds, 100 µs to 10 s.
const std::vector<double>& LatencyBuckets();

// Samples a collector reports at scrape time.
class SampleSink {
 public:
  virtual ~SampleSink() = default;
  virtual void Gauge(absl::string_view name, absl::string_view help, const Labels& labels,
                     double value) = 0;
  virtual void Counter(absl::string_view name, absl::string_view help, const Labels& labels,
                       double value) = 0;
};

// The cells of one metric name, one per label-value combination.
template <typename Cell>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::function<std::unique_ptr<Cell>()> make)
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        make_(std::move(make)) {}

  // The cell for `values` (one per label name), created at first use; valid as long as the
  // registry. Missing values are empty strings, extra ones are dropped.
  Cell* With(std::vector<std::string> values) {
    values.resize(label_names_.size());
    std::lock_guard<std::mutex> lock(mu_);
    std::unique_ptr<Cell>& cell = cells_[std::move(values)];
    if (cell == nullptr) cell = make_();
    return cell.get();
  }

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // Calls fn(values, cell) for every cell, in label order.
  void ForEach(const std::function<void(const std::vector<std::string>&, const Cell&)>& fn) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [values, cell] : cells_) fn(values, *cell);
  }

 private:
  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const std::function<std::unique_ptr<Cell>()> make_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Cell>> cells_;  // guarded by mu_
};

class MetricsRegistry {
 public:
  using Collector = std::function<void(SampleSink& sink)>;

  // Removes its collector when destroyed (or reset). Movable.
  class Registration {
   public:
    Registration() = default;
    Registration(MetricsRegistry* registry, uint64_t id) : registry_(registry), id_(id) {}
    Registration(Registration&& other) noexcept { *this = std::move(other); }
    Registration& operator=(Registration&& other) noexcept;
    ~Registration() { Reset(); }
    void Reset();

   private:
    MetricsRegistry* registry_ = nullptr;
    uint64_t id_ = 0;
  };

  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // The family called `name`, made on the first call; later calls with the same name return
  // it (its help and labels stay those of the first call).
  Family<Counter>& AddCounter(const std::string& name, const std::string& help,
                              std::vector<std::string> label_names);
  Family<Gauge>& AddGauge(const std::string& name, const std::string& help,
                          std::vector<std::string> label_names);
  Family<Histogram>& AddHistogram(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names, std::vector<double> bounds);

  // `collector` runs at every scrape until the registration goes; it must not call back into
  // the registry.
  [[nodiscard]] Registration AddCollector(Collector collector);

  // Every metric in the text exposition format, families sorted by name.
  std::string RenderText() const;

 private:
  void RemoveCollector(uint64_t id);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Family<Counter>>> counters_;      // guarded by mu_
  std::map<std::string, std::unique_ptr<Family<Gauge>>> gauges_;          // guarded by mu_
  std::map<std::string, std::unique_ptr<Family<Histogram>>> histograms_;  // guarded by mu_
  // Collectors run under their own lock so a scrape does not block new families.
  mutable std::mutex collectors_mu_;
  std::map<uint64_t, Collector> collectors_;  // guarded by collectors_mu_
  uint64_t next_collector_ = 1;               // guarded by collectors_mu_
};

}  // namespace cfs::observability

#endif  // CFS_LIB_OBSERVABILITY_METRICS_H_
