// The panic-lock's reach into a call that is running on another thread: one flag per store
// connection, raised from any thread, that every long loop of the engine (attachment chunks,
// search phases, replayed ops) checks at each step, plus sqlite3_interrupt() so that the
// statement running at that moment stops at its next row. Whatever it stops returns kLocked
// (sql_status.h maps SQLITE_INTERRUPT to kLocked), its transaction rolls back, and the caller
// removes partial output. Once raised the flag stays raised: the connection's owner is about to
// be destroyed (a lock drops the Archive), and nothing more may run on it.
//
// Thread safety: Request() and requested() from any thread, also while a call runs on the
// connection, as long as the connection is open (the owner guarantees that); Check() too.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <string_view>

#include "core/status.h"

namespace estelik::sql {

class Interrupt {
 public:
  explicit Interrupt(sqlite3* db) : db_(db) {}
  Interrupt(const Interrupt&) = delete;
  Interrupt& operator=(const Interrupt&) = delete;

  // Raises the flag and interrupts the statement running on the connection, if any.
  void Request();
  bool requested() const { return requested_.load(std::memory_order_acquire); }
  // kLocked "the vault was locked while <during>; nothing of it was kept" once requested.
  Status Check(std::string_view during) const;

 private:
  sqlite3* const db_;
  std::atomic<bool> requested_{false};
};

}  // namespace estelik::sql
