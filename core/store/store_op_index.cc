// Store: the op bookkeeping the Archive keeps beside the materialized records: which op made
// each version (version_ops) and which ops name each testimony (op_subjects), so an export
// and a withdrawal find them without reading the log. Tables: core/store/schema.cc.
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/ids.h"
#include "core/sql/stmt.h"
#include "core/store/store.h"

namespace estelik::store {

using sql::Stmt;

Status Store::SetVersionOp(std::string_view testimony_id, uint32_t version,
                           std::string_view op_hash) {
  ESTELIK_RETURN_IF_ERROR(CheckIdSize(testimony_id, kTestimonyIdSize, "testimony id"));
  ESTELIK_RETURN_IF_ERROR(CheckIdSize(op_hash, kHashSize, "op hash"));
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt s, Stmt::Prepare(db_,
                            "INSERT OR REPLACE INTO version_ops(testimony_id, version, op_hash) "
                            "VALUES(?1,?2,?3)"));
  s.BindBlob(1, testimony_id).BindInt(2, static_cast<int64_t>(version)).BindBlob(3, op_hash);
  return s.Run();
}

Result<std::string> Store::VersionOp(std::string_view testimony_id, uint32_t version) {
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt s, Stmt::Prepare(db_,
                            "SELECT op_hash FROM version_ops WHERE testimony_id = ?1 AND "
                            "version = ?2"));
  s.BindBlob(1, testimony_id).BindInt(2, static_cast<int64_t>(version));
  ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) {
    return NotFound("no op recorded for testimony " + Hex(testimony_id) + " version " +
                    std::to_string(version));
  }
  return s.Blob(0);
}

Status Store::RecordOpSubject(std::string_view op_hash, std::string_view testimony_id) {
  ESTELIK_RETURN_IF_ERROR(CheckIdSize(op_hash, kHashSize, "op hash"));
  ESTELIK_ASSIGN_OR_RETURN(Stmt s,
                           Stmt::Prepare(db_,
                                         "INSERT OR IGNORE INTO op_subjects(op_hash, testimony_id) "
                                         "VALUES(?1,?2)"));
  s.BindBlob(1, op_hash).BindBlob(2, testimony_id);
  return s.Run();
}

Result<std::vector<std::string>> Store::OpSubjects(std::string_view testimony_id) {
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt s, Stmt::Prepare(db_,
                            "SELECT op_hash FROM op_subjects WHERE testimony_id = ?1 ORDER BY "
                            "op_hash"));
  s.BindBlob(1, testimony_id);
  std::vector<std::string> out;
  ESTELIK_RETURN_IF_ERROR(
      sql::ForEachRow(s, [&](const sql::Stmt& row) { out.push_back(row.Blob(0)); }));
  return out;
}

Status Store::ForgetOpSubjects(std::string_view testimony_id) {
  ESTELIK_ASSIGN_OR_RETURN(Stmt s,
                           Stmt::Prepare(db_, "DELETE FROM op_subjects WHERE testimony_id = ?1"));
  return s.BindBlob(1, testimony_id).Run();
}

}  // namespace estelik::store
