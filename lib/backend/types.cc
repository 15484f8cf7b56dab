#include "lib/backend/types.h"

#include <algorithm>
#include <utility>

namespace cfs::backend {

bool Identity::InGroup(uint32_t group) const {
  return gid == group || std::find(groups.begin(), groups.end(), group) != groups.end();
}

Identity Identity::Root() { return Of(0, 0); }

Identity Identity::Of(uint32_t uid, uint32_t gid, std::vector<uint32_t> groups) {
  Identity id;
  id.uid = uid;
  id.gid = gid;
  id.groups = std::move(groups);
  return id;
}

RequestContext RequestContext::WithTimeout(Identity identity, absl::Duration timeout) {
  RequestContext ctx;
  ctx.identity = std::move(identity);
  ctx.deadline = absl::Now() + timeout;
  return ctx;
}

Timestamp Timestamp::FromTime(absl::Time t) {
  timespec ts = absl::ToTimespec(t);
  Timestamp out;
  out.seconds = ts.tv_sec;
  out.nanos = static_cast<uint32_t>(ts.tv_nsec);
  return out;
}

absl::Time Timestamp::ToTime() const {
  return absl::FromUnixSeconds(seconds) + absl::Nanoseconds(nanos);
}

}  // namespace cfs::backend
