// Test helper for the interrupted-attachment test: opens the encrypted store at argv[1] as the
// Vault does (the encrypting VFS, WAL) with the 32-byte page key read as 64 hex digits from
// the first line of stdin (not argv: /proc shows argv to everyone), adds a testimony and one
// small finished attachment, then streams an endless attachment, printing "streaming" once a
// few batches are committed. The parent kills it with SIGKILL.
#include <sodium.h>
#include <sqlite3.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "core/crypto/secret.h"
#include "core/store/store.h"
#include "core/vault/vfs.h"

namespace {

std::string Id(uint8_t fill, uint8_t n) {
  return std::string(15, static_cast<char>(fill)) + static_cast<char>(n);
}

int Fail(const estelik::Status& s) {
  std::fprintf(stderr, "store_attachment_writer: %s\n", s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace estelik;  // NOLINT
  if (argc != 2) {
    std::fprintf(stderr, "usage: store_attachment_writer DB_PATH\n");
    return 2;
  }
  crypto::EnsureSodium();
  char hex[2 * 32 + 2] = {};
  if (std::fgets(hex, sizeof hex, stdin) == nullptr)
    return Fail(InvalidArgument("no key on stdin"));
  crypto::SecretBytes page_key(32);
  size_t got = 0;
  if (sodium_hex2bin(page_key.data(), page_key.size(), hex, std::strlen(hex), "\n", &got,
                     nullptr) != 0 ||
      got != page_key.size())
    return Fail(InvalidArgument("the page key must be 64 hex digits"));
  sodium_memzero(hex, sizeof hex);
  if (auto s = vault::RegisterVfs(); !s.ok()) return Fail(s);
  if (auto s = vault::AttachKey(argv[1], page_key); !s.ok()) return Fail(s);
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vault::kVfsName) !=
      SQLITE_OK)
    return Fail(IoError(std::string("cannot open ") + argv[1]));
  if (auto s = vault::ConfigureConnection(db, /*wal=*/true); !s.ok()) return Fail(s);
  auto store = store::Store::Open(db);
  if (!store.ok()) return Fail(store.status());
  store::NewTestimony t;
  t.id = Id(0x11, 1);
  t.author = std::string(31, '\xa0') + '\x01';
  t.created.set_wall_ms(1000);
  t.fields.set_title("before the kill");
  crypto::SecretBytes key(32);
  if (auto s = (*store)->CreateTestimony(t, key); !s.ok()) return Fail(s);

  pb::AttachmentInfo meta;
  meta.set_testimony_id(t.id);
  meta.set_author(t.author);
  meta.set_name("small.txt");
  meta.set_kind(pb::ATTACHMENT_KIND_DOCUMENT);
  meta.set_attachment_id(Id(0x22, 1));
  std::vector<uint8_t> data(store::kChunkSize * 3 + 5, 0x5a);
  {
    auto w = (*store)->BeginAttachment(meta);
    if (!w.ok()) return Fail(w.status());
    if (auto s = (*w)->Append(data); !s.ok()) return Fail(s);
    if (auto f = (*w)->Finish(); !f.ok()) return Fail(f.status());
  }
  meta.set_attachment_id(Id(0x22, 2));
  meta.set_name("endless.mp4");
  auto w = (*store)->BeginAttachment(meta);
  if (!w.ok()) return Fail(w.status());
  std::vector<uint8_t> piece(10000, 0x33);
  uint64_t written = 0;
  bool told = false;
  while (true) {
    if (auto s = (*w)->Append(piece); !s.ok()) return Fail(s);
    written += piece.size();
    if (!told && written > 3 * store::kChunksPerCommit * store::kChunkSize) {
      std::printf("streaming\n");
      std::fflush(stdout);
      told = true;
    }
  }
}
