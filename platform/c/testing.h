// Test-only hooks into the C API, for the C++ tests that link the objects of estelik_c. Not
// part of estelik.h, and not exported from libestelik.so: these symbols are hidden like the
// rest of the engine, and the version script (estelik.map) exports estelik_* only.
#pragma once

#include <chrono>
#include <functional>

#include "platform/c/estelik.h"

namespace estelik::capi {

// Makes auto-lock of `vault` (and of every writer/reader opened through it) measure idleness
// with `clock` instead of std::chrono::steady_clock, starting now: the vault counts as used at
// `clock()`. A test advances its own clock instead of sleeping.
void SetClockForTesting(estelik_vault* vault,
                        std::function<std::chrono::steady_clock::time_point()> clock);

}  // namespace estelik::capi
