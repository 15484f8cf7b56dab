// Runs the SPI conformance suite against the embedded backend.

#include <memory>
#include <string>

#include "lib/backends/embedded/embedded_backend.h"
#include "testing/conformance/backend_conformance.h"

namespace cfs::embedded {
namespace {

using cfs::testing::BackendConformanceTest;
using cfs::testing::BackendFactory;

BackendFactory EmbeddedFactory(bool inline_cached_reads) {
  return {inline_cached_reads ? "embedded" : "embedded_pool_only",
          [inline_cached_reads](const std::string& dir) -> std::unique_ptr<backend::Backend> {
            EmbeddedBackendOptions options;
            options.data_dir = dir;
            options.worker_threads = 4;
            options.inline_cached_reads = inline_cached_reads;
            auto backend = EmbeddedBackend::Open(options);
            if (!backend.ok()) return nullptr;
            return std::move(*backend);
          }};
}

INSTANTIATE_TEST_SUITE_P(Embedded, BackendConformanceTest,
                         ::testing::Values(EmbeddedFactory(true), EmbeddedFactory(false)),
                         [](const ::testing::TestParamInfo<BackendFactory>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace cfs::embedded
