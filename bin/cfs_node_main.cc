// cfs-node: one node of a ClaudeFS cluster. Serves A4 (file bytes) over TCP from
// --data_dir/data, and with --metadata also A2 (the namespace, over gRPC) from
// --data_dir/metadata, with the cluster's layout: --data_servers lists every data node's A4
// address in placement order ("self" for this node). With --fabric_port the node serves A4 over
// libfabric too, and the metadata node lists those addresses in --fabric_servers. Runs until
// SIGTERM/SIGINT.
//
// A 3-node cluster on one machine:
//   cfs-node --data_dir=/tmp/n1 --a4_port=17101 &
//   cfs-node --data_dir=/tmp/n2 --a4_port=17102 &
//   cfs-node --data_dir=/tmp/n0 --a4_port=17100 --metadata --a2_port=17000
//            --data_servers=self,127.0.0.1:17101,127.0.0.1:17102
//   cfs-gateway --remote_metadata=127.0.0.1:17000 ...

#include <signal.h>

#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_split.h"
#include "lib/node/cfs_node.h"
#include "lib/common/logging.h"

ABSL_FLAG(std::string, data_dir, "./cfs-node-data", "Directory of this node's state");
ABSL_FLAG(std::string, bind_address, "127.0.0.1", "Address the node's services bind");
ABSL_FLAG(int, a4_port, 7100, "A4 data service port (0 picks a free port)");
ABSL_FLAG(bool, metadata, false, "Also serve the namespace (A2): this is the metadata node");
ABSL_FLAG(int, a2_port, 7000, "A2 metadata service port, with --metadata (0 picks a free port)");
ABSL_FLAG(std::string, data_servers, "self",
          "With --metadata: comma list of every data node's A4 host:port in placement order; "
          "'self' is this node");
ABSL_FLAG(int, fabric_port, -1,
          "Also serve A4 over libfabric on this port (0 picks a free port; -1: TCP only)");
ABSL_FLAG(std::string, fabric_provider, "",
          "libfabric provider for --fabric_port (tcp, sockets, ...); empty: the first one "
          "libfabric offers. Gateways must use the same provider");
ABSL_FLAG(std::string, fabric_servers, "",
          "With --metadata: comma list of every data node's libfabric A4 host:port, in the "
          "order of --data_servers ('self' is this node); empty when the nodes serve TCP only");
ABSL_FLAG(uint64_t, stripe_size, 1 << 20, "With --metadata: bytes per stripe");
ABSL_FLAG(int, io_threads, 8, "Threads serving blocking disk I/O");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error");
ABSL_FLAG(int, inject_delay_ms, 0,
          "Fault injection for tests: every A4 request waits this long before it is served");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Runs one node of a ClaudeFS cluster (A4 data, and A2 metadata with --metadata).");
  std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  if (rest.size() > 1) {
    std::cerr << "cfs-node: unexpected argument '" << rest[1] << "' (see --help)\n";
    return 2;
  }
  cfs::LogLevel level = cfs::LogLevel::kInfo;
  if (!cfs::ParseLogLevel(absl::GetFlag(FLAGS_log_level), &level)) {
    std::cerr << "cfs-node: --log_level must be debug, info, warning or error\n";
    return 2;
  }
  cfs::SetMinLogLevel(level);
  cfs::remote::CfsNodeOptions options;
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.host = absl::GetFlag(FLAGS_bind_address);
  options.a4_port = absl::GetFlag(FLAGS_a4_port);
  options.serve_metadata = absl::GetFlag(FLAGS_metadata);
  options.a2_port = absl::GetFlag(FLAGS_a2_port);
  options.layout.stripe_size = absl::GetFlag(FLAGS_stripe_size);
  options.layout.data_servers =
      absl::StrSplit(absl::GetFlag(FLAGS_data_servers), ',', absl::SkipEmpty());
  options.fabric_port = absl::GetFlag(FLAGS_fabric_port);
  options.fabric_provider = absl::GetFlag(FLAGS_fabric_provider);
  options.layout.fabric_servers =
      absl::StrSplit(absl::GetFlag(FLAGS_fabric_servers), ',', absl::SkipEmpty());
  options.io_threads = absl::GetFlag(FLAGS_io_threads);
  options.inject_delay = absl::Milliseconds(absl::GetFlag(FLAGS_inject_delay_ms));

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  absl::StatusOr<std::unique_ptr<cfs::remote::CfsNode>> node = cfs::remote::CfsNode::Start(options);
  if (!node.ok()) {
    std::cerr << "cfs-node: " << node.status().message() << "\n";
    return 2;
  }
  // One line per service, for scripts that started the node with port 0.
  std::cout << "a4 " << (*node)->a4_address() << std::endl;
  if (options.fabric_port >= 0) std::cout << "fabric " << (*node)->fabric_address() << std::endl;
  if (options.serve_metadata) std::cout << "a2 " << (*node)->a2_address() << std::endl;
  CFS_LOG(INFO, "node") << "serving A4 on " << (*node)->a4_address()
                        << (options.serve_metadata ? " and A2 on " + (*node)->a2_address() : "");
  int signal = 0;
  sigwait(&stop_signals, &signal);
  CFS_LOG(INFO, "node") << "stopping (signal " << signal << ")";
  (*node)->Shutdown(absl::Now() + absl::Seconds(10));
  return 0;
}
