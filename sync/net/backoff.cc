#include "sync/net/backoff.h"

#include <algorithm>
#include <cmath>

namespace estelik::sync::net {

std::chrono::milliseconds BackoffDelay(const BackoffPolicy& policy, int retry, uint64_t random) {
  const double initial = static_cast<double>(std::max<int64_t>(0, policy.initial.count()));
  const double max = static_cast<double>(std::max<int64_t>(0, policy.max.count()));
  const double multiplier = std::max(1.0, policy.multiplier);
  const double jitter = std::clamp(policy.jitter, 0.0, 1.0);
  // Computed in floating point and clamped before it can overflow: multiplier^retry grows fast.
  const int exponent = std::max(0, retry - 1);
  double base = initial * std::pow(multiplier, std::min(exponent, 1024));
  if (!std::isfinite(base) || base > max) base = max;
  // 53 random bits give a uniform double in [0, 1).
  const double u = static_cast<double>(random >> 11) * 0x1.0p-53;
  const double delay = base * (1.0 - jitter) + base * jitter * u;
  return std::chrono::milliseconds(static_cast<int64_t>(std::min(delay, max)));
}

}  // namespace estelik::sync::net
