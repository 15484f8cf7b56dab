// A4 round trips against an in-process data node (one DataNode behind the A4 TCP server and the
// A4 libfabric server) over each client transport: TCP on io_uring, libfabric with the software
// tcp provider, and the plain blocking-socket baseline. 4 KiB and 1 MiB WRITE (unstable) and
// READ; one request at a time (latency) and 32 in flight (throughput).
//
//   bazel run -c opt //benchmarks:a4_transport_benchmark

#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>

#include "benchmark/benchmark.h"
#include "lib/node/a4_fabric_server.h"
#include "lib/backends/remote/a4_fabric_transport.h"
#include "lib/backends/remote/a4_socket_transport.h"
#include "lib/node/a4_tcp_server.h"
#include "lib/backends/remote/a4_uring_transport.h"
#include "lib/node/data_node.h"
#include "lib/common/logging.h"
#include "testing/temp_dir.h"

namespace cfs::remote {
namespace {

// One data node for the whole run.
struct Node {
  Node() {
    SetMinLogLevel(LogLevel::kWarning);
    node = std::move(*DataNode::Open(dir.path() + "/data"));
    server = std::make_unique<A4TcpServer>(*node, A4TcpServer::Options{});
    if (!server->Start("127.0.0.1", 0).ok()) std::abort();
    A4FabricServer::Options fabric_options;
    fabric_options.provider = "tcp";
    fabric = std::make_unique<A4FabricServer>(*node, fabric_options);
    if (!fabric->Start("127.0.0.1", 0).ok()) std::abort();
  }
  cfs::testing::TempDir dir;
  std::unique_ptr<DataNode> node;
  std::unique_ptr<A4TcpServer> server;
  std::unique_ptr<A4FabricServer> fabric;
};

std::unique_ptr<Node> the_node;  // made by the first benchmark, shut down by main

Node& TheNode() {
  if (the_node == nullptr) the_node = std::make_unique<Node>();
  return *the_node;
}

// 0: tcp-uring, 1: socket, 2: libfabric tcp.
std::shared_ptr<A4Transport> MakeTransport(int which) {
  if (which == 0) return std::make_shared<UringA4Transport>(UringA4Transport::Options{});
  if (which == 2) return std::make_shared<FabricA4Transport>("tcp");
  return std::make_shared<SocketA4Transport>();
}

// Runs `depth` requests at a time until the benchmark's iterations are done.
void Run(benchmark::State& state, a4::Op op) {
  int which = static_cast<int>(state.range(0));
  size_t size = static_cast<size_t>(state.range(1));
  int depth = static_cast<int>(state.range(2));
  state.SetLabel(which == 0 ? "tcp-uring" : which == 2 ? "libfabric:tcp" : "socket");
  std::shared_ptr<A4Transport> transport = MakeTransport(which);
  std::string address = which == 2 ? TheNode().fabric->address() : TheNode().server->address();
  auto channel = transport->Connect(address, absl::Now() + absl::Seconds(5));
  if (!channel.ok()) {
    std::string why = "connect failed: " + channel.status().ToString();
    state.SkipWithError(why.c_str());
    return;
  }
  auto data = std::make_shared<std::string>(size, 'x');
  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;
  bool failed = false;
  uint64_t inode = 1000 + which * 10 + static_cast<uint64_t>(size % 7);
  a4::Request seed;
  seed.op = a4::Op::kWrite;
  seed.inode = inode;
  seed.data = *data;
  {
    std::promise<void> done;
    (*channel)->Call(seed, data, absl::Now() + absl::Seconds(5),
                     [&](absl::StatusOr<A4Reply>) { done.set_value(); });
    done.get_future().wait();
  }
  for (auto _ : state) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return in_flight < depth; });
    ++in_flight;
    lock.unlock();
    a4::Request req;
    req.op = op;
    req.inode = inode;
    req.offset = 0;
    if (op == a4::Op::kWrite) {
      req.data = *data;
    } else {
      req.length = size;
    }
    (*channel)->Call(req, data, absl::Now() + absl::Seconds(10), [&](absl::StatusOr<A4Reply> r) {
      std::lock_guard<std::mutex> guard(mu);
      if (!r.ok() || !r->response.status.ok()) failed = true;
      --in_flight;
      cv.notify_all();
    });
  }
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return in_flight == 0; });
  if (failed) state.SkipWithError("a request failed");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}

void BM_A4Write(benchmark::State& state) { Run(state, a4::Op::kWrite); }
void BM_A4Read(benchmark::State& state) { Run(state, a4::Op::kRead); }

void Args(benchmark::internal::Benchmark* b) {
  for (int which : {0, 2, 1}) {
    for (int size : {4096, 1 << 20}) {
      for (int depth : {1, 32}) b->Args({which, size, depth});
    }
  }
  b->ArgNames({"transport", "bytes", "depth"})->UseRealTime();
}

BENCHMARK(BM_A4Write)->Apply(Args);
BENCHMARK(BM_A4Read)->Apply(Args);

}  // namespace
}  // namespace cfs::remote

// The data node is shut down before main returns: a server thread still inside libfabric when
// the process exits races libfabric's own destructor, which frees its providers.
int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  cfs::remote::the_node.reset();
  return 0;
}
