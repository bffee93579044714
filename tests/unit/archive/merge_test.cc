// Merge completeness: the store is a pure function of the op log. Withdrawals carry the
// author's tombstone and win over anything arriving later; tags and annotations are add-wins
// sets any circle member may change; `Rebuild` re-derives every materialized table from the
// log and gets the same state hash; a withdrawal redacts the private ops that carried the
// testimony, so its words are nowhere in the decrypted vault afterwards.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/archive/archive.h"
#include "core/archive/back_door.h"
#include "core/bytes.h"
#include "core/log/op_codec.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/archive/archive_test_util.h"

namespace estelik::archive {
namespace {

using estelik::testing::TempDir;
using namespace estelik::archive::testing;  // NOLINT

// Our private ops, oldest first, opened.
std::vector<pb::OpBody> PrivateBodies(Archive& a) {
  std::vector<pb::OpBody> out;
  auto ops = ArchiveBackDoor::log(a).OpsAfter({}, log::Scope::Private(), 100000);
  EXPECT_TRUE(ops.ok());
  if (!ops.ok()) return out;
  for (const auto& e : *ops) {
    if (e.op().empty()) continue;  // redacted
    auto body = ArchiveBackDoor::log(a).OpenBody(e);
    EXPECT_TRUE(body.ok()) << body.status().ToString();
    if (body.ok()) out.push_back(*body);
  }
  return out;
}

// Rows of any table of the decrypted vault (store and log) holding `needle`, as "table.column".
std::vector<std::string> FindInVault(Archive& a, const std::string& needle) {
  sqlite3* db = ArchiveBackDoor::vault(a).db();
  std::vector<std::string> tables;
  sqlite3_stmt* s = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table'", -1, &s,
                               nullptr),
            SQLITE_OK);
  while (sqlite3_step(s) == SQLITE_ROW) {
    tables.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)));
  }
  sqlite3_finalize(s);
  std::vector<std::string> hits;
  for (const auto& t : tables) {
    std::vector<std::string> columns;
    std::string info = "SELECT name FROM pragma_table_info('" + t + "')";
    EXPECT_EQ(sqlite3_prepare_v2(db, info.c_str(), -1, &s, nullptr), SQLITE_OK);
    while (sqlite3_step(s) == SQLITE_ROW) {
      columns.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)));
    }
    sqlite3_finalize(s);
    for (const auto& c : columns) {
      std::string q = "SELECT count(*) FROM \"" + t + "\" WHERE instr(CAST(\"" + c +
                      "\" AS BLOB), CAST(?1 AS BLOB)) > 0";
      if (sqlite3_prepare_v2(db, q.c_str(), -1, &s, nullptr) != SQLITE_OK) continue;
      sqlite3_bind_text(s, 1, needle.data(), static_cast<int>(needle.size()), SQLITE_STATIC);
      if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int64(s, 0) > 0)
        hits.push_back(t + "." + c);
      sqlite3_finalize(s);
    }
  }
  return hits;
}

class Circle : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"alia", "bolat", "dana"}) {
      auto a = Archive::Create(tmp_.File(name), std::string(name) + "'s passphrase", Fast());
      ASSERT_TRUE(a.ok()) << a.status().ToString();
      members_.push_back(std::move(a).value());
    }
    auto circle = alia().CreateCircle("witnesses");
    ASSERT_TRUE(circle.ok());
    circle_ = *circle;
    for (size_t i = 1; i < members_.size(); ++i) {
      ASSERT_TRUE(alia().AddContact(members_[i]->identity().public_key(), "member").ok());
      ASSERT_TRUE(alia().AddCircleMember(circle_, members_[i]->identity().public_key()).ok());
    }
    for (size_t i = 1; i < members_.size(); ++i)
      ASSERT_TRUE(Deliver(alia(), *members_[i], circle_).ok());
  }

  Archive& alia() { return *members_[0]; }
  Archive& bolat() { return *members_[1]; }
  Archive& dana() { return *members_[2]; }

  // Everyone gets everything.
  void SyncAll() {
    for (int round = 0; round < 2; ++round) {
      for (auto& from : members_) {
        for (auto& to : members_) {
          if (from == to) continue;
          auto r = Deliver(*from, *to, circle_);
          ASSERT_TRUE(r.ok()) << r.status().ToString();
        }
      }
    }
  }

  std::string Shared(const std::string& title) {
    auto t = alia().AddTestimony(Fields(title, "what happened at the square"));
    EXPECT_TRUE(t.ok());
    EXPECT_TRUE(alia().Share(t->id(), circle_).ok());
    return t->id();
  }

  TempDir tmp_;
  std::vector<std::unique_ptr<Archive>> members_;
  std::string circle_;
};

TEST_F(Circle, EveryReplicaRecordsTheTombstoneHashTheAuthorComputed) {
  auto t = alia().AddTestimony(Fields("first words", "v1"));
  ASSERT_TRUE(t.ok());
  // Two private versions the circle never sees, then the share.
  ASSERT_TRUE(alia().EditTestimony(t->id(), Fields("second words", "v2")).ok());
  ASSERT_TRUE(alia().Share(t->id(), circle_).ok());
  ASSERT_NO_FATAL_FAILURE(SyncAll());
  ASSERT_TRUE(alia().Withdraw(t->id()).ok());
  ASSERT_NO_FATAL_FAILURE(SyncAll());

  auto mine = alia().GetTestimony(t->id());
  auto theirs = bolat().GetTestimony(t->id());
  ASSERT_TRUE(mine.ok() && theirs.ok());
  EXPECT_TRUE(theirs->withdrawn());
  EXPECT_EQ(mine->tombstone_hash().size(), 32u);
  EXPECT_EQ(theirs->tombstone_hash(), mine->tombstone_hash())
      << "bolat held fewer versions, but must record the author's tombstone";
  EXPECT_EQ(*bolat().StateHash(), *dana().StateHash());
}

TEST_F(Circle, ATestimonyRecordedIntoACircleHasNoPrivateCopyAndEveryMemberHoldsTheSameState) {
  pb::TestimonyFields fields = Fields("recorded for the circle", "the trucks came at dawn");
  fields.set_consent_scope(pb::CONSENT_SCOPE_CIRCLE);
  fields.set_circle_id(circle_);
  auto t = alia().AddTestimony(fields);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->current_version(), 1u);
  for (const auto& body : PrivateBodies(alia())) {
    EXPECT_FALSE(body.has_testimony_create() && body.testimony_create().testimony_id() == t->id())
        << "a testimony recorded into a circle must not have a private copy";
  }
  ASSERT_NO_FATAL_FAILURE(SyncAll());
  auto theirs = bolat().GetTestimony(t->id());
  ASSERT_TRUE(theirs.ok()) << theirs.status().ToString();
  EXPECT_EQ(theirs->fields().body(), "the trucks came at dawn");
  // The author's store and the members' are the same: no private history on either side.
  EXPECT_EQ(*alia().StateHash(), *bolat().StateHash());
  EXPECT_EQ(*alia().StateHash(), *dana().StateHash());
  auto rebuilt = alia().Rebuild();
  EXPECT_TRUE(rebuilt.ok()) << rebuilt.status().ToString();

  // Only members may record into a circle.
  pb::TestimonyFields elsewhere = fields;
  elsewhere.set_circle_id(std::string(32, 'x'));
  EXPECT_FALSE(bolat().AddTestimony(elsewhere).ok());
}

TEST_F(Circle, AnEditSignedAfterTheWithdrawalIsAcceptedButChangesNothing) {
  std::string id = Shared("to be withdrawn");
  ASSERT_NO_FATAL_FAILURE(SyncAll());
  ASSERT_TRUE(alia().Withdraw(id).ok());
  // The author's own key signs an edit after the withdrawal (a buggy or coerced client).
  pb::OpBody late;
  late.mutable_testimony_edit()->set_testimony_id(id);
  *late.mutable_testimony_edit()->mutable_fields() = Fields("resurrected", "words");
  ASSERT_TRUE(
      ArchiveBackDoor::log(alia()).Append(late, log::Scope::Circle(circle_), WallClockMs()).ok());
  // A tag bolat added before he saw the withdrawal, delivered to dana after it.
  ASSERT_TRUE(bolat().AddTag(id, "square").ok());

  ASSERT_TRUE(Deliver(alia(), dana(), circle_).ok());
  auto r = Deliver(bolat(), dana(), circle_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto t = dana().GetTestimony(id);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->withdrawn());
  EXPECT_TRUE(t->fields().title().empty());
  EXPECT_TRUE(t->tags().empty());
  // Bolat gets the withdrawal after his own tag: the same state.
  ASSERT_TRUE(Deliver(alia(), bolat(), circle_).ok());
  EXPECT_EQ(*bolat().StateHash(), *dana().StateHash());
}

TEST_F(Circle, APrivateCreateCarriesTheContentKeyAndAnEditNamesItsBaseOp) {
  auto t = alia().AddTestimony(Fields("kept here", "only on this phone"));
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(alia().EditTestimony(t->id(), Fields("kept here", "edited")).ok());
  std::vector<pb::OpBody> bodies = PrivateBodies(alia());
  const pb::OpBody* create = nullptr;
  const pb::OpBody* edit = nullptr;
  for (const auto& b : bodies) {
    if (b.has_testimony_create() && b.testimony_create().testimony_id() == t->id()) create = &b;
    if (b.has_testimony_edit() && b.testimony_edit().testimony_id() == t->id()) edit = &b;
  }
  ASSERT_NE(create, nullptr);
  ASSERT_NE(edit, nullptr);
  auto key = ArchiveBackDoor::store(alia()).TestimonyContentKey(t->id());
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(create->testimony_create().content_key(),
            std::string(reinterpret_cast<const char*>(key->data()), key->size()));
  // base_op is the hash of the create op, which made version 1.
  auto ops = ArchiveBackDoor::log(alia()).OpsAfter({}, log::Scope::Private(), 100000);
  ASSERT_TRUE(ops.ok());
  bool found = false;
  for (const auto& e : *ops) {
    auto h = log::HashOpBytes(e.op());
    if (std::string(reinterpret_cast<const char*>(h.data()), h.size()) ==
        edit->testimony_edit().base_op()) {
      auto body = ArchiveBackDoor::log(alia()).OpenBody(e);
      ASSERT_TRUE(body.ok());
      found = body->has_testimony_create();
    }
  }
  EXPECT_TRUE(found) << "the edit's base_op must name the create op";
  // Private ops never reach the circle.
  auto circle_ops = alia().OpsAfter(circle_, {}, 100000);
  ASSERT_TRUE(circle_ops.ok());
  for (const auto& e : *circle_ops) {
    auto body = ArchiveBackDoor::log(alia()).OpenBody(e);
    ASSERT_TRUE(body.ok());
    EXPECT_FALSE(body->has_testimony_create());
  }
}

TEST_F(Circle, AConcurrentTagAddSurvivesARemoveThatDidNotSeeIt) {
  std::string id = Shared("oil workers' strike");
  ASSERT_NO_FATAL_FAILURE(SyncAll());
  ASSERT_TRUE(bolat().AddTag(id, "strike").ok());
  ASSERT_TRUE(Deliver(bolat(), dana(), circle_).ok());
  // Dana removes the add she saw; meanwhile alia adds the same tag without seeing either.
  ASSERT_TRUE(dana().RemoveTag(id, "strike").ok());
  ASSERT_TRUE(alia().AddTag(id, "strike").ok());
  ASSERT_TRUE(dana().Annotate(id, "matches the hospital records", "en").ok());
  EXPECT_EQ(dana().RemoveTag(id, "nothing").code(), Code::kNotFound);
  ASSERT_NO_FATAL_FAILURE(SyncAll());

  for (auto& m : members_) {
    auto t = m->GetTestimony(id);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(std::vector<std::string>(t->tags().begin(), t->tags().end()),
              std::vector<std::string>{"strike"});
    ASSERT_EQ(t->annotations_size(), 1);
    EXPECT_EQ(t->annotations(0).text(), "matches the hospital records");
    EXPECT_EQ(
        t->annotations(0).author(),
        std::string(reinterpret_cast<const char*>(dana().identity().public_key().data()), 32));
    pb::ListFilter filter;
    filter.add_tags("strike");
    auto listed = m->List(filter, {});
    ASSERT_TRUE(listed.ok());
    ASSERT_EQ(listed->testimonies_size(), 1);
    EXPECT_EQ(listed->testimonies(0).id(), id);
  }
  // (alia, the author, also holds the private versions before the share.)
  EXPECT_EQ(*bolat().StateHash(), *dana().StateHash());

  // Removing what everyone has seen removes it everywhere.
  ASSERT_TRUE(bolat().RemoveTag(id, "strike").ok());
  ASSERT_NO_FATAL_FAILURE(SyncAll());
  for (auto& m : members_) EXPECT_EQ(m->GetTestimony(id)->tags_size(), 0);
}

TEST_F(Circle, OnlyWeTagAPrivateTestimonyAndTheTagNeverLeavesTheDevice) {
  auto t = alia().AddTestimony(Fields("private", "words"));
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(alia().AddTag(t->id(), "mine").ok());
  EXPECT_EQ(alia().GetTestimony(t->id())->tags(0), "mine");
  EXPECT_EQ(alia().AddTag(t->id(), "").code(), Code::kInvalidArgument);
  auto before = bolat().StateHash();
  ASSERT_NO_FATAL_FAILURE(SyncAll());
  EXPECT_EQ(*bolat().StateHash(), *before);
  EXPECT_EQ(bolat().GetTestimony(t->id()).status().code(), Code::kNotFound);
}

TEST_F(Circle, RebuildFromTheLogGivesTheSameStateHash) {
  // Private, edited, shared (with an attachment), withdrawn, tagged, annotated, and ops
  // received from other members.
  auto p = alia().AddTestimony(Fields("private one", "never shared"));
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(alia().EditTestimony(p->id(), Fields("private one", "edited")).ok());
  ASSERT_TRUE(alia().AddTag(p->id(), "draft").ok());
  auto w = alia().BeginAttachment(p->id(), {"voice.m4a", "", {}});
  ASSERT_TRUE(w.ok());
  std::string audio(150000, '\0');
  for (size_t i = 0; i < audio.size(); ++i) audio[i] = static_cast<char>(i * 7);
  ASSERT_TRUE((*w)->Append(estelik::AsBytes(audio)).ok());
  ASSERT_TRUE((*w)->Finish().ok());
  std::string shared = Shared("shared one");
  ASSERT_TRUE(alia().EditTestimony(shared, Fields("shared one", "edited in the circle")).ok());
  auto gone = alia().AddTestimony(Fields("withdrawn one", "gone"));
  ASSERT_TRUE(gone.ok());
  ASSERT_TRUE(alia().Withdraw(gone->id()).ok());
  auto theirs = bolat().AddTestimony(Fields("bolat's", "from another phone"));
  ASSERT_TRUE(theirs.ok());
  auto bw = bolat().BeginAttachment(theirs->id(), {"photo.jpg", "", {}});
  ASSERT_TRUE(bw.ok());
  ASSERT_TRUE((*bw)->Append(estelik::AsBytes(audio.substr(0, 70000))).ok());
  ASSERT_TRUE((*bw)->Finish().ok());
  ASSERT_TRUE(bolat().Share(theirs->id(), circle_).ok());
  ASSERT_NO_FATAL_FAILURE(SyncAll());
  ASSERT_NO_FATAL_FAILURE(DeliverChunks(bolat(), alia(), circle_));
  ASSERT_TRUE(dana().AddTag(shared, "square").ok());
  ASSERT_TRUE(dana().Annotate(theirs->id(), "seen by dana").ok());
  ASSERT_NO_FATAL_FAILURE(SyncAll());

  auto before = alia().StateHash();
  auto shown = alia().GetTestimony(theirs->id());
  ASSERT_TRUE(shown.ok());
  ASSERT_EQ(shown->attachments_size(), 1);
  auto report = alia().Rebuild();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->before, report->after);
  EXPECT_EQ(*alia().StateHash(), *before);
  EXPECT_GT(report->applied, 10u);
  auto again = alia().GetTestimony(theirs->id());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->SerializeAsString(), shown->SerializeAsString());
  EXPECT_EQ(alia().History(p->id())->versions_size(), 2);
  // Attachments stay readable: the create op carried the key that seals their chunks.
  auto reader = alia().OpenAttachment(p->id(), 0);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_TRUE((*reader)->Verify().ok());
  // And the other members rebuild to their own (equal) states too.
  for (size_t i = 1; i < members_.size(); ++i) {
    auto r = members_[i]->Rebuild();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
}

// Executes one SQL statement with one blob parameter on the vault's connection.
void RawSql(Archive& a, const std::string& sql, const std::string& blob) {
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(ArchiveBackDoor::vault(a).db(), sql.c_str(), -1, &s, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(ArchiveBackDoor::vault(a).db());
  if (!blob.empty()) sqlite3_bind_blob(s, 1, blob.data(), static_cast<int>(blob.size()), nullptr);
  EXPECT_EQ(sqlite3_step(s), SQLITE_DONE) << sqlite3_errmsg(ArchiveBackDoor::vault(a).db());
  sqlite3_finalize(s);
}

TEST_F(Circle, RebuildRestoresAVersionRowTamperedWithRawSql) {
  auto t = alia().AddTestimony(Fields("the true account", "shots at noon"));
  ASSERT_TRUE(t.ok());
  auto before = alia().StateHash();
  std::string forged = Fields("a false account", "nothing happened").SerializeAsString();
  ASSERT_NO_FATAL_FAILURE(RawSql(alia(), "UPDATE versions SET fields = ?1", forged));
  ASSERT_EQ(alia().GetTestimony(t->id())->fields().title(), "a false account");

  auto report = alia().Rebuild();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(alia().GetTestimony(t->id())->fields().title(), "the true account");
  EXPECT_EQ(*alia().StateHash(), *before);
  pb::SearchQuery q;
  q.set_text("noon");
  auto found = alia().Search(q);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->hits_size(), 1);
}

TEST_F(Circle, RebuildRefusesAndChangesNothingWhenTheStateWouldDiffer) {
  auto t = alia().AddTestimony(Fields("account", "words"), 1700000000000ULL);
  ASSERT_TRUE(t.ok());
  ASSERT_NO_FATAL_FAILURE(RawSql(alia(), "UPDATE testimonies SET recorded_ms = 5", ""));
  auto tampered = alia().StateHash();
  auto report = alia().Rebuild();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), Code::kCorrupt);
  EXPECT_EQ(*alia().StateHash(), *tampered);
  EXPECT_EQ(alia().GetTestimony(t->id())->recorded_unix_ms(), 5u);
}

TEST_F(Circle, AWithdrawnTestimonysWordsAreNowhereInTheDecryptedVault) {
  const std::string canary = "Kanareyka7731";
  pb::TestimonyFields f = Fields("title " + canary, "body " + canary);
  f.add_tags("tag" + canary);
  auto t = alia().AddTestimony(f);
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(alia().EditTestimony(t->id(), Fields("edited " + canary, canary)).ok());
  ASSERT_TRUE(alia().AddTag(t->id(), "added" + canary).ok());
  ASSERT_TRUE(alia().Annotate(t->id(), "note " + canary).ok());
  auto w = alia().BeginAttachment(t->id(), {canary + ".txt", "", {}});
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append(estelik::AsBytes("file " + canary)).ok());
  ASSERT_TRUE((*w)->Finish().ok());
  auto keep = alia().AddTestimony(Fields("unrelated", "stays"));
  ASSERT_TRUE(keep.ok());
  EXPECT_FALSE(FindInVault(alia(), canary).empty()) << "the scan must be able to find it";
  auto tombstone_before = ArchiveBackDoor::store(alia()).TombstoneHash(t->id());
  ASSERT_TRUE(tombstone_before.ok());

  ASSERT_TRUE(alia().Withdraw(t->id()).ok());
  EXPECT_EQ(FindInVault(alia(), canary), std::vector<std::string>{});
  // The chain stays whole: later ops append and verify; the signature check skips redacted
  // rows.
  ASSERT_TRUE(alia().EditTestimony(keep->id(), Fields("unrelated", "still here")).ok());
  auto bad = ArchiveBackDoor::log(alia()).VerifyStoredSignatures();
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(*bad, 0u);

  auto before = alia().StateHash();
  auto report = alia().Rebuild();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_GE(report->redacted, 5u);
  EXPECT_EQ(*alia().StateHash(), *before);
  auto gone = alia().GetTestimony(t->id());
  ASSERT_TRUE(gone.ok());
  EXPECT_TRUE(gone->withdrawn());
  EXPECT_EQ(gone->tombstone_hash(), *tombstone_before);
  EXPECT_EQ(FindInVault(alia(), canary), std::vector<std::string>{});
}

}  // namespace
}  // namespace estelik::archive
