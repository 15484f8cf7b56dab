// The quota filter's costs on the embedded backend: the namespace scan that counts usage (at
// start and when the first limit is set), in objects a second, and 4 KiB writes with no limit
// set (the filter forwards untouched), with a user limit (a look-up of the attributes and a
// reservation per write) and with a bucket limit as well. The attribute cache sits under the
// filter, as in the gateway.
//
//   bazel run -c opt //benchmarks:quota_filter_benchmark

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "lib/backends/embedded/embedded_backend.h"
#include "lib/backends/filters/attribute_cache.h"
#include "lib/backends/filters/quota_filter.h"
#include "lib/common/logging.h"
#include "testing/sync_backend.h"
#include "testing/temp_dir.h"

namespace cfs {
namespace {

using backend::kRootInode;

class Stack {
 public:
  Stack() {
    SetMinLogLevel(LogLevel::kWarning);
    embedded::EmbeddedBackendOptions options;
    options.data_dir = temp_.path();
    auto opened = embedded::EmbeddedBackend::Open(options);
    if (!opened.ok()) std::abort();
    auto cached = std::make_unique<filters::AttributeCache>(std::move(*opened),
                                                            filters::AttributeCacheOptions{});
    filters::QuotaFilterOptions quota_options;
    quota_options.exports.push_back(auth::DefaultExport());
    filter_ = std::make_unique<filters::QuotaFilter>(std::move(cached), quota_options);
  }
  ~Stack() { filter_->Shutdown(absl::Now() + absl::Seconds(10)).IgnoreError(); }
  testing::SyncBackend fs() {
    return testing::SyncBackend(*filter_, backend::RequestContext{backend::Identity::Root()});
  }
  filters::QuotaFilter& filter() { return *filter_; }

 private:
  testing::TempDir temp_;
  std::unique_ptr<filters::QuotaFilter> filter_;
};

quota::QuotaSetting Limit(quota::QuotaKind kind, std::string name) {
  quota::QuotaSetting s;
  s.subject = {kind, std::move(name)};
  s.limits.hard_bytes = uint64_t{1} << 50;
  return s;
}

// Counting usage over state.range(0) files in 100-file directories.
void BM_Scan(benchmark::State& state) {
  Stack stack;
  auto fs = stack.fs();
  for (int64_t d = 0; d * 100 < state.range(0); ++d) {
    backend::InodeNumber dir = fs.Mkdir(kRootInode, absl::StrCat("d", d))->attributes.inode;
    for (int64_t f = 0; f < 100 && d * 100 + f < state.range(0); ++f) {
      if (!fs.Create(dir, absl::StrCat("f", f)).ok()) state.SkipWithError("create failed");
    }
  }
  if (!stack.filter().SetQuota(Limit(quota::QuotaKind::kUser, "0")).ok()) {
    state.SkipWithError("set quota failed");
  }
  for (auto _ : state) {
    if (!stack.filter().RebuildUsage().ok()) state.SkipWithError("scan failed");
  }
  state.SetItemsProcessed(state.iterations() * (state.range(0) + state.range(0) / 100));
}
BENCHMARK(BM_Scan)->Arg(10000)->Unit(benchmark::kMillisecond)->UseRealTime();

// Unstable 4 KiB writes (no disk flush to hide the filter's own cost): 0 no limits, 1 a user
// limit, 2 a user and a bucket limit.
void BM_Write4K(benchmark::State& state) {
  Stack stack;
  auto fs = stack.fs();
  backend::InodeNumber bucket = fs.Mkdir(kRootInode, "bucket")->attributes.inode;
  if (state.range(0) >= 1 && !stack.filter().SetQuota(Limit(quota::QuotaKind::kUser, "0")).ok()) {
    state.SkipWithError("set quota failed");
  }
  if (state.range(0) >= 2 &&
      !stack.filter().SetQuota(Limit(quota::QuotaKind::kBucket, "bucket")).ok()) {
    state.SkipWithError("set quota failed");
  }
  backend::InodeNumber file = fs.Create(bucket, "f")->attributes.inode;
  std::string block(4096, 'q');
  uint64_t offset = 0;
  for (auto _ : state) {
    auto r = fs.Write(file, offset, block, backend::Stability::kUnstable);
    if (!r.ok()) state.SkipWithError("write failed");
    offset = (offset + 4096) % (64 << 20);
  }
  state.SetBytesProcessed(state.iterations() * 4096);
  state.SetLabel(state.range(0) == 0   ? "no limits"
                 : state.range(0) == 1 ? "user limit"
                                       : "user and bucket limits");
}
BENCHMARK(BM_Write4K)->Arg(0)->Arg(1)->Arg(2)->UseRealTime();

}  // namespace
}  // namespace cfs
