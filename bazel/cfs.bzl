"""Project macros: every target gets the same warnings, standard and test conventions."""

load("@rules_cc//cc:defs.bzl", "cc_binary", "cc_library", "cc_test")

CFS_COPTS = [
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wno-unused-parameter",
    "-Wno-missing-field-initializers",
]

def cfs_cc_library(name, copts = [], **kwargs):
    cc_library(name = name, copts = CFS_COPTS + copts, **kwargs)

def cfs_cc_binary(name, copts = [], **kwargs):
    cc_binary(name = name, copts = CFS_COPTS + copts, **kwargs)

# Every test carries the TSan suppressions for uninstrumented system libraries.
TSAN_SUPPRESSIONS = ["//bazel:tsan.supp"]

def cfs_cc_test(name, copts = [], deps = [], data = [], size = "small", **kwargs):
    cc_test(
        name = name,
        copts = CFS_COPTS + copts,
        size = size,
        data = data + TSAN_SUPPRESSIONS,
        deps = deps + ["//third_party:gtest_main"],
        **kwargs
    )

def cfs_cc_benchmark(name, copts = [], deps = [], tags = [], own_main = False, **kwargs):
    """A Google Benchmark binary (tagged `benchmark`, not run by `bazel test //...`) and a
    `<name>_smoke` test that runs every benchmark once so the code stays alive. `own_main`: the
    sources define main() (to tear fixtures down before exit) instead of benchmark_main's."""
    cc_binary(
        name = name,
        copts = CFS_COPTS + copts,
        deps = deps + ["//third_party:benchmark" if own_main else "//third_party:benchmark_main"],
        tags = tags + ["benchmark"],
        **kwargs
    )
    native.sh_test(
        name = name + "_smoke",
        srcs = ["//bazel:run_benchmark_smoke.sh"],
        args = ["$(location :%s)" % name],
        data = [":" + name] + TSAN_SUPPRESSIONS,
        size = "medium",
    )

def cfs_cc_fuzz_test(name, srcs, corpus, deps = [], copts = [], **kwargs):
    """A libFuzzer target `<name>` (built as a fuzzer under --config=fuzz, otherwise as a
    replayer) and a `<name>_replay` test that runs the checked-in corpus through it in CI."""
    cc_binary(
        name = name,
        srcs = srcs,
        copts = CFS_COPTS + copts,
        deps = deps + select({
            "//bazel:fuzzing": [],
            "//conditions:default": ["//testing/fuzz:replay_main"],
        }),
        tags = ["fuzzer"],
        **kwargs
    )
    native.sh_test(
        name = name + "_replay",
        srcs = ["//bazel:run_fuzz_replay.sh"],
        args = ["$(location :%s)" % name] + ["$(locations %s)" % corpus],
        data = [":" + name, corpus] + TSAN_SUPPRESSIONS,
        size = "small",
    )
