#include "core/sql/interrupt.h"

#include <string>

namespace estelik::sql {

void Interrupt::Request() {
  // The flag first: a loop that misses the interrupted statement sees it at its next step.
  requested_.store(true, std::memory_order_release);
  if (db_ != nullptr) sqlite3_interrupt(db_);
}

Status Interrupt::Check(std::string_view during) const {
  if (!requested()) return Status::Ok();
  return Status(Code::kLocked,
                "the vault was locked while " + std::string(during) + "; nothing of it was kept");
}

}  // namespace estelik::sql
