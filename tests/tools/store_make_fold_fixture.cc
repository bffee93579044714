// Writes tests/fixtures/store/fold_vN.db: a plain SQLite store whose full-text index was built by
// the fold version N this tool is built at, for the tests that a store opened after a fold bump
// re-indexes (migration_test.cc). Build it from a commit that still has the old kFoldVersion:
//
//   git worktree add /tmp/foldN <commit> && cp tests/tools/store_make_fold_fixture.cc
//   /tmp/foldN/tests/tools/ && (build it there) && run it with OUT.db
//
// fold_v1.db (77e57c6, fold 1: no stems) holds the first three testimonies; fold_v2.db
// (eb583c3, fold 2: no -iev rule) all five.
#include <cstdio>
#include <filesystem>

#include "core/store/fold.h"
#include "core/store/store.h"
#include "tests/unit/store/store_test_util.h"

int main(int argc, char** argv) {
  using namespace estelik::store;           // NOLINT
  using namespace estelik::store::testing;  // NOLINT
  if (argc != 2) {
    std::fprintf(stderr, "usage: store_make_fold_fixture OUT.db (built at the old fold version)\n");
    return 2;
  }
  std::filesystem::remove(argv[1]);
  DbHandle db = OpenPlainTestDb(argv[1]);
  auto store = Store::Open(db.get());
  if (!store.ok()) return 1;
  const char* bodies[][2] = {
      {"Ақтауға хат", "Біз Ақтауға хабар жібердік."},
      {"Жанаозен", "В Жанаозене стреляли. Задержали Есенова."},
      {"Shetpe", "Yesenov's daughter went to Shetpe."},
      {"Допрос", "Меня допрашивал следователь Васильев."},
      {"Court", "Judge Vasiliev read the sentence."},
  };
  for (uint8_t n = 1; n <= 5; ++n) {
    auto s = (*store)->CreateTestimony(
        Testimony(n, Fields(bodies[n - 1][0], bodies[n - 1][1], n == 2 ? "ru" : "kk")), Key(n));
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
  }
  store->reset();
  sqlite3_exec(db.get(), "VACUUM", nullptr, nullptr, nullptr);
  return 0;
}
