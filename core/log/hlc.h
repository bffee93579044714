// HybridClock: a hybrid logical clock (Kulkarni et al., "Logical Physical Clocks", 2014).
//
// Readings are pb::Hlc (wall_ms, counter), compared lexicographically. Every reading is
// strictly greater than every earlier reading of the same clock and than every remote
// reading Observe()d before it, so causally later ops sort later even when the device
// clock is wrong or jumps backwards.
//
// The physical clock is passed in (milliseconds since the Unix epoch): this class never
// reads a clock itself, so tests and replays are deterministic.
//
// Drift bound: a remote reading more than max_drift_ms ahead of our physical clock (default
// one day) is "far future": a broken or hostile peer. Observe() then does NOT move our clock
// beyond physical + max_drift_ms (so one peer cannot drag every device's clock into the
// future, nor make its own ops win every last-writer-wins merge by force of a future date),
// and reports far_future so the caller can flag the op. The remote reading is still
// ordered by its own value wherever it is compared; only our causality with it is lost.
//
// Thread safety: not thread-safe; the owner (OpLog) serializes calls.
#pragma once

#include <cstdint>

#include "proto/common.pb.h"

namespace estelik::log {

inline constexpr uint64_t kDefaultMaxDriftMs = 24ull * 60 * 60 * 1000;

// -1, 0, 1 as a < b, a == b, a > b.
int CompareHlc(const pb::Hlc& a, const pb::Hlc& b);

class HybridClock {
 public:
  explicit HybridClock(uint64_t max_drift_ms = kDefaultMaxDriftMs) : max_drift_ms_(max_drift_ms) {}

  // A reading for a local event: greater than every reading before it.
  pb::Hlc Now(uint64_t physical_ms);

  struct Observation {
    pb::Hlc now;              // the reading for the receive event
    bool far_future = false;  // remote was beyond physical + max_drift_ms; clock was clamped
  };
  // Merges a remote reading (on receiving an op) and returns the receive event's reading.
  Observation Observe(const pb::Hlc& remote, uint64_t physical_ms);

  // The last reading handed out (zero before the first). Restore() sets it, e.g. from the
  // value persisted before a restart, so the clock stays monotonic across restarts.
  const pb::Hlc& last() const { return last_; }
  void Restore(const pb::Hlc& last);

 private:
  pb::Hlc Advance(uint64_t wall_ms, uint32_t counter);
  uint64_t max_drift_ms_;
  pb::Hlc last_;
};

}  // namespace estelik::log
