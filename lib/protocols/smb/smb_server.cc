#include "lib/protocols/smb/smb_server.h"

#include <openssl/rand.h>

#include "absl/strings/match.h"
#include "lib/protocols/smb/smb_info.h"

namespace cfs::smb {

SmbServer::SmbServer(SmbServerConfig config, backend::Backend& backend, auth::UserStore& users,
                     std::vector<Share> shares)
    : config_(std::move(config)),
      backend_(backend),
      users_(users),
      shares_(std::move(shares)),
      guid_(16, '\0'),
      start_filetime_(FiletimeNow()),
      pool_(config_.worker_threads, 4096),
      io_pool_(config_.worker_threads, 4096) {
  RAND_bytes(reinterpret_cast<unsigned char*>(guid_.data()), static_cast<int>(guid_.size()));
}

SmbServer::~SmbServer() { Shutdown(); }

const Share* SmbServer::FindShare(absl::string_view name) const {
  for (const Share& share : shares_) {
    if (absl::EqualsIgnoreCase(share.name, name)) return &share;
  }
  return nullptr;
}

bool SmbServer::ShareEncrypted(const Share& share) const {
  return config_.encryption_required || (share.export_ != nullptr && share.export_->smb_encrypt);
}

void SmbServer::Shutdown() {
  pool_.Shutdown();  // drains may wait for I/O tasks: stop them first
  io_pool_.Shutdown();
}

}  // namespace cfs::smb
