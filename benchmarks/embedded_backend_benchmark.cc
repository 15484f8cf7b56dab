// Embedded backend through the asynchronous SPI (pool hop included), as protocols call it:
// create, lookup, getattr, and 4 KiB / 1 MiB writes and reads.
//
//   bazel run -c opt //benchmarks:embedded_backend_benchmark
// Set CFS_BENCH_DIR to put the store on a particular disk (default: a temporary directory).

#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "lib/backends/embedded/embedded_backend.h"
#include "lib/common/logging.h"
#include "testing/sync_backend.h"
#include "testing/temp_dir.h"

namespace cfs {
namespace {

using backend::kRootInode;
using backend::Stability;

// One store per benchmark run, in a fresh directory.
class Store {
 public:
  Store() {
    SetMinLogLevel(LogLevel::kWarning);
    embedded::EmbeddedBackendOptions options;
    const char* dir = std::getenv("CFS_BENCH_DIR");
    options.data_dir = dir != nullptr ? absl::StrCat(dir, "/cfs-bench") : temp_.path();
    auto opened = embedded::EmbeddedBackend::Open(options);
    if (!opened.ok()) std::abort();
    backend_ = std::move(*opened);
  }
  testing::SyncBackend fs() {
    return testing::SyncBackend(*backend_, backend::RequestContext{backend::Identity::Root()});
  }

 private:
  testing::TempDir temp_;
  std::unique_ptr<embedded::EmbeddedBackend> backend_;
};

void BM_Create(benchmark::State& state) {
  Store store;
  auto fs = store.fs();
  backend::InodeNumber dir = fs.Mkdir(kRootInode, "bench")->attributes.inode;
  int64_t i = 0;
  for (auto _ : state) {
    auto r = fs.Create(dir, absl::StrCat("f", i++));
    if (!r.ok()) state.SkipWithError("create failed");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Create)->UseRealTime();

void BM_Lookup(benchmark::State& state) {
  Store store;
  auto fs = store.fs();
  backend::InodeNumber dir = fs.Mkdir(kRootInode, "bench")->attributes.inode;
  for (int i = 0; i < 1000; ++i) fs.Create(dir, absl::StrCat("f", i)).IgnoreError();
  int i = 0;
  for (auto _ : state) {
    auto r = fs.Lookup(dir, absl::StrCat("f", i++ % 1000));
    if (!r.ok()) state.SkipWithError("lookup failed");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Lookup)->UseRealTime();

void BM_GetAttr(benchmark::State& state) {
  Store store;
  auto fs = store.fs();
  backend::InodeNumber file = fs.Create(kRootInode, "f")->attributes.inode;
  for (auto _ : state) {
    auto r = fs.GetAttr(file);
    if (!r.ok()) state.SkipWithError("getattr failed");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GetAttr)->UseRealTime();

// Arg 0: block size; arg 1: stability (0 unstable, 2 file-sync).
void BM_Write(benchmark::State& state) {
  Store store;
  auto fs = store.fs();
  backend::InodeNumber file = fs.Create(kRootInode, "f")->attributes.inode;
  const size_t block = static_cast<size_t>(state.range(0));
  const Stability stability = static_cast<Stability>(state.range(1));
  std::string data(block, 'w');
  uint64_t offset = 0;
  for (auto _ : state) {
    auto r = fs.Write(file, offset, data, stability);
    if (!r.ok()) state.SkipWithError("write failed");
    offset = (offset + block) % (256ULL << 20);  // wrap at 256 MiB to bound disk use
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * block));
}
BENCHMARK(BM_Write)
    ->Args({4096, 0})
    ->Args({4096, 2})
    ->Args({1 << 20, 0})
    ->Args({1 << 20, 2})
    ->ArgNames({"block", "stability"})
    ->UseRealTime();

void BM_Read(benchmark::State& state) {
  Store store;
  auto fs = store.fs();
  backend::InodeNumber file = fs.Create(kRootInode, "f")->attributes.inode;
  const size_t block = static_cast<size_t>(state.range(0));
  const uint64_t file_size = 64ULL << 20;
  std::string chunk(1 << 20, 'r');
  for (uint64_t off = 0; off < file_size; off += chunk.size()) {
    fs.Write(file, off, chunk, Stability::kUnstable).IgnoreError();
  }
  uint64_t offset = 0;
  for (auto _ : state) {
    auto r = fs.Read(file, offset, block);
    if (!r.ok() || r->data.size() != block) state.SkipWithError("read failed");
    offset = (offset + block) % file_size;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * block));
}
BENCHMARK(BM_Read)->Arg(4096)->Arg(1 << 20)->ArgName("block")->UseRealTime();

}  // namespace
}  // namespace cfs
