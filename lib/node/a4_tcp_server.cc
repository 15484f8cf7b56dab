#include "lib/node/a4_tcp_server.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lib/common/logging.h"

namespace cfs::remote {

// One connection: splits the byte stream into frames and hands each request to the pool.
class A4TcpServer::Handler : public net::ConnectionHandler {
 public:
  Handler(A4TcpServer& server, net::ConnectionInfo info)
      : server_(server), info_(std::move(info)) {}

  absl::StatusOr<size_t> OnData(absl::string_view input) override {
    size_t consumed = 0;
    while (input.size() - consumed >= a4::kHeaderSize) {
      absl::StatusOr<a4::Header> header = a4::DecodeHeader(input.substr(consumed, a4::kHeaderSize));
      if (!header.ok()) return header.status();  // closes the connection
      if (header->kind != a4::Kind::kRequest) {
        return absl::InvalidArgumentError("A4: a response sent to the server");
      }
      size_t frame = a4::kHeaderSize + header->payload_length;
      if (input.size() - consumed < frame) break;
      if (!info_.can_start_request()) break;
      info_.start_request();
      auto payload = std::make_shared<std::string>(
          input.substr(consumed + a4::kHeaderSize, header->payload_length));
      consumed += frame;
      Serve(*header, std::move(payload));
    }
    return consumed;
  }

 private:
  void Serve(a4::Header header, std::shared_ptr<std::string> payload) {
    absl::Time arrived = absl::Now();
    DataNode& node = server_.node_;
    net::ConnectionRef ref = info_.ref;
    absl::Duration delay = server_.options_.inject_delay;
    server_.pool_->Submit([&node, ref, header, payload = std::move(payload), arrived, delay] {
      if (delay > absl::ZeroDuration()) absl::SleepFor(delay);
      DataNode::Answer answer = node.ServeFrame(header, *payload, arrived);
      std::vector<std::string> parts;
      parts.push_back(std::move(answer.head));
      if (!answer.data.empty()) parts.push_back(std::move(answer.data));
      ref.SendParts(std::move(parts));
    });
  }

  A4TcpServer& server_;
  net::ConnectionInfo info_;
};

A4TcpServer::A4TcpServer(DataNode& node, Options options) : node_(node), options_(options) {}

A4TcpServer::~A4TcpServer() { Shutdown(absl::Now()); }

absl::Status A4TcpServer::Start(const std::string& host, int port) {
  pool_ = std::make_unique<ThreadPool>(options_.io_threads, 4096);
  net::TcpServerOptions tcp;
  tcp.name = "a4";
  tcp.max_in_flight = options_.max_in_flight;
  tcp.max_input_bytes = 2 * (a4::kHeaderSize + a4::kMaxPayload);
  tcp.max_output_bytes = 64 << 20;
  tcp.idle_timeout = absl::Hours(1);  // pooled client connections idle for long
  server_ = std::make_unique<net::TcpServer>(tcp, [this](const net::ConnectionInfo& info) {
    return std::make_unique<Handler>(*this, info);
  });
  return server_->Start(host, port);
}

std::string A4TcpServer::address() const {
  return absl::StrCat(server_->host(), ":", server_->port());
}

void A4TcpServer::Shutdown(absl::Time deadline) {
  if (server_ != nullptr) server_->Shutdown(deadline);
  if (pool_ != nullptr) pool_->Shutdown();
}

}  // namespace cfs::remote
