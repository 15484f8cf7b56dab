"""cfs_proto_library: C++ (and optionally gRPC) code from .proto files with the system protoc."""

load("@rules_cc//cc:defs.bzl", "cc_library")

def cfs_proto_library(name, srcs, grpc = False, deps = [], **kwargs):
    """Generates <src>.pb.{h,cc} (and .grpc.pb.{h,cc} with grpc) and wraps them in a cc_library.

    Paths are kept relative to the workspace root, so includes read
    "lib/control/admin.pb.h"."""
    outs = []
    for src in srcs:
        base = src[:-len(".proto")]
        outs += [base + ".pb.h", base + ".pb.cc"]
        if grpc:
            outs += [base + ".grpc.pb.h", base + ".grpc.pb.cc"]
    pkg = native.package_name()
    grpc_flags = "--plugin=protoc-gen-grpc=$$(which grpc_cpp_plugin) --grpc_out=$(GENDIR) " if grpc else ""
    native.genrule(
        name = name + "_gen",
        srcs = srcs,
        outs = outs,
        cmd = "protoc -I. --cpp_out=$(GENDIR) " + grpc_flags +
              " ".join([pkg + "/" + s for s in srcs]),
    )
    cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = [o for o in outs if o.endswith(".h")],
        deps = deps + ["//third_party:protobuf"] + (["//third_party:grpc++"] if grpc else []),
        **kwargs
    )
