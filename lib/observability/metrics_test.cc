#include "lib/observability/metrics.h"

#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "lib/observability/protocol_metrics.h"

namespace cfs::observability {
namespace {

bool Contains(const std::string& text, const std::string& line) {
  return text.find(line) != std::string::npos;
}

TEST(MetricsTest, CountersAndGaugesRenderWithHelpTypeAndLabels) {
  MetricsRegistry registry;
  Family<Counter>& requests = registry.AddCounter("cfs_gateway_test_requests_total",
                                                  "Requests served.", {"protocol", "op"});
  requests.With({"nfs", "READ"})->Increment(3);
  requests.With({"nfs", "WRITE"})->Increment();
  EXPECT_EQ(&registry.AddCounter("cfs_gateway_test_requests_total", "ignored", {}), &requests);
  registry.AddGauge("cfs_gateway_test_open", "Open things.", {}).With({})->Set(-2);
  std::string text = registry.RenderText();
  EXPECT_TRUE(Contains(text,
                       "# HELP cfs_gateway_test_requests_total Requests served.\n"
                       "# TYPE cfs_gateway_test_requests_total counter\n"))
      << text;
  EXPECT_TRUE(Contains(text, "cfs_gateway_test_requests_total{protocol=\"nfs\",op=\"READ\"} 3\n"));
  EXPECT_TRUE(Contains(text, "cfs_gateway_test_requests_total{protocol=\"nfs\",op=\"WRITE\"} 1\n"));
  EXPECT_TRUE(Contains(text, "# TYPE cfs_gateway_test_open gauge\ncfs_gateway_test_open -2\n"));
  // Families come out sorted by name.
  EXPECT_LT(text.find("cfs_gateway_test_open"), text.find("cfs_gateway_test_requests_total"));
}

TEST(MetricsTest, HistogramBucketsAreCumulativeWithSumAndCount) {
  MetricsRegistry registry;
  Histogram* h =
      registry.AddHistogram("cfs_gateway_test_seconds", "Latency.", {"op"}, {0.1, 1, 0.01})
          .With({"GET"});
  h->Observe(0.005);  // le 0.01
  h->Observe(0.01);   // le 0.01 (bounds are inclusive)
  h->Observe(0.5);    // le 1
  h->Observe(30);     // +Inf only
  std::string text = registry.RenderText();
  EXPECT_TRUE(Contains(text, "cfs_gateway_test_seconds_bucket{op=\"GET\",le=\"0.01\"} 2\n"))
      << text;
  EXPECT_TRUE(Contains(text, "cfs_gateway_test_seconds_bucket{op=\"GET\",le=\"0.1\"} 2\n"));
  EXPECT_TRUE(Contains(text, "cfs_gateway_test_seconds_bucket{op=\"GET\",le=\"1\"} 3\n"));
  EXPECT_TRUE(Contains(text, "cfs_gateway_test_seconds_bucket{op=\"GET\",le=\"+Inf\"} 4\n"));
  EXPECT_TRUE(Contains(text, "cfs_gateway_test_seconds_sum{op=\"GET\"} 30.515\n"));
  EXPECT_TRUE(Contains(text, "cfs_gateway_test_seconds_count{op=\"GET\"} 4\n"));
}

TEST(MetricsTest, LabelValuesAndHelpAreEscaped) {
  MetricsRegistry registry;
  registry.AddCounter("cfs_gateway_test_total", "Line one\nback\\slash", {"path"})
      .With({"a\"b\\c\nd"})
      ->Increment();
  std::string text = registry.RenderText();
  EXPECT_TRUE(Contains(text, "# HELP cfs_gateway_test_total Line one\\nback\\\\slash\n")) << text;
  EXPECT_TRUE(Contains(text, "cfs_gateway_test_total{path=\"a\\\"b\\\\c\\nd\"} 1\n")) << text;
}

TEST(MetricsTest, CollectorsReportAtScrapeTimeUntilTheirRegistrationGoes) {
  MetricsRegistry registry;
  int calls = 0;
  MetricsRegistry::Registration reg = registry.AddCollector([&calls](SampleSink& sink) {
    ++calls;
    sink.Gauge("cfs_gateway_test_breaker_state", "Breaker state.", {{"breaker", "a4:x"}}, 2);
    sink.Gauge("cfs_gateway_test_breaker_state", "Breaker state.", {{"breaker", "a4:y"}}, 0);
    sink.Counter("cfs_gateway_test_refused_total", "Refused.", {}, 7);
  });
  std::string text = registry.RenderText();
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(Contains(text,
                       "# TYPE cfs_gateway_test_breaker_state gauge\n"
                       "cfs_gateway_test_breaker_state{breaker=\"a4:x\"} 2\n"
                       "cfs_gateway_test_breaker_state{breaker=\"a4:y\"} 0\n"))
      << text;
  EXPECT_TRUE(Contains(text,
                       "# TYPE cfs_gateway_test_refused_total counter\n"
                       "cfs_gateway_test_refused_total 7\n"));
  reg.Reset();
  text = registry.RenderText();
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(Contains(text, "breaker_state"));
}

TEST(MetricsTest, ProtocolMetricsCountRequestsErrorsLatencyAndBytes) {
  MetricsRegistry registry;
  ProtocolMetrics nfs(registry, "nfs");
  nfs.Record("READ", "", absl::Microseconds(80), 100, 4200);
  nfs.Record("READ", "", absl::Milliseconds(3), 100, 4200);
  nfs.Record("LOOKUP", "NFS3ERR_NOENT", absl::Microseconds(30), 120, 96);
  std::string text = registry.RenderText();
  EXPECT_TRUE(
      Contains(text, "cfs_gateway_protocol_requests_total{protocol=\"nfs\",op=\"READ\"} 2\n"))
      << text;
  EXPECT_TRUE(Contains(text,
                       "cfs_gateway_protocol_errors_total{protocol=\"nfs\",op=\"LOOKUP\","
                       "code=\"NFS3ERR_NOENT\"} 1\n"));
  EXPECT_FALSE(Contains(text, "code=\"\""));
  EXPECT_TRUE(Contains(text,
                       "cfs_gateway_protocol_request_duration_seconds_count{protocol=\"nfs\","
                       "op=\"READ\"} 2\n"));
  EXPECT_TRUE(Contains(text, "cfs_gateway_protocol_received_bytes_total{protocol=\"nfs\"} 320\n"));
  EXPECT_TRUE(Contains(text, "cfs_gateway_protocol_sent_bytes_total{protocol=\"nfs\"} 8496\n"));
}

TEST(MetricsTest, ConcurrentUpdatesAreAllCounted) {
  MetricsRegistry registry;
  ProtocolMetrics s3(registry, "s3");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&s3, t] {
      for (int i = 0; i < 10000; ++i) {
        s3.Record(i % 2 == 0 ? "GetObject" : "PutObject", t == 0 ? "NoSuchKey" : "",
                  absl::Microseconds(i), 1, 1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::string text = registry.RenderText();
  EXPECT_TRUE(Contains(
      text, "cfs_gateway_protocol_requests_total{protocol=\"s3\",op=\"GetObject\"} 20000\n"))
      << text;
  EXPECT_TRUE(Contains(text,
                       "cfs_gateway_protocol_errors_total{protocol=\"s3\",op=\"GetObject\","
                       "code=\"NoSuchKey\"} 5000\n"));
  EXPECT_TRUE(Contains(text, "cfs_gateway_protocol_received_bytes_total{protocol=\"s3\"} 40000\n"));
}

}  // namespace
}  // namespace cfs::observability
