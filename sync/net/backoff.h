// Backoff: how long a dialer waits before trying again.
//
// The delay before retry n (n = 1 for the first retry) is
//   base(n) = min(max, initial * multiplier^(n-1))
//   delay   = base(n) * (1 - jitter) + base(n) * jitter * u,   u uniform in [0, 1)
// so it never exceeds `max`, and peers that lost the same server at the same moment do not
// all come back at the same instant. `u` comes from a caller-supplied 64-bit random value,
// which makes the schedule reproducible in tests.
#pragma once

#include <chrono>
#include <cstdint>

namespace estelik::sync::net {

struct BackoffPolicy {
  std::chrono::milliseconds initial{500};
  std::chrono::milliseconds max{30'000};
  double multiplier = 2.0;  // values below 1 are treated as 1
  double jitter = 0.5;      // fraction of the delay that is random; clamped to [0, 1]
};

// The delay before retry number `retry` (1-based; 0 is treated as 1). `random` is a uniform
// 64-bit value.
std::chrono::milliseconds BackoffDelay(const BackoffPolicy& policy, int retry, uint64_t random);

}  // namespace estelik::sync::net
