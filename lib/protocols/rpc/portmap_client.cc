#include "lib/protocols/rpc/portmap_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/protocols/rpc/rpc_message.h"
#include "lib/protocols/rpc/xdr.h"

namespace cfs::rpc {
namespace {

constexpr uint32_t kPortmapProgram = 100000;
constexpr uint32_t kPortmapVersion = 2;
constexpr uint32_t kProcSet = 1;
constexpr uint32_t kProcUnset = 2;

}  // namespace

PortmapRegistration::PortmapRegistration(std::string host, int port, absl::Duration timeout)
    : host_(std::move(host)), port_(port), timeout_(timeout) {}

PortmapRegistration::~PortmapRegistration() { UnregisterAll(); }

absl::Status PortmapRegistration::Call(uint32_t procedure, const PortMapping& mapping,
                                       bool* result) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return absl::UnavailableError(std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  inet_pton(AF_INET, host_.c_str(), &addr.sin_addr);
  int timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(timeout_));
  auto fail = [fd](absl::string_view what) {
    close(fd);
    return absl::UnavailableError(absl::StrCat("portmapper: ", what));
  };
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 && errno != EINPROGRESS) {
    return fail(std::strerror(errno));
  }
  pollfd p{fd, POLLOUT, 0};
  int so_error = 0;
  socklen_t len = sizeof(so_error);
  if (poll(&p, 1, timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0 ||
      so_error != 0) {
    return fail(so_error != 0 ? std::strerror(so_error) : "connect timed out");
  }
  XdrWriter args;
  args.U32(mapping.program);
  args.U32(mapping.version);
  args.U32(mapping.protocol);
  args.U32(mapping.port);
  std::string call = FrameRecord(EncodeCall(next_xid_++, kPortmapProgram, kPortmapVersion,
                                            procedure, AuthFlavor::kNone, "", args.Release()));
  if (send(fd, call.data(), call.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(call.size())) {
    return fail("send failed");
  }
  std::string in;
  char buf[512];
  absl::Time give_up = absl::Now() + timeout_;
  while (absl::Now() < give_up) {
    auto split = SplitRecord(in, 4096);
    if (!split.ok()) return fail("malformed reply");
    if (split->has_value()) {
      XdrReader r((*split)->record);
      r.U32();                       // xid
      r.U32();                       // REPLY
      bool accepted = r.U32() == 0;  // MSG_ACCEPTED
      r.U32();
      r.Opaque(400);
      bool success = r.U32() == 0;
      *result = r.Bool();
      close(fd);
      if (!r.ok() || !accepted || !success) {
        return absl::InternalError("portmapper: the call was not accepted");
      }
      return absl::OkStatus();
    }
    pollfd rp{fd, POLLIN, 0};
    if (poll(&rp, 1, timeout_ms) != 1) break;
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    in.append(buf, n);
  }
  return fail("no reply");
}

absl::Status PortmapRegistration::Register(const std::vector<PortMapping>& mappings) {
  // PMAPPROC_UNSET drops every protocol of a program version, so clear stale mappings of an
  // earlier run first, then set them all (an UNSET between two SETs would undo the first).
  std::set<std::pair<uint32_t, uint32_t>> versions;
  for (const PortMapping& m : mappings) versions.insert({m.program, m.version});
  for (const auto& [program, version] : versions) {
    bool ignored = false;
    absl::Status s = Call(kProcUnset, PortMapping{program, version, 0, 0}, &ignored);
    if (!s.ok()) return s;
  }
  for (const PortMapping& m : mappings) {
    bool set = false;
    absl::Status s = Call(kProcSet, m, &set);
    if (!s.ok()) return s;
    if (!set) {
      return absl::InternalError(
          absl::StrCat("portmapper refused program ", m.program, " version ", m.version));
    }
    registered_.push_back(m);
  }
  return absl::OkStatus();
}

void PortmapRegistration::UnregisterAll() {
  std::set<std::pair<uint32_t, uint32_t>> versions;
  for (const PortMapping& m : registered_) versions.insert({m.program, m.version});
  for (const auto& [program, version] : versions) {
    bool ignored = false;
    Call(kProcUnset, PortMapping{program, version, 0, 0}, &ignored).IgnoreError();
  }
  registered_.clear();
}

}  // namespace cfs::rpc
