// Backoff: how long to wait before retry number `attempt` (0 for the first retry): exponential
// from `initial` by `multiplier` up to `max`, with "equal jitter" (half fixed, half random) so
// many clients retrying at once spread out. Only idempotent operations are retried.
//
// Example:
//   BackoffPolicy policy;
//   absl::Duration wait = policy.Delay(attempt, rng);

#ifndef CFS_LIB_RESILIENCE_BACKOFF_H_
#define CFS_LIB_RESILIENCE_BACKOFF_H_

#include <algorithm>
#include <cmath>
#include <random>

#include "absl/time/time.h"

namespace cfs::resilience {

struct BackoffPolicy {
  int max_retries = 3;
  absl::Duration initial = absl::Milliseconds(50);
  double multiplier = 2.0;
  absl::Duration max = absl::Seconds(2);

  absl::Duration Delay(int attempt, std::mt19937_64& rng) const {
    double scale = std::pow(multiplier, std::max(0, attempt));
    absl::Duration full = std::min(max, initial * scale);
    std::uniform_real_distribution<double> half(0.0, 1.0);
    return full / 2 + (full / 2) * half(rng);
  }
};

}  // namespace cfs::resilience

#endif  // CFS_LIB_RESILIENCE_BACKOFF_H_
