// Store: add-wins tags and annotations. Tables: schema version 5 (core/store/schema.cc);
// rules: docs/FORMAT.md "Ops and envelopes" (Merge).
//
// Why the live tag set is computed rather than accumulated: adds and removes of different
// members travel in different chains, so a replica may see a remove before the add it
// observed, or a tag before the testimony. Recording both sets as they come and deriving
// live = adds - removed makes the outcome independent of delivery order.
#include <sodium.h>

#include <algorithm>
#include <set>

#include "core/bytes.h"
#include "core/ids.h"
#include "core/sql/stmt.h"
#include "core/sql/transaction.h"
#include "core/store/store.h"

namespace estelik::store {

using sql::Exec;
using sql::Stmt;
using sql::Transaction;

namespace {

constexpr int64_t kCircleScope = 2;  // pb::CONSENT_SCOPE_CIRCLE

void PutU64(std::string* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>(v >> (8 * i)));
}
void PutBytes(std::string* out, std::string_view b) {
  PutU64(out, b.size());
  out->append(b);
}

// What decides which adds count for a testimony: whether it exists and is live, and the one
// circle (besides the private log) whose members' adds count.
struct Subject {
  bool exists = false;
  bool withdrawn = false;
  int64_t seq = 0;
  std::string circle;  // empty unless shared
};

Result<Subject> LoadSubject(sqlite3* db, std::string_view id) {
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt s, Stmt::Prepare(db,
                            "SELECT t.seq, t.withdrawn, t.consent_scope, v.fields FROM testimonies "
                            "t LEFT JOIN versions v ON v.testimony_seq = t.seq AND v.version = "
                            "t.current_version WHERE t.id = ?1"));
  s.BindBlob(1, id);
  ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
  Subject subject;
  if (!row) return subject;
  subject.exists = true;
  subject.seq = s.Int(0);
  subject.withdrawn = s.Int(1) != 0;
  if (!subject.withdrawn && s.Int(2) == kCircleScope && !s.IsNull(3)) {
    pb::TestimonyFields fields;
    if (!fields.ParseFromString(s.Blob(3)))
      return Corrupt("store.db: testimony " + Hex(id) + " has unreadable content");
    subject.circle = fields.circle_id();
  }
  return subject;
}

struct LiveAdd {
  std::string tag;
  std::string op_hash;
};

// Live adds of a live testimony, by (tag, op hash).
Result<std::vector<LiveAdd>> LiveAdds(sqlite3* db, std::string_view id, const Subject& subject) {
  std::vector<LiveAdd> out;
  if (!subject.exists || subject.withdrawn) return out;
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt s, Stmt::Prepare(db,
                            "SELECT g.tag, g.op_hash FROM tag_adds g WHERE g.testimony_id = ?1 "
                            "AND (g.scope = X'' OR g.scope = ?2) AND NOT EXISTS (SELECT 1 FROM "
                            "tag_removed r WHERE r.add_hash = g.op_hash) ORDER BY g.tag, "
                            "g.op_hash"));
  s.BindBlob(1, id).BindBlob(2, subject.circle.empty() ? std::string_view("-") : subject.circle);
  ESTELIK_RETURN_IF_ERROR(sql::ForEachRow(s, [&](const sql::Stmt& row) {
    out.push_back({row.Text(0), row.Blob(1)});
  }));
  return out;
}

Status CheckScope(std::string_view scope) {
  if (!scope.empty() && scope.size() != 32)
    return InvalidArgument("scope must be empty or 32 bytes");
  return Status::Ok();
}

}  // namespace

Status Store::AddTag(const TagAddRecord& add) {
  ESTELIK_RETURN_IF_ERROR(CheckIdSize(add.op_hash, kHashSize, "tag op hash"));
  ESTELIK_RETURN_IF_ERROR(CheckIdSize(add.testimony_id, kTestimonyIdSize, "testimony id"));
  ESTELIK_RETURN_IF_ERROR(CheckIdSize(add.author, kAuthorSize, "author"));
  ESTELIK_RETURN_IF_ERROR(CheckScope(add.scope));
  if (add.tag.empty() || add.tag.size() > kMaxTagBytes || !IsUtf8(add.tag))
    return InvalidArgument("a tag is 1 to 256 bytes of UTF-8");
  ESTELIK_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(db_));
  ESTELIK_ASSIGN_OR_RETURN(Subject subject, LoadSubject(db_, add.testimony_id));
  if (subject.withdrawn) return Status::Ok();  // tombstones win
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt ins,
      Stmt::Prepare(db_,
                    "INSERT OR IGNORE INTO tag_adds(op_hash, testimony_id, scope, author, "
                    "tag, hlc_wall, hlc_counter) VALUES(?1,?2,?3,?4,?5,?6,?7)"));
  ins.BindBlob(1, add.op_hash)
      .BindBlob(2, add.testimony_id)
      .BindBlob(3, add.scope)
      .BindBlob(4, add.author)
      .BindText(5, add.tag)
      .BindInt(6, static_cast<int64_t>(add.hlc.wall_ms()))
      .BindInt(7, static_cast<int64_t>(add.hlc.counter()));
  ESTELIK_RETURN_IF_ERROR(ins.Run());
  ESTELIK_RETURN_IF_ERROR(RefreshTagTerms(add.testimony_id));
  return tx.Commit();
}

Status Store::RemoveTagAdds(std::string_view testimony_id,
                            const std::vector<std::string>& add_hashes) {
  ESTELIK_RETURN_IF_ERROR(CheckIdSize(testimony_id, kTestimonyIdSize, "testimony id"));
  for (const auto& h : add_hashes)
    ESTELIK_RETURN_IF_ERROR(CheckIdSize(h, kHashSize, "observed add"));
  ESTELIK_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(db_));
  ESTELIK_ASSIGN_OR_RETURN(Subject subject, LoadSubject(db_, testimony_id));
  if (subject.withdrawn) return Status::Ok();
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt ins, Stmt::Prepare(db_,
                              "INSERT OR IGNORE INTO tag_removed(add_hash, testimony_id) "
                              "VALUES(?1,?2)"));
  for (const auto& h : add_hashes) {
    ins.BindBlob(1, h).BindBlob(2, testimony_id);
    ESTELIK_RETURN_IF_ERROR(ins.Run());
    ins.Reset();
  }
  ESTELIK_RETURN_IF_ERROR(RefreshTagTerms(testimony_id));
  return tx.Commit();
}

Status Store::AddAnnotation(const AnnotationRecord& r) {
  const pb::Annotation& a = r.annotation;
  ESTELIK_RETURN_IF_ERROR(CheckIdSize(r.op_hash, kHashSize, "annotation op hash"));
  ESTELIK_RETURN_IF_ERROR(CheckIdSize(r.testimony_id, kTestimonyIdSize, "testimony id"));
  ESTELIK_RETURN_IF_ERROR(CheckIdSize(a.annotation_id(), 16, "annotation id"));
  ESTELIK_RETURN_IF_ERROR(CheckIdSize(a.author(), kAuthorSize, "author"));
  ESTELIK_RETURN_IF_ERROR(CheckScope(r.scope));
  if (a.text().empty() || a.text().size() > kMaxAnnotationBytes || !IsUtf8(a.text()))
    return InvalidArgument("an annotation is 1 byte to 64 KiB of UTF-8");
  if (a.language().size() > 64 || !IsUtf8(a.language()))
    return InvalidArgument("annotation language tag is longer than 64 bytes");
  ESTELIK_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(db_));
  ESTELIK_ASSIGN_OR_RETURN(Subject subject, LoadSubject(db_, r.testimony_id));
  if (subject.withdrawn) return Status::Ok();
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt ins,
      Stmt::Prepare(
          db_,
          "INSERT OR IGNORE INTO annotations(op_hash, annotation_id, testimony_id, scope, "
          "author, text, language, hlc_wall, hlc_counter) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,"
          "?9)"));
  ins.BindBlob(1, r.op_hash)
      .BindBlob(2, a.annotation_id())
      .BindBlob(3, r.testimony_id)
      .BindBlob(4, r.scope)
      .BindBlob(5, a.author())
      .BindText(6, a.text())
      .BindText(7, a.language())
      .BindInt(8, static_cast<int64_t>(a.added().wall_ms()))
      .BindInt(9, static_cast<int64_t>(a.added().counter()));
  ESTELIK_RETURN_IF_ERROR(ins.Run());
  return tx.Commit();
}

Result<std::vector<std::string>> Store::LiveTagAdds(std::string_view testimony_id,
                                                    std::string_view tag) {
  ESTELIK_RETURN_IF_ERROR(CheckIdSize(testimony_id, kTestimonyIdSize, "testimony id"));
  ESTELIK_ASSIGN_OR_RETURN(Subject subject, LoadSubject(db_, testimony_id));
  if (!subject.exists) return NotFound("no testimony " + Hex(testimony_id));
  ESTELIK_ASSIGN_OR_RETURN(std::vector<LiveAdd> live, LiveAdds(db_, testimony_id, subject));
  std::vector<std::string> out;
  for (auto& a : live) {
    if (a.tag == tag) out.push_back(std::move(a.op_hash));
  }
  return out;
}

Status Store::RefreshTagTerms(std::string_view testimony_id) {
  ESTELIK_ASSIGN_OR_RETURN(Subject subject, LoadSubject(db_, testimony_id));
  if (!subject.exists) return Status::Ok();
  ESTELIK_ASSIGN_OR_RETURN(std::vector<LiveAdd> live, LiveAdds(db_, testimony_id, subject));
  ESTELIK_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(db_));
  ESTELIK_ASSIGN_OR_RETURN(Stmt del,
                           Stmt::Prepare(db_, "DELETE FROM tag_terms WHERE testimony_seq = ?1"));
  ESTELIK_RETURN_IF_ERROR(del.BindInt(1, subject.seq).Run());
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt ins,
      Stmt::Prepare(db_, "INSERT OR IGNORE INTO tag_terms(testimony_seq, tag) VALUES(?1,?2)"));
  for (const auto& a : live) {
    ins.BindInt(1, subject.seq).BindText(2, a.tag);
    ESTELIK_RETURN_IF_ERROR(ins.Run());
    ins.Reset();
  }
  return tx.Commit();
}

// Called by DestroyContent inside its transaction: nothing a member said about a withdrawn
// testimony stays either.
Status Store::DestroyTagsAndAnnotations(std::string_view id) {
  ESTELIK_ASSIGN_OR_RETURN(Subject subject, LoadSubject(db_, id));
  for (const char* sql : {"DELETE FROM tag_adds WHERE testimony_id = ?1",
                          "DELETE FROM tag_removed WHERE testimony_id = ?1",
                          "DELETE FROM annotations WHERE testimony_id = ?1",
                          "DELETE FROM version_ops WHERE testimony_id = ?1"}) {
    ESTELIK_ASSIGN_OR_RETURN(Stmt d, Stmt::Prepare(db_, sql));
    ESTELIK_RETURN_IF_ERROR(d.BindBlob(1, id).Run());
  }
  if (!subject.exists) return Status::Ok();
  ESTELIK_ASSIGN_OR_RETURN(Stmt d,
                           Stmt::Prepare(db_, "DELETE FROM tag_terms WHERE testimony_seq = ?1"));
  return d.BindInt(1, subject.seq).Run();
}

Status Store::FillTagsAndAnnotations(pb::Testimony* t) {
  if (t->withdrawn()) return Status::Ok();
  ESTELIK_ASSIGN_OR_RETURN(Subject subject, LoadSubject(db_, t->id()));
  ESTELIK_ASSIGN_OR_RETURN(std::vector<LiveAdd> live, LiveAdds(db_, t->id(), subject));
  std::set<std::string> tags(t->fields().tags().begin(), t->fields().tags().end());
  for (const auto& a : live) tags.insert(a.tag);
  tags.erase(std::string());
  for (const auto& tag : tags) t->add_tags(tag);
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt s, Stmt::Prepare(db_,
                            "SELECT annotation_id, author, text, language, hlc_wall, hlc_counter "
                            "FROM annotations WHERE testimony_id = ?1 AND (scope = X'' OR scope = "
                            "?2) ORDER BY hlc_wall, hlc_counter, author, op_hash"));
  s.BindBlob(1, t->id()).BindBlob(2, subject.circle.empty() ? std::string("-") : subject.circle);
  ESTELIK_RETURN_IF_ERROR(sql::ForEachRow(s, [&](const sql::Stmt& row) {
    pb::Annotation* a = t->add_annotations();
    a->set_annotation_id(row.Blob(0));
    a->set_author(row.Blob(1));
    a->set_text(row.Text(2));
    a->set_language(row.Text(3));
    a->mutable_added()->set_wall_ms(static_cast<uint64_t>(row.Int(4)));
    a->mutable_added()->set_counter(static_cast<uint32_t>(row.Int(5)));
  }));
  return Status::Ok();
}

// StateHash's share of one testimony: 'G' per live add (tag, op hash), 'N' per visible
// annotation (op hash, id, author, text, language, HLC), both in a fixed order.
Status Store::AppendTagState(std::string_view id, std::string* buf) {
  ESTELIK_ASSIGN_OR_RETURN(Subject subject, LoadSubject(db_, id));
  if (!subject.exists || subject.withdrawn) return Status::Ok();
  ESTELIK_ASSIGN_OR_RETURN(std::vector<LiveAdd> live, LiveAdds(db_, id, subject));
  for (const auto& a : live) {
    *buf += 'G';
    PutBytes(buf, a.tag);
    PutBytes(buf, a.op_hash);
  }
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt s, Stmt::Prepare(db_,
                            "SELECT op_hash, annotation_id, author, text, language, hlc_wall, "
                            "hlc_counter FROM annotations WHERE testimony_id = ?1 AND (scope = "
                            "X'' OR scope = ?2) ORDER BY op_hash"));
  s.BindBlob(1, id).BindBlob(2, subject.circle.empty() ? std::string("-") : subject.circle);
  ESTELIK_RETURN_IF_ERROR(sql::ForEachRow(s, [&](const sql::Stmt& row) {
    *buf += 'N';
    for (int c = 0; c <= 4; ++c) PutBytes(buf, row.Blob(c));
    PutU64(buf, static_cast<uint64_t>(row.Int(5)));
    PutU64(buf, static_cast<uint64_t>(row.Int(6)));
  }));
  return Status::Ok();
}

}  // namespace estelik::store
