#include "lib/control/control_frontend.h"

#include <openssl/rand.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "lib/common/durable_file.h"
#include "lib/common/logging.h"

namespace cfs::control {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path, absl::string_view what) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(what, " ", path, " cannot be read"));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

ControlFrontend::ControlFrontend(std::string token) : token_(std::move(token)) {}

ControlFrontend::~ControlFrontend() { Shutdown(absl::Now()).IgnoreError(); }

absl::Status ControlFrontend::Start(const gateway::FrontendContext& context) {
  if (gateway_ == nullptr) return absl::FailedPreconditionError("control: no gateway attached");
  const gateway::GatewayOptions& o = context.options;
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  bool client_certificates = false;
  if (!o.control_tls_cert_file.empty()) {
    absl::StatusOr<std::string> cert = ReadFile(o.control_tls_cert_file, "control_tls_cert_file");
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadFile(o.control_tls_key_file, "control_tls_key_file");
    if (!key.ok()) return key.status();
    grpc::SslServerCredentialsOptions tls;
    tls.pem_key_cert_pairs.push_back({*key, *cert});
    if (!o.control_client_ca_file.empty()) {
      absl::StatusOr<std::string> ca = ReadFile(o.control_client_ca_file, "control_client_ca_file");
      if (!ca.ok()) return ca.status();
      tls.pem_root_certs = *ca;
      // Verified when presented; callers without one may still use the token.
      tls.client_certificate_request = GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
      client_certificates = true;
    }
    credentials = grpc::SslServerCredentials(tls);
  }
  service_ = std::make_unique<AdminService>(*gateway_, AdminAuth{token_, client_certificates});
  host_ = o.control_bind_address;
  std::string address = host_.find(':') != std::string::npos
                            ? absl::StrCat("[", host_, "]:", o.control_port)
                            : absl::StrCat(host_, ":", o.control_port);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address, credentials, &port_);
  builder.RegisterService(service_.get());
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port_ == 0) {
    server_.reset();
    return absl::UnavailableError(absl::StrCat("control: cannot listen on ", address));
  }
  CFS_LOG(INFO, "control") << "admin service on " << host_ << ":" << port_
                           << (o.control_tls_cert_file.empty() ? " (plain text)"
                               : client_certificates           ? " (mutual TLS)"
                                                               : " (TLS)");
  return absl::OkStatus();
}

std::vector<gateway::BoundAddress> ControlFrontend::addresses() const {
  if (server_ == nullptr) return {};
  return {{"control", host_, port_}};
}

absl::Status ControlFrontend::Shutdown(absl::Time deadline) {
  if (server_ != nullptr) {
    server_->Shutdown(absl::ToChronoTime(deadline));
    server_->Wait();
    server_.reset();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> LoadOrCreateAdminToken(const std::string& data_dir) {
  std::string path = data_dir + "/admin.token";
  std::ifstream in(path);
  if (in) {
    std::string token;
    std::getline(in, token);
    token = std::string(absl::StripAsciiWhitespace(token));
    if (!token.empty()) return token;
  }
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof(raw)) != 1) {
    return absl::InternalError("no random bytes for the admin token");
  }
  std::string token =
      absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(raw), sizeof(raw)));
  absl::Status written = WriteFileDurably(path, token + "\n");
  if (!written.ok()) return absl::InternalError(absl::StrCat("admin token: ", written.message()));
  CFS_LOG(INFO, "control") << "admin token created in " << path;
  return token;
}

}  // namespace cfs::control
