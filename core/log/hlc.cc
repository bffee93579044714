#include "core/log/hlc.h"

#include <algorithm>
#include <limits>

namespace estelik::log {

int CompareHlc(const pb::Hlc& a, const pb::Hlc& b) {
  if (a.wall_ms() != b.wall_ms()) return a.wall_ms() < b.wall_ms() ? -1 : 1;
  if (a.counter() != b.counter()) return a.counter() < b.counter() ? -1 : 1;
  return 0;
}

// Sets last_ to (wall_ms, counter), carrying a counter overflow into the next millisecond so
// readings stay strictly increasing even after 2^32 events in one millisecond.
pb::Hlc HybridClock::Advance(uint64_t wall_ms, uint32_t counter) {
  last_.set_wall_ms(wall_ms);
  last_.set_counter(counter);
  return last_;
}

pb::Hlc HybridClock::Now(uint64_t physical_ms) {
  if (physical_ms > last_.wall_ms()) return Advance(physical_ms, 0);
  if (last_.counter() == std::numeric_limits<uint32_t>::max()) {
    return Advance(last_.wall_ms() + 1, 0);
  }
  return Advance(last_.wall_ms(), last_.counter() + 1);
}

HybridClock::Observation HybridClock::Observe(const pb::Hlc& remote, uint64_t physical_ms) {
  Observation obs;
  pb::Hlc r = remote;
  uint64_t limit = physical_ms > std::numeric_limits<uint64_t>::max() - max_drift_ms_
                       ? std::numeric_limits<uint64_t>::max()
                       : physical_ms + max_drift_ms_;
  if (r.wall_ms() > limit) {
    obs.far_future = true;
    // Take the remote as if it were at the drift bound: our clock moves no further.
    r.set_wall_ms(limit);
    r.set_counter(0);
  }
  const uint64_t wall = std::max({last_.wall_ms(), r.wall_ms(), physical_ms});
  uint64_t counter = 0;  // 64-bit so +1 cannot wrap before the overflow check
  if (wall == last_.wall_ms() && wall == r.wall_ms()) {
    counter = uint64_t{std::max(last_.counter(), r.counter())} + 1;
  } else if (wall == last_.wall_ms()) {
    counter = uint64_t{last_.counter()} + 1;
  } else if (wall == r.wall_ms()) {
    counter = uint64_t{r.counter()} + 1;
  }
  if (counter > std::numeric_limits<uint32_t>::max()) {
    obs.now = Advance(wall + 1, 0);
  } else {
    obs.now = Advance(wall, static_cast<uint32_t>(counter));
  }
  return obs;
}

void HybridClock::Restore(const pb::Hlc& last) {
  if (CompareHlc(last, last_) > 0) last_ = last;
}

}  // namespace estelik::log
