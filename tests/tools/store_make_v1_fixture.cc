// Writes tests/fixtures/store/schema_v1.db: a plain SQLite store at schema version 1 with the
// records of tests/unit/store/schema_v1_fixture.h, written the way version 1 wrote them
// (this program is the frozen version-1 writer; it never uses Store's mutations).
//
//   store_make_v1_fixture OUT.db
#include <sodium.h>

#include <cstdio>
#include <filesystem>

#include "core/sql/stmt.h"
#include "core/store/attachment.h"
#include "core/store/schema.h"
#include "core/store/tokenizer.h"
#include "tests/unit/store/schema_v1_fixture.h"

namespace {

using namespace estelik;                             // NOLINT
using namespace estelik::store::testing;             // NOLINT
using namespace estelik::store::testing::v1fixture;  // NOLINT
using sql::Stmt;

std::string Hash(const std::string& bytes) {
  std::string out(32, '\0');
  crypto_generichash(reinterpret_cast<uint8_t*>(out.data()), 32,
                     reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), nullptr, 0);
  return out;
}

Status Run(sqlite3* db, const std::string& sql, std::vector<std::string> args) {
  ESTELIK_ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(db, sql));
  for (size_t i = 0; i < args.size(); ++i) s.BindBlob(static_cast<int>(i + 1), args[i]);
  return s.Run();
}

Status Exec(sqlite3* db, const std::string& sql) { return sql::Exec(db, sql); }

std::string Terms(const pb::TestimonyFields& f) {
  std::string extra;
  for (const auto* list : {&f.tags(), &f.places(), &f.people()})
    for (const std::string& v : *list) extra += v + "\n";
  return extra;
}

// Version-1 insert of a live testimony's rows (testimonies, versions, terms, fts).
Status WriteTestimony(sqlite3* db, int seq, uint8_t n,
                      const std::vector<pb::TestimonyFields>& versions,
                      const std::vector<uint64_t>& walls, uint8_t key) {
  const pb::TestimonyFields& cur = versions.back();
  crypto::SecretBytes k = Key(key);
  std::string kb(reinterpret_cast<const char*>(k.data()), k.size());
  ESTELIK_RETURN_IF_ERROR(
      Run(db,
          "INSERT INTO testimonies(seq, id, author, created_wall, created_counter, "
          "recorded_ms, current_version, updated_wall, updated_counter, withdrawn, "
          "content_key) VALUES(" +
              std::to_string(seq) + ", ?1, ?2, " + std::to_string(1000 + n) + ", 0, " +
              std::to_string(500 + n) + ", " + std::to_string(versions.size()) + ", " +
              std::to_string(walls.back()) + ", 0, 0, ?3)",
          {Id(n), Author(1), kb}));
  for (size_t v = 0; v < versions.size(); ++v) {
    std::string bytes = versions[v].SerializeAsString();
    ESTELIK_RETURN_IF_ERROR(
        Run(db,
            ("INSERT INTO versions VALUES(" + std::to_string(seq) + ", " + std::to_string(v + 1) +
             ", " + std::to_string(walls[v]) + ", 0, ?1, ?2, ?3)")
                .c_str(),
            {Author(1), bytes, Hash(bytes)}));
  }
  for (const auto& [list, kind] :
       {std::pair{&cur.tags(), 1}, {&cur.places(), 2}, {&cur.people(), 3}})
    for (const std::string& v : *list)
      ESTELIK_RETURN_IF_ERROR(Run(db,
                                  ("INSERT INTO terms VALUES(" + std::to_string(seq) + ", " +
                                   std::to_string(kind) + ", CAST(?1 AS TEXT))")
                                      .c_str(),
                                  {v}));
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt fts,
      Stmt::Prepare(db,
                    "INSERT INTO testimony_fts(rowid, title, body, extra) VALUES(?1,?2,?3,?4)"));
  fts.BindInt(1, seq).BindText(2, cur.title()).BindText(3, cur.body()).BindText(4, Terms(cur));
  return fts.Run();
}

Status Generate(sqlite3* db) {
  ESTELIK_RETURN_IF_ERROR(store::RegisterTokenizer(db));
  ESTELIK_RETURN_IF_ERROR(store::Migrate(db, 1));
  ESTELIK_RETURN_IF_ERROR(Exec(db, "BEGIN"));
  ESTELIK_RETURN_IF_ERROR(WriteTestimony(db, 1, 1, {T1V1(), T1V2()}, {1001, kT1EditWall}, 1));
  ESTELIK_RETURN_IF_ERROR(WriteTestimony(db, 2, 2, {T2()}, {1002}, 2));

  // T2's attachment: three chunks sealed under Key(2) with fixed nonces.
  pb::AttachmentInfo m = T2AttachmentMeta();
  std::vector<uint8_t> data = T2AttachmentData();
  std::string plain(data.begin(), data.end());
  uint64_t count = (data.size() + store::kChunkSize - 1) / store::kChunkSize;
  crypto::SecretBytes key = Key(2);
  for (uint64_t i = 0; i < count; ++i) {
    std::array<uint8_t, store::kChunkNonceSize> nonce{};
    nonce.fill(static_cast<uint8_t>(0x70 + i));
    size_t off = i * store::kChunkSize;
    size_t len = std::min<size_t>(store::kChunkSize, data.size() - off);
    std::string sealed = store::SealChunk(key, m.attachment_id(), i,
                                          std::span<const uint8_t>(data.data() + off, len),
                                          std::span<const uint8_t, 24>(nonce));
    ESTELIK_RETURN_IF_ERROR(
        Run(db, ("INSERT INTO chunks VALUES(?1, " + std::to_string(i) + ", ?2)").c_str(),
            {m.attachment_id(), sealed}));
  }
  ESTELIK_RETURN_IF_ERROR(
      Run(db,
          ("INSERT INTO attachments VALUES(?1, 2, 2, CAST(?2 AS TEXT), CAST(?3 AS TEXT), " +
           std::to_string(m.kind()) + ", " + std::to_string(data.size()) + ", " +
           std::to_string(store::kChunkSize) + ", " + std::to_string(count) + ", ?4, " +
           std::to_string(m.added().wall_ms()) + ", 0, ?5)")
              .c_str(),
          {m.attachment_id(), m.name(), m.media_type(), Hash(plain), m.author()}));

  // T3: a tombstone (version 1 already destroyed content on withdrawal).
  std::string v1 = T3().SerializeAsString();
  std::string tombstone = Hash("estelik-tombstone-v1" + Id(3) + Hash(v1));
  ESTELIK_RETURN_IF_ERROR(
      Run(db,
          ("INSERT INTO testimonies(seq, id, author, created_wall, created_counter, "
           "recorded_ms, current_version, updated_wall, updated_counter, withdrawn, "
           "tombstone_hash) VALUES(3, ?1, ?2, 1003, 0, 0, 1, " +
           std::to_string(kT3WithdrawWall) + ", 0, 1, ?3)")
              .c_str(),
          {Id(3), Author(1), tombstone}));
  return Exec(db, "COMMIT");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: store_make_v1_fixture OUT.db\n");
    return 2;
  }
  std::filesystem::remove(argv[1]);
  estelik::crypto::EnsureSodium();
  DbHandle db = OpenTestDb(argv[1]);
  estelik::Status s = Generate(db.get());
  if (!s.ok()) {
    std::fprintf(stderr, "store_make_v1_fixture: %s\n", s.ToString().c_str());
    return 1;
  }
  db.reset();
  std::printf("wrote %s\n", argv[1]);
  return 0;
}
