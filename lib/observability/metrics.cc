#include "lib/observability/metrics.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace cfs::observability {
namespace {

// Label values: backslash, double quote and line feed are escaped.
std::string EscapeLabel(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// HELP text: backslash and line feed are escaped.
std::string EscapeHelp(absl::string_view help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatDouble(double v) {
  if (v == static_cast<double>(static_cast<int64_t>(v)) && v < 1e15 && v > -1e15) {
    return absl::StrCat(static_cast<int64_t>(v));
  }
  return absl::StrFormat("%.9g", v);
}

std::string LabelText(const std::vector<std::string>& names, const std::vector<std::string>& values,
                      absl::string_view extra_name = "", absl::string_view extra_value = "") {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    absl::StrAppend(&out, out.empty() ? "" : ",", names[i], "=\"", EscapeLabel(values[i]), "\"");
  }
  if (!extra_name.empty()) {
    absl::StrAppend(&out, out.empty() ? "" : ",", extra_name, "=\"", EscapeLabel(extra_value),
                    "\"");
  }
  return out.empty() ? "" : "{" + out + "}";
}

void Head(std::string* out, absl::string_view name, absl::string_view help,
          absl::string_view type) {
  absl::StrAppend(out, "# HELP ", name, " ", EscapeHelp(help), "\n# TYPE ", name, " ", type, "\n");
}

// What collectors report, grouped by metric name for rendering.
class GroupingSink : public SampleSink {
 public:
  struct Group {
    std::string help;
    std::string type;
    std::vector<std::pair<Labels, double>> samples;
  };

  void Gauge(absl::string_view name, absl::string_view help, const Labels& labels,
             double value) override {
    Add(name, help, "gauge", labels, value);
  }
  void Counter(absl::string_view name, absl::string_view help, const Labels& labels,
               double value) override {
    Add(name, help, "counter", labels, value);
  }

  std::map<std::string, Group> groups;

 private:
  void Add(absl::string_view name, absl::string_view help, absl::string_view type,
           const Labels& labels, double value) {
    Group& g = groups[std::string(name)];
    if (g.type.empty()) {
      g.help = std::string(help);
      g.type = std::string(type);
    }
    g.samples.emplace_back(labels, value);
  }
};

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double value) {
  size_t i = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) -
                                 bounds_.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  double sum = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(sum, sum + value, std::memory_order_relaxed)) {
  }
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.bounds = bounds_;
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

const std::vector<double>& LatencyBuckets() {
  static const auto* buckets =
      new std::vector<double>{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                              0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
  return *buckets;
}

MetricsRegistry::Registration& MetricsRegistry::Registration::operator=(
    Registration&& other) noexcept {
  if (this != &other) {
    Reset();
    registry_ = other.registry_;
    id_ = other.id_;
    other.registry_ = nullptr;
  }
  return *this;
}

void MetricsRegistry::Registration::Reset() {
  if (registry_ != nullptr) registry_->RemoveCollector(id_);
  registry_ = nullptr;
}

Family<Counter>& MetricsRegistry::AddCounter(const std::string& name, const std::string& help,
                                             std::vector<std::string> label_names) {
  std::lock_guard<std::mutex> lock(mu_);
  std::unique_ptr<Family<Counter>>& f = counters_[name];
  if (f == nullptr) {
    f = std::make_unique<Family<Counter>>(name, help, std::move(label_names),
                                          [] { return std::make_unique<Counter>(); });
  }
  return *f;
}

Family<Gauge>& MetricsRegistry::AddGauge(const std::string& name, const std::string& help,
                                         std::vector<std::string> label_names) {
  std::lock_guard<std::mutex> lock(mu_);
  std::unique_ptr<Family<Gauge>>& f = gauges_[name];
  if (f == nullptr) {
    f = std::make_unique<Family<Gauge>>(name, help, std::move(label_names),
                                        [] { return std::make_unique<Gauge>(); });
  }
  return *f;
}

Family<Histogram>& MetricsRegistry::AddHistogram(const std::string& name, const std::string& help,
                                                 std::vector<std::string> label_names,
                                                 std::vector<double> bounds) {
  std::lock_guard<std::mutex> lock(mu_);
  std::unique_ptr<Family<Histogram>>& f = histograms_[name];
  if (f == nullptr) {
    std::sort(bounds.begin(), bounds.end());
    f = std::make_unique<Family<Histogram>>(name, help, std::move(label_names), [bounds] {
      return std::make_unique<Histogram>(bounds);
    });
  }
  return *f;
}

MetricsRegistry::Registration MetricsRegistry::AddCollector(Collector collector) {
  std::lock_guard<std::mutex> lock(collectors_mu_);
  uint64_t id = next_collector_++;
  collectors_[id] = std::move(collector);
  return Registration(this, id);
}

void MetricsRegistry::RemoveCollector(uint64_t id) {
  std::lock_guard<std::mutex> lock(collectors_mu_);
  collectors_.erase(id);
}

std::string MetricsRegistry::RenderText() const {
  // Every family's text by name, so the output is sorted whatever its kind.
  std::map<std::string, std::string> text;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& entry : counters_) {
      // Named copies: C++17 lambdas cannot capture structured bindings.
      const std::string& name = entry.first;
      const auto& family = entry.second;
      std::string& out = text[name];
      Head(&out, name, family->help(), "counter");
      family->ForEach([&](const std::vector<std::string>& values, const Counter& c) {
        absl::StrAppend(&out, name, LabelText(family->label_names(), values), " ", c.value(), "\n");
      });
    }
    for (const auto& entry : gauges_) {
      // Named copies: C++17 lambdas cannot capture structured bindings.
      const std::string& name = entry.first;
      const auto& family = entry.second;
      std::string& out = text[name];
      Head(&out, name, family->help(), "gauge");
      family->ForEach([&](const std::vector<std::string>& values, const Gauge& g) {
        absl::StrAppend(&out, name, LabelText(family->label_names(), values), " ", g.value(), "\n");
      });
    }
    for (const auto& entry : histograms_) {
      // Named copies: C++17 lambdas cannot capture structured bindings.
      const std::string& name = entry.first;
      const auto& family = entry.second;
      std::string& out = text[name];
      Head(&out, name, family->help(), "histogram");
      family->ForEach([&](const std::vector<std::string>& values, const Histogram& h) {
        Histogram::Snapshot s = h.snapshot();
        for (size_t i = 0; i < s.bounds.size(); ++i) {
          absl::StrAppend(&out, name, "_bucket",
                          LabelText(family->label_names(), values, "le", FormatDouble(s.bounds[i])),
                          " ", s.cumulative[i], "\n");
        }
        absl::StrAppend(&out, name, "_bucket",
                        LabelText(family->label_names(), values, "le", "+Inf"), " ",
                        s.cumulative.back(), "\n");
        absl::StrAppend(&out, name, "_sum", LabelText(family->label_names(), values), " ",
                        FormatDouble(s.sum), "\n");
        absl::StrAppend(&out, name, "_count", LabelText(family->label_names(), values), " ",
                        s.cumulative.back(), "\n");
      });
    }
  }
  GroupingSink sink;
  {
    std::lock_guard<std::mutex> lock(collectors_mu_);
    for (const auto& [id, collector] : collectors_) collector(sink);
  }
  for (const auto& [name, group] : sink.groups) {
    if (text.count(name) > 0) continue;  // a family owns the name: it wins
    std::string& out = text[name];
    Head(&out, name, group.help, group.type);
    for (const auto& [labels, value] : group.samples) {
      std::vector<std::string> names, values;
      for (const auto& [n, v] : labels) {
        names.push_back(n);
        values.push_back(v);
      }
      absl::StrAppend(&out, name, LabelText(names, values), " ", FormatDouble(value), "\n");
    }
  }
  std::string all;
  for (const auto& [name, t] : text) all += t;
  return all;
}

}  // namespace cfs::observability
