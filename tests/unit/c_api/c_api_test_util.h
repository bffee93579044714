// Helpers shared by the C API tests: owners of what estelik.h hands back.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "platform/c/estelik.h"

namespace estelik::testing {

inline constexpr char kCApiPass[] = "correct horse battery staple";

// Owns an estelik_error and clears it.
struct Error {
  estelik_error e = ESTELIK_ERROR_INIT;
  ~Error() { estelik_error_clear(&e); }
  std::string message() const { return e.message ? e.message : ""; }
};

// Owns an estelik_buffer.
struct Buffer {
  estelik_buffer b{nullptr, 0};
  ~Buffer() { estelik_buffer_free(&b); }
  template <typename Message>
  Message As() const {
    Message m;
    EXPECT_TRUE(m.ParseFromArray(b.data, static_cast<int>(b.size)));
    return m;
  }
};

}  // namespace estelik::testing
