// Panic-wipe cost against vault size: builds a small and a large vault (one attachment each,
// written through the Store's attachment writer into the encrypted store), then times
// Vault::Wipe on each. Wipe shreds the two key slots in place and fsyncs (after that nothing
// in the folder can be decrypted), then deletes the files, so both times should be short and
// close: the goal is a ratio near 1, not a figure proportional to size. Prints one JSON line.
//
//   wipe_bench [--small-mb N] [--large-mb N] [--dir DIR]      (defaults 10 and 1024)
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/crypto/random.h"
#include "core/store/store.h"
#include "core/vault/vault.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/store/store_test_util.h"

namespace {

using namespace estelik;                  // NOLINT
using namespace estelik::store::testing;  // NOLINT
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

int Fail(const Status& s) {
  std::fprintf(stderr, "wipe_bench: %s\n", s.ToString().c_str());
  return 1;
}

uint64_t FolderBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_regular_file(ec)) total += entry.file_size(ec);
  }
  return total;
}

// Makes a vault in `dir` whose store holds one attachment of `mib` MiB of random bytes.
Status BuildVault(const std::string& dir, uint64_t mib) {
  vault::VaultOptions options;
  options.kdf = vault::MinimalKdfParams();  // the wipe never derives a key
  ESTELIK_ASSIGN_OR_RETURN(auto v, vault::Vault::Create(dir, "bench passphrase", options));
  ESTELIK_ASSIGN_OR_RETURN(auto store, store::Store::Open(v->db()));
  ESTELIK_RETURN_IF_ERROR(store->CreateTestimony(Testimony(1, Fields("wipe", "bench")), Key(1)));
  pb::AttachmentInfo meta;
  meta.set_attachment_id(std::string(16, '\x57'));
  meta.set_testimony_id(Id(1));
  meta.set_author(Author(1));
  meta.set_name("interview.mp4");
  meta.set_media_type("video/mp4");
  meta.set_kind(pb::ATTACHMENT_KIND_VIDEO);
  ESTELIK_ASSIGN_OR_RETURN(auto writer, store->BeginAttachment(meta));
  std::vector<uint8_t> piece(1 << 20);
  for (uint64_t i = 0; i < mib; ++i) {
    crypto::RandomFill(piece);
    ESTELIK_RETURN_IF_ERROR(writer->Append(piece));
  }
  return writer->Finish().status();
}

struct Timing {
  uint64_t bytes = 0;
  double shred_ms = 0;  // both key slots overwritten and fsync'ed: the data is unreadable
  double wipe_ms = 0;   // the whole Vault::Wipe: shred, then every file deleted
};

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

Result<Timing> Measure(const std::string& dir, uint64_t mib) {
  auto start = Clock::now();
  ESTELIK_RETURN_IF_ERROR(BuildVault(dir, mib));
  double build_s = std::chrono::duration<double>(Clock::now() - start).count();
  Timing t;
  t.bytes = FolderBytes(dir);
  std::fprintf(stderr, "built %llu MiB vault (%.1f MiB on disk) in %.1f s\n",
               static_cast<unsigned long long>(mib), static_cast<double>(t.bytes) / (1 << 20),
               build_s);
  // Both vaults start the wipe at rest: nothing of the build left in the page cache to write
  // back, so the large one is not charged for flushing its own construction.
  ::sync();
  // The shred step alone (what Vault::Wipe does first), timed on its own so the moment the
  // data becomes unreadable is visible; then the whole wipe, which shreds again and deletes.
  start = Clock::now();
  ESTELIK_RETURN_IF_ERROR(
      vault::KeyFile::DestroyAll((fs::path(dir) / vault::kKeyFileName).string()));
  t.shred_ms = MsSince(start);
  start = Clock::now();
  ESTELIK_RETURN_IF_ERROR(vault::Vault::Wipe(dir));
  t.wipe_ms = MsSince(start);
  if (fs::exists(dir)) return Internal("the vault folder survived the wipe");
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t small_mb = 10;
  uint64_t large_mb = 1024;
  std::string base;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--small-mb") && i + 1 < argc) {
      small_mb = std::strtoull(argv[++i], nullptr, 10);
    } else if (!std::strcmp(argv[i], "--large-mb") && i + 1 < argc) {
      large_mb = std::strtoull(argv[++i], nullptr, 10);
    } else if (!std::strcmp(argv[i], "--dir") && i + 1 < argc) {
      base = argv[++i];
    } else {
      std::fprintf(stderr, "usage: wipe_bench [--small-mb N] [--large-mb N] [--dir DIR]\n");
      return 2;
    }
  }
  testing::TempDir tmp;
  fs::path root = base.empty() ? tmp.path() : fs::path(base);
  auto small = Measure((root / "small").string(), small_mb);
  if (!small.ok()) return Fail(small.status());
  auto large = Measure((root / "large").string(), large_mb);
  if (!large.ok()) return Fail(large.status());
  std::printf(
      "{\"bench\":\"panic_wipe\",\"small_mib\":%llu,\"small_bytes\":%llu,"
      "\"small_shred_ms\":%.3f,\"small_wipe_ms\":%.3f,\"large_mib\":%llu,\"large_bytes\":%llu,"
      "\"large_shred_ms\":%.3f,\"large_wipe_ms\":%.3f,\"shred_ratio\":%.2f,\"wipe_ratio\":%.2f}\n",
      static_cast<unsigned long long>(small_mb), static_cast<unsigned long long>(small->bytes),
      small->shred_ms, small->wipe_ms, static_cast<unsigned long long>(large_mb),
      static_cast<unsigned long long>(large->bytes), large->shred_ms, large->wipe_ms,
      large->shred_ms / small->shred_ms, large->wipe_ms / small->wipe_ms);
  return 0;
}
