// Store: what a rebuild from the op log needs: emptying every materialized table, restoring
// attachments and tombstones, and the content keys that survive it.
#include <string>
#include <utility>
#include <vector>

#include "core/ids.h"
#include "core/sql/stmt.h"
#include "core/sql/transaction.h"
#include "core/store/store.h"

namespace estelik::store {

using sql::Exec;
using sql::Stmt;
using sql::Transaction;

Status Store::ClearMaterialized() {
  ESTELIK_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(db_));
  // Every full-text table, whatever the index layout (one table, or shards).
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt fts, Stmt::Prepare(db_,
                              "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE "
                              "'testimony\\_fts%' ESCAPE '\\' AND sql LIKE 'CREATE VIRTUAL TABLE%' "
                              "ORDER BY name"));
  std::vector<std::string> tables;
  ESTELIK_RETURN_IF_ERROR(
      sql::ForEachRow(fts, [&](const sql::Stmt& row) { tables.push_back(row.Text(0)); }));
  for (const std::string& t : tables) {
    ESTELIK_RETURN_IF_ERROR(Exec(db_, ("DELETE FROM \"" + t + "\"").c_str()));
  }
  ESTELIK_RETURN_IF_ERROR(Exec(db_,
                               "DELETE FROM terms; DELETE FROM versions; DELETE FROM attachments; "
                               "DELETE FROM testimonies; DELETE FROM tag_adds; "
                               "DELETE FROM tag_removed; DELETE FROM tag_terms; "
                               "DELETE FROM annotations; DELETE FROM version_ops; "
                               "DELETE FROM op_subjects;"));
  return tx.Commit();
}

Status Store::RestoreAttachment(const pb::AttachmentInfo& info) {
  ESTELIK_RETURN_IF_ERROR(ExpectAttachment(info));
  if (info.chunk_count() == 0) return Status::Ok();
  if (GetAttachment(info.attachment_id()).ok()) return Status::Ok();  // complete already
  ESTELIK_ASSIGN_OR_RETURN(std::vector<uint64_t> missing, MissingChunks(info.attachment_id()));
  if (!missing.empty()) return Status::Ok();
  return VerifyAndComplete(info.attachment_id());
}

Result<std::vector<std::pair<std::string, crypto::SecretBytes>>> Store::LiveContentKeys() {
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt s, Stmt::Prepare(db_,
                            "SELECT id, content_key FROM testimonies WHERE withdrawn = 0 AND "
                            "content_key IS NOT NULL ORDER BY id"));
  std::vector<std::pair<std::string, crypto::SecretBytes>> out;
  ESTELIK_RETURN_IF_ERROR(sql::ForEachRow(s, [&](const sql::Stmt& row) {
    out.emplace_back(row.Blob(0), crypto::SecretBytes::CopyOf(row.BlobSpan(1)));
  }));
  return out;
}

Status Store::PutTombstone(std::string_view id, std::string_view author, const pb::Hlc& created,
                           const pb::Hlc& withdrawn, std::string_view tombstone_hash) {
  ESTELIK_RETURN_IF_ERROR(CheckIdSize(id, kTestimonyIdSize, "testimony id"));
  ESTELIK_RETURN_IF_ERROR(CheckIdSize(author, kAuthorSize, "author"));
  ESTELIK_RETURN_IF_ERROR(CheckIdSize(tombstone_hash, kHashSize, "tombstone hash"));
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt ins, Stmt::Prepare(db_,
                              "INSERT OR IGNORE INTO testimonies(id, author, created_wall, "
                              "created_counter, recorded_ms, current_version, updated_wall, "
                              "updated_counter, withdrawn, tombstone_hash, content_key) "
                              "VALUES(?1,?2,?3,?4,0,0,?5,?6,1,?7,NULL)"));
  ins.BindBlob(1, id)
      .BindBlob(2, author)
      .BindInt(3, static_cast<int64_t>(created.wall_ms()))
      .BindInt(4, static_cast<int64_t>(created.counter()))
      .BindInt(5, static_cast<int64_t>(withdrawn.wall_ms()))
      .BindInt(6, static_cast<int64_t>(withdrawn.counter()))
      .BindBlob(7, tombstone_hash);
  return ins.Run();
}

}  // namespace estelik::store
