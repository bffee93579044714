// Waiting for what another thread or process does, instead of sleeping "long enough".
#pragma once

#include <chrono>
#include <thread>

namespace estelik::testing {

// How long a test waits for something that should happen within milliseconds: generous for a
// loaded two-core CI machine under sanitizers, and only ever spent by a failing test.
inline constexpr std::chrono::seconds kWaitPatience{60};

// Polls `done` about every millisecond until it returns true, and returns true; returns false
// once `timeout` has passed without it (the caller fails the test, saying what it waited for).
// For events a test can observe but is not called back on: a counter, a file, a port, a child.
template <typename Done>
bool WaitUntil(Done&& done, std::chrono::steady_clock::duration timeout = kWaitPatience) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace estelik::testing
