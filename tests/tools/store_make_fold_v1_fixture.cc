// Writes tests/fixtures/store/fold_v1.db: a plain SQLite store at today's schema whose
// full-text index was built by fold version 1 (no stems), for the test that a store opened
// after the fold bump re-indexes and finds inflected forms (migration_test.cc). Must be built
// from a commit that still has kFoldVersion == 1 (77e57c6 or earlier); it refuses otherwise:
//
//   git worktree add /tmp/fold1 77e57c6 && cp tests/tools/store_make_fold_v1_fixture.cc
//   /tmp/fold1/tests/tools/ && (build store_make_fold_v1_fixture there) && run it with OUT.db
#include <cstdio>
#include <filesystem>

#include "core/store/fold.h"
#include "core/store/store.h"
#include "tests/unit/store/store_test_util.h"

int main(int argc, char** argv) {
  using namespace estelik::store;           // NOLINT
  using namespace estelik::store::testing;  // NOLINT
  if (argc != 2 || kFoldVersion != 1) {
    std::fprintf(stderr, "usage: store_make_fold_v1_fixture OUT.db (built at fold version 1)\n");
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
  };
  for (uint8_t n = 1; n <= 3; ++n) {
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
