// The encrypting VFS. docs/FORMAT.md ("Pages: store.db, WAL and journal") describes the bytes;
// this comment describes how SQLite's I/O is mapped onto them.
//
// Every file the shim encrypts is a sequence of sealed units (vfs_format.h). SQLite sees a
// "logical" file (plaintext, SQLite's own layout); the disk holds the "physical" file:
//
//   main db  unit = page n (1-based), logical [(n-1)*4096, n*4096) = physical, the last 40
//            bytes of each page are its reserve bytes and hold nonce and tag. Physical size
//            equals logical size.
//   WAL      unit 0 = the 32-byte WAL header, physical [0, 72). Unit k >= 1 = frame k: the
//            24-byte frame header and the page, logical [32 + (k-1)*4120, +4120), physical
//            [72 + (k-1)*4120, +4120): 4080 sealed bytes (frame header + page content) and
//            nonce and tag in the page's reserve bytes. Physical size = logical size + 40.
//   journal  (kJournalV2, written) unit j = logical bytes [j*512, (j+1)*512), physical
//            (j/7)*4096 + (j%7)*552, 552 bytes: SQLite's 512-byte journal sector, so each
//            journal header is a unit of its own, and no unit straddles a 4096-byte page.
//            Units are written whole; a trailing fragment is an append torn by a crash and
//            reads as past the end of the file. Physical size = whole units only.
//            (kJournal, read for journals of earlier builds) unit k = logical bytes [k*4096,
//            (k+1)*4096), physical [k*4136, +4136); the last unit may be shorter (n + 40).
//
// Reads decrypt whole units and copy out the slice asked for (SQLite reads 100-byte headers,
// 24-byte frame headers, 4-byte journal fields). Writes that do not cover a whole unit collect
// in a one-unit pending buffer (SQLite writes a frame as header then page, a journal record as
// pgno, page, checksum); the unit is sealed when complete or when any other operation needs the
// file to be current. Only a unit that is rewritten in part (a frame header rewritten by
// walRewriteChecksums, a journal header's magic and nRec) is read back, decrypted and merged.
//
// Files SQLite asks for that are not the main db, its WAL or its rollback journal (temp
// databases, statement journals, sorter spill files, transient databases) live only in memory
// inside this shim and never touch the disk. Super-journals (multi-database transactions in
// rollback mode) are refused.
#include "core/vault/vfs.h"

#include <sodium.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <new>

#include "core/sql/sql_status.h"
#include "core/sql/stmt.h"
#include "core/vault/vfs_format.h"

namespace estelik::vault {
namespace {

using vfs_format::FileKind;
using vfs_format::kJournalBlock;
using vfs_format::kJournalBlockPhysical;
using vfs_format::kJournalUnit;
using vfs_format::kJournalUnitPhysical;
using vfs_format::kJournalUnitsPerBlock;
using vfs_format::kOverhead;
using vfs_format::kPageBytes;
using vfs_format::kPageContent;
using vfs_format::kWalFrameHeaderSize;
using vfs_format::kWalFrameSize;
using vfs_format::kWalHeaderSize;

constexpr int kReserveBytes = static_cast<int>(kOverhead);
constexpr size_t kMaxUnitPhysical = kJournalBlock + kOverhead;  // 4136, the largest unit
constexpr int64_t kWalShift = static_cast<int64_t>(kOverhead);  // WAL physical - logical

// Where the damage is, for whoever maps the SQLite error this read returns (core/sql).
void SetError(std::string message) { sql::NoteDamage(std::move(message)); }

// ---------------------------------------------------------------------------------------------
// Keys

using KeyPtr = std::shared_ptr<const vfs_format::UnitKey>;

struct KeyRegistry {
  std::mutex mu;
  std::map<std::string, KeyPtr> attached;
  // Keys in use by open main databases, so their WAL and journal find the same key even if
  // DetachKey ran meanwhile.
  std::map<std::string, std::weak_ptr<const vfs_format::UnitKey>> live;
  KeyProvider provider;
};

KeyRegistry& Registry() {
  static KeyRegistry registry;
  return registry;
}

std::string Canonical(const std::string& path) {
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(path, ec);
  if (ec) return path;
  std::filesystem::path canonical = std::filesystem::weakly_canonical(absolute, ec);
  return ec ? absolute.lexically_normal().string() : canonical.string();
}

// The key of `canonical`. `include_live`: also a key an open main database of that path still
// uses after DetachKey (for its WAL and journal).
KeyPtr FindKey(const std::string& canonical, bool include_live) {
  KeyRegistry& r = Registry();
  std::lock_guard<std::mutex> lock(r.mu);
  if (auto it = r.live.find(canonical); include_live && it != r.live.end()) {
    if (KeyPtr key = it->second.lock()) return key;
  }
  if (auto it = r.attached.find(canonical); it != r.attached.end()) return it->second;
  return nullptr;
}

// The key for the main database `canonical`: attached, else from the provider (with the
// default cipher; RecognizeCipher finds the one an existing database uses).
KeyPtr KeyForMainDb(const std::string& canonical) {
  KeyPtr key = FindKey(canonical, /*include_live=*/false);
  if (key == nullptr) {
    KeyProvider provider;
    {
      std::lock_guard<std::mutex> lock(Registry().mu);
      provider = Registry().provider;
    }
    if (!provider) {
      SetError("no key for " + canonical + ": call AttachKey (or install a KeyProvider) first");
      return nullptr;
    }
    Result<crypto::SecretBytes> provided = provider(canonical);
    if (!provided.ok()) {
      SetError("no key for " + canonical + ": " + provided.status().message());
      return nullptr;
    }
    if (provided->size() != 32) {
      SetError("the key provider returned a key of the wrong size for " + canonical);
      return nullptr;
    }
    Result<vfs_format::UnitKey> unit =
        vfs_format::UnitKey::Create(*provided, PageCipher::kXChaCha20Poly1305);
    if (!unit.ok()) {
      SetError("no key for " + canonical + ": " + unit.status().message());
      return nullptr;
    }
    key = std::make_shared<const vfs_format::UnitKey>(std::move(unit).value());
  }
  return key;
}

// Makes `key` the key the WAL and journal of the open main database `canonical` use.
void SetLiveKey(const std::string& canonical, const KeyPtr& key) {
  std::lock_guard<std::mutex> lock(Registry().mu);
  Registry().live[canonical] = key;
}

// ---------------------------------------------------------------------------------------------
// Geometry

struct Unit {
  uint64_t index = 0;    // position in the associated data
  int64_t logical = 0;   // first logical byte
  size_t span = 0;       // logical bytes covered
  size_t capacity = 0;   // bytes sealed (the rest of `span` are reserve bytes, read as zero)
  int64_t physical = 0;  // first physical byte
};

Unit UnitAt(FileKind kind, int64_t offset) {
  switch (kind) {
    case FileKind::kMain: {
      int64_t i = offset / static_cast<int64_t>(kPageBytes);
      return {static_cast<uint64_t>(i + 1), i * 4096, kPageBytes, kPageContent, i * 4096};
    }
    case FileKind::kWal: {
      if (offset < static_cast<int64_t>(kWalHeaderSize)) {
        return {0, 0, kWalHeaderSize, kWalHeaderSize, 0};
      }
      int64_t k = (offset - static_cast<int64_t>(kWalHeaderSize)) / kWalFrameSize;
      return {static_cast<uint64_t>(k + 1), 32 + k * 4120, kWalFrameSize, kWalFrameSize - kOverhead,
              72 + k * 4120};
    }
    case FileKind::kJournal: {
      int64_t i = offset / static_cast<int64_t>(kJournalBlock);
      return {static_cast<uint64_t>(i), i * 4096, kJournalBlock, kJournalBlock, i * 4136};
    }
    case FileKind::kJournalV2: {
      int64_t j = offset / static_cast<int64_t>(kJournalUnit);
      int64_t per_block = static_cast<int64_t>(kJournalUnitsPerBlock);
      int64_t physical = (j / per_block) * static_cast<int64_t>(kJournalBlockPhysical) +
                         (j % per_block) * static_cast<int64_t>(kJournalUnitPhysical);
      return {static_cast<uint64_t>(j), j * static_cast<int64_t>(kJournalUnit), kJournalUnit,
              kJournalUnit, physical};
    }
  }
  return {};
}

int64_t LogicalSize(FileKind kind, int64_t physical) {
  switch (kind) {
    case FileKind::kMain:
      return physical;
    case FileKind::kWal:
      return physical > kWalShift ? physical - kWalShift : 0;
    case FileKind::kJournal: {
      int64_t full = physical / static_cast<int64_t>(kMaxUnitPhysical);
      int64_t rest = physical % static_cast<int64_t>(kMaxUnitPhysical);
      return full * static_cast<int64_t>(kJournalBlock) + (rest > kWalShift ? rest - kWalShift : 0);
    }
    case FileKind::kJournalV2: {
      // Complete units only: a trailing fragment is an append torn by a crash.
      int64_t blocks = physical / static_cast<int64_t>(kJournalBlockPhysical);
      int64_t rest = physical % static_cast<int64_t>(kJournalBlockPhysical);
      int64_t units = blocks * static_cast<int64_t>(kJournalUnitsPerBlock) +
                      std::min<int64_t>(rest / static_cast<int64_t>(kJournalUnitPhysical),
                                        static_cast<int64_t>(kJournalUnitsPerBlock));
      return units * static_cast<int64_t>(kJournalUnit);
    }
  }
  return physical;
}

uint32_t Get32BE(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// SQLite writes page 1 with its page size at bytes 16-17 and reserve bytes at byte 20. A page
// laid out for another geometry would put data where nonce and tag go: refuse it.
bool Page1HasOurGeometry(const uint8_t* page) {
  uint32_t page_size = (uint32_t{page[16]} << 8) | page[17];
  return page_size == kPageBytes && page[20] == kReserveBytes;
}

const char kGeometryError[] =
    "the database is not set up for the encrypting VFS (page size 4096 with 40 reserve bytes); "
    "call ConfigureConnection before creating tables";

// ---------------------------------------------------------------------------------------------
// Encrypted files

enum class LoadState { kOk, kAbsent, kIncomplete, kUnauthentic };

struct Load {
  int rc = SQLITE_OK;  // an I/O error of the underlying file, else SQLITE_OK
  LoadState state = LoadState::kOk;
  size_t sealed = 0;  // plaintext bytes recovered
};

struct Buffer {
  explicit Buffer(size_t n) : data(std::make_unique<uint8_t[]>(n)), size(n) {}
  ~Buffer() { sodium_memzero(data.get(), size); }
  uint8_t* get() { return data.get(); }
  std::unique_ptr<uint8_t[]> data;
  size_t size;
};

struct EncryptedFile {
  sqlite3_file base;  // first: SQLite hands us this pointer
  sqlite3_file* real = nullptr;
  FileKind kind = FileKind::kMain;
  KeyPtr key;
  std::string name;                // base name for messages: "store.db-wal"
  Buffer io{kMaxUnitPhysical};     // sealed bytes as on disk
  Buffer plain{kMaxUnitPhysical};  // plaintext of the pending unit / of a unit being read
  Buffer merge{kMaxUnitPhysical};  // plaintext of a unit merged under a partial write
  bool pending = false;
  Unit pending_unit;
  size_t pending_lo = 0;  // [lo, hi) of pending_unit holds written bytes in `plain`
  size_t pending_hi = 0;
  bool wrote = false;

  const sqlite3_io_methods* rm() const { return real->pMethods; }

  int PhysicalSize(int64_t* size) {
    sqlite3_int64 s = 0;
    int rc = rm()->xFileSize(real, &s);
    *size = s;
    return rc;
  }

  // Reads and opens unit `u` into `out` (u.span bytes; bytes not recovered are zero).
  Load LoadUnit(const Unit& u, uint8_t* out) {
    Load result;
    size_t want = u.capacity + kOverhead;
    std::memset(out, 0, u.span);
    int rc = rm()->xRead(real, io.get(), static_cast<int>(want), u.physical);
    size_t have = want;
    if (rc == SQLITE_IOERR_SHORT_READ) {
      int64_t size = 0;
      rc = PhysicalSize(&size);
      if (rc != SQLITE_OK) return {rc, LoadState::kAbsent, 0};
      have =
          size > u.physical ? static_cast<size_t>(std::min<int64_t>(size - u.physical, want)) : 0;
      // A v2 journal unit cut short is the tail of an append a crash interrupted (units are
      // only ever written whole, each inside one 4096-byte block): it is past the end of the
      // journal, as SQLite would see a file whose last write never happened.
      if (have == 0 || kind == FileKind::kJournalV2) return {SQLITE_OK, LoadState::kAbsent, 0};
      if (kind != FileKind::kJournal || have <= kOverhead) {
        return {SQLITE_OK, LoadState::kIncomplete, 0};
      }
    } else if (rc != SQLITE_OK) {
      return {rc, LoadState::kAbsent, 0};
    }
    size_t sealed = have - kOverhead;
    if (!vfs_format::OpenUnit(*key, kind, u.index, io.get(), sealed, out)) {
      return {SQLITE_OK, LoadState::kUnauthentic, 0};
    }
    result.sealed = sealed;
    return result;
  }

  // Records why unit `u` cannot be used and returns the code SQLite gets.
  int Fail(const Unit& u, LoadState state) {
    std::string where;
    switch (kind) {
      case FileKind::kMain:
        where = name + " page " + std::to_string(u.index);
        break;
      case FileKind::kWal:
        where = u.index == 0 ? name + " header" : name + " frame " + std::to_string(u.index);
        break;
      case FileKind::kJournal:
        where = name + " block " + std::to_string(u.index);
        break;
      case FileKind::kJournalV2:
        // Named by its 4096-byte block (unit / 7), as for a journal of 4096-byte blocks.
        where = name + " block " + std::to_string(u.index / kJournalUnitsPerBlock);
        break;
    }
    if (state == LoadState::kIncomplete) {
      SetError("vault is corrupt or tampered: " + where + " is incomplete (truncated)");
      return SQLITE_IOERR_AUTH;
    }
    if (kind == FileKind::kMain && u.index == 1) {
      // Page 1 is the first page read. If page 2 opens, the key is right and page 1 was
      // altered; otherwise the key is most likely wrong.
      Load second = LoadUnit(UnitAt(FileKind::kMain, kPageBytes), merge.get());
      if (second.rc != SQLITE_OK || second.state != LoadState::kOk) {
        SetError(std::string(kWrongKeyNote) + ": " + name + " (page 1 does not authenticate)");
        return SQLITE_NOTADB;
      }
    }
    SetError("vault is corrupt or tampered: " + where);
    return SQLITE_IOERR_AUTH;
  }

  // True if a committed frame of the current WAL generation follows frame `after`. A frame
  // that fails to authenticate with no committed frame after it can only hold uncommitted data
  // torn by a crash; one followed by committed frames was altered.
  bool CommittedFrameFollows(uint64_t after) {
    Buffer scratch(kMaxUnitPhysical);
    Load header = LoadUnit(UnitAt(FileKind::kWal, 0), scratch.get());
    if (header.rc != SQLITE_OK || header.state != LoadState::kOk) return true;
    uint8_t salts[8];
    std::memcpy(salts, scratch.get() + 16, 8);
    for (uint64_t k = after + 1;; ++k) {
      Unit u = UnitAt(FileKind::kWal, 32 + static_cast<int64_t>(k - 1) * 4120);
      Load frame = LoadUnit(u, scratch.get());
      if (frame.rc != SQLITE_OK) return true;
      if (frame.state == LoadState::kAbsent || frame.state == LoadState::kIncomplete) return false;
      if (frame.state != LoadState::kOk) continue;
      if (std::memcmp(scratch.get() + 8, salts, 8) == 0 && Get32BE(scratch.get() + 4) != 0) {
        return true;
      }
    }
  }

  int Read(uint8_t* out, int amount, int64_t offset) {
    int rc = FlushPending();
    if (rc != SQLITE_OK) return rc;
    if (kind == FileKind::kMain && amount == static_cast<int>(kPageBytes) &&
        offset % static_cast<int64_t>(kPageBytes) == 0) {
      return ReadWholePage(out, offset);
    }
    const int64_t end = offset + amount;
    for (int64_t pos = offset; pos < end;) {
      Unit u = UnitAt(kind, pos);
      int64_t chunk_end = std::min<int64_t>(end, u.logical + static_cast<int64_t>(u.span));
      Load load = LoadUnit(u, plain.get());
      if (load.rc != SQLITE_OK) return load.rc;
      if (load.state == LoadState::kAbsent) {
        std::memset(out + (pos - offset), 0, end - pos);
        return SQLITE_IOERR_SHORT_READ;
      }
      if (load.state != LoadState::kOk) {
        bool whole_frame_scan = kind == FileKind::kWal && u.index > 0 && pos == offset &&
                                amount == static_cast<int>(kWalFrameSize) && !wrote;
        if (whole_frame_scan && !CommittedFrameFollows(u.index)) {
          // WAL recovery reading a torn, uncommitted tail frame: report it as an invalid frame
          // (all zeros), exactly as SQLite treats a frame whose checksum fails.
          std::memset(out, 0, amount);
          return SQLITE_OK;
        }
        std::memset(out, 0, amount);
        return Fail(u, load.state);
      }
      size_t rel = static_cast<size_t>(pos - u.logical);
      std::memcpy(out + (pos - offset), plain.get() + rel, chunk_end - pos);
      if (kind == FileKind::kJournal &&
          load.sealed<u.span&& static_cast<size_t>(chunk_end - u.logical)> load.sealed) {
        // Past the end of a short last journal block: past the end of the file.
        size_t valid = rel < load.sealed ? load.sealed - rel : 0;
        std::memset(out + (pos - offset) + valid, 0, (end - pos) - valid);
        return SQLITE_IOERR_SHORT_READ;
      }
      pos = chunk_end;
    }
    return SQLITE_OK;
  }

  // The hot path: one pread, one AEAD, in the caller's buffer.
  int ReadWholePage(uint8_t* out, int64_t offset) {
    Unit u = UnitAt(FileKind::kMain, offset);
    int rc = rm()->xRead(real, out, static_cast<int>(kPageBytes), offset);
    if (rc == SQLITE_IOERR_SHORT_READ) {
      int64_t size = 0;
      rc = PhysicalSize(&size);
      if (rc != SQLITE_OK) return rc;
      std::memset(out, 0, kPageBytes);
      if (size <= offset) return SQLITE_IOERR_SHORT_READ;
      return Fail(u, LoadState::kIncomplete);
    }
    if (rc != SQLITE_OK) return rc;
    if (!vfs_format::OpenUnit(*key, FileKind::kMain, u.index, out, kPageContent, out)) {
      std::memset(out, 0, kPageBytes);
      return Fail(u, LoadState::kUnauthentic);
    }
    std::memset(out + kPageContent, 0, kOverhead);
    return SQLITE_OK;
  }

  int Write(const uint8_t* in, int amount, int64_t offset) {
    wrote = true;
    if (kind == FileKind::kMain && amount == static_cast<int>(kPageBytes) &&
        offset % static_cast<int64_t>(kPageBytes) == 0 && !pending) {
      Unit u = UnitAt(FileKind::kMain, offset);
      if (u.index == 1 && !Page1HasOurGeometry(in)) {
        SetError(kGeometryError);
        return SQLITE_IOERR_WRITE;
      }
      vfs_format::SealUnit(*key, FileKind::kMain, u.index, in, kPageContent, io.get());
      return rm()->xWrite(real, io.get(), static_cast<int>(kPageBytes), offset);
    }
    const int64_t end = offset + amount;
    for (int64_t pos = offset; pos < end;) {
      Unit u = UnitAt(kind, pos);
      int64_t chunk_end = std::min<int64_t>(end, u.logical + static_cast<int64_t>(u.span));
      size_t rel = static_cast<size_t>(pos - u.logical);
      // Bytes in a page's reserve area are not stored (nonce and tag go there).
      size_t stop = std::min<size_t>(static_cast<size_t>(chunk_end - u.logical), u.capacity);
      if (rel < stop) {
        if (pending && (pending_unit.index != u.index || rel > pending_hi || stop < pending_lo)) {
          int rc = FlushPending();
          if (rc != SQLITE_OK) return rc;
        }
        if (!pending) {
          pending = true;
          pending_unit = u;
          pending_lo = rel;
          pending_hi = rel;
        }
        std::memcpy(plain.get() + rel, in + (pos - offset), stop - rel);
        pending_lo = std::min(pending_lo, rel);
        pending_hi = std::max(pending_hi, stop);
        if (pending_lo == 0 && pending_hi == u.capacity) {
          int rc = FlushPending();
          if (rc != SQLITE_OK) return rc;
        }
      }
      pos = chunk_end;
    }
    return SQLITE_OK;
  }

  // Seals and writes the pending unit. Bytes of the unit the pending writes did not cover come
  // from the unit on disk (or are zero if it does not exist yet).
  int FlushPending() {
    if (!pending) return SQLITE_OK;
    pending = false;
    const Unit& u = pending_unit;
    size_t length = u.capacity;
    if (kind == FileKind::kJournal) length = pending_hi;
    if (pending_lo != 0 || pending_hi != u.capacity) {
      Load old = LoadUnit(u, merge.get());
      if (old.rc != SQLITE_OK) return old.rc;
      if (old.state == LoadState::kIncomplete || old.state == LoadState::kUnauthentic) {
        return Fail(u, old.state);
      }
      std::memcpy(plain.get(), merge.get(), pending_lo);
      if (kind == FileKind::kJournal) {
        length = std::max(pending_hi, old.sealed);
        if (length > pending_hi) {
          std::memcpy(plain.get() + pending_hi, merge.get() + pending_hi, length - pending_hi);
        }
      } else {
        std::memcpy(plain.get() + pending_hi, merge.get() + pending_hi, length - pending_hi);
      }
    }
    if (kind == FileKind::kMain && u.index == 1 && !Page1HasOurGeometry(plain.get())) {
      SetError(kGeometryError);
      return SQLITE_IOERR_WRITE;
    }
    if (kind == FileKind::kWal && u.index > 0 && Get32BE(plain.get()) == 1 &&
        !Page1HasOurGeometry(plain.get() + kWalFrameHeaderSize)) {
      SetError(kGeometryError);
      return SQLITE_IOERR_WRITE;
    }
    if (kind == FileKind::kJournal || kind == FileKind::kJournalV2) {
      int rc = ExtendJournalTo(u.logical);
      if (rc != SQLITE_OK) return rc;
    }
    vfs_format::SealUnit(*key, kind, u.index, plain.get(), length, io.get());
    return rm()->xWrite(real, io.get(), static_cast<int>(length + kOverhead), u.physical);
  }

  // Before a journal unit is written past the end, any gap is filled with sealed zeros, as a
  // sparse plaintext file would read. kJournal only: its short last unit (length = physical
  // length minus 40) is first padded to a full one. kJournalV2 has no short units, so this
  // never rewrites a unit already written (one holding synced records must never be at risk).
  int ExtendJournalTo(int64_t logical_start) {
    int64_t physical = 0;
    int rc = PhysicalSize(&physical);
    if (rc != SQLITE_OK) return rc;
    int64_t logical_end = LogicalSize(kind, physical);
    while (logical_end < logical_start) {
      Unit last = UnitAt(kind, logical_end);
      if (logical_end > last.logical) {
        Load old = LoadUnit(last, merge.get());
        if (old.rc != SQLITE_OK) return old.rc;
        if (old.state != LoadState::kOk) return Fail(last, old.state);
      } else {
        std::memset(merge.get(), 0, last.capacity);
      }
      vfs_format::SealUnit(*key, kind, last.index, merge.get(), last.capacity, io.get());
      rc = rm()->xWrite(real, io.get(), static_cast<int>(last.capacity + kOverhead), last.physical);
      if (rc != SQLITE_OK) return rc;
      logical_end = last.logical + static_cast<int64_t>(last.span);
    }
    return SQLITE_OK;
  }

  int Truncate(int64_t size) {
    int rc = FlushPending();
    if (rc != SQLITE_OK) return rc;
    int64_t physical = size;
    if (kind == FileKind::kWal) {
      physical = size == 0 ? 0 : size + kWalShift;
    } else if (kind == FileKind::kJournal || kind == FileKind::kJournalV2) {
      Unit u = UnitAt(kind, size);
      size_t keep = static_cast<size_t>(size - u.logical);
      physical = u.physical;
      if (keep > 0) {
        Load old = LoadUnit(u, plain.get());
        if (old.rc != SQLITE_OK) return old.rc;
        if (old.state != LoadState::kOk && old.state != LoadState::kAbsent) {
          return Fail(u, old.state);
        }
        // v2 units are always whole: the cut-off bytes read as zeros, as in a sparse file.
        size_t length = keep;
        if (kind == FileKind::kJournalV2) {
          std::memset(plain.get() + keep, 0, u.capacity - keep);
          length = u.capacity;
        }
        vfs_format::SealUnit(*key, kind, u.index, plain.get(), length, io.get());
        rc = rm()->xWrite(real, io.get(), static_cast<int>(length + kOverhead), u.physical);
        if (rc != SQLITE_OK) return rc;
        physical = u.physical + static_cast<int64_t>(length + kOverhead);
      }
    }
    return rm()->xTruncate(real, physical);
  }

  int FileSize(int64_t* size) {
    int rc = FlushPending();
    if (rc != SQLITE_OK) return rc;
    int64_t physical = 0;
    rc = PhysicalSize(&physical);
    if (rc != SQLITE_OK) return rc;
    if (kind == FileKind::kMain && physical % static_cast<int64_t>(kPageBytes) != 0) {
      // SQLite only ever writes whole pages; a partial page was cut off.
      SetError("vault is corrupt or tampered: " + name + " ends inside page " +
               std::to_string(physical / static_cast<int64_t>(kPageBytes) + 1) + " (truncated)");
      return SQLITE_IOERR_AUTH;
    }
    *size = LogicalSize(kind, physical);
    return SQLITE_OK;
  }
};

// ---------------------------------------------------------------------------------------------
// Memory-only files (temp databases, statement journals, sorter spill files)

struct MemoryFile {
  sqlite3_file base;
  std::unique_ptr<uint8_t[]> data;
  size_t size = 0;
  size_t capacity = 0;

  ~MemoryFile() {
    if (data) sodium_memzero(data.get(), capacity);
  }

  int Read(uint8_t* out, int amount, int64_t offset) {
    size_t off = static_cast<size_t>(offset);
    size_t n = static_cast<size_t>(amount);
    size_t have = off < size ? std::min(n, size - off) : 0;
    if (have > 0) std::memcpy(out, data.get() + off, have);
    if (have < n) {
      std::memset(out + have, 0, n - have);
      return SQLITE_IOERR_SHORT_READ;
    }
    return SQLITE_OK;
  }

  int Write(const uint8_t* in, int amount, int64_t offset) {
    size_t end = static_cast<size_t>(offset) + static_cast<size_t>(amount);
    if (end > capacity) {
      size_t grown = std::max<size_t>(end, capacity * 2 + 65536);
      auto bigger = std::unique_ptr<uint8_t[]>(new (std::nothrow) uint8_t[grown]);
      if (!bigger) return SQLITE_NOMEM;
      std::memset(bigger.get(), 0, grown);
      if (data) {
        std::memcpy(bigger.get(), data.get(), size);
        sodium_memzero(data.get(), capacity);  // plaintext never lingers in freed memory
      }
      data = std::move(bigger);
      capacity = grown;
    }
    if (static_cast<size_t>(offset) > size) std::memset(data.get() + size, 0, offset - size);
    std::memcpy(data.get() + offset, in, amount);
    size = std::max(size, end);
    return SQLITE_OK;
  }

  int Truncate(int64_t new_size) {
    size_t n = static_cast<size_t>(new_size);
    if (n < size) sodium_memzero(data.get() + n, size - n);
    size = std::min(size, n);
    return SQLITE_OK;
  }
};

// ---------------------------------------------------------------------------------------------
// sqlite3_io_methods

EncryptedFile* Enc(sqlite3_file* f) { return reinterpret_cast<EncryptedFile*>(f); }
MemoryFile* Mem(sqlite3_file* f) { return reinterpret_cast<MemoryFile*>(f); }

int EncClose(sqlite3_file* f) {
  EncryptedFile* file = Enc(f);
  int rc = file->FlushPending();
  int close_rc = file->rm()->xClose(file->real);
  file->~EncryptedFile();
  return rc != SQLITE_OK ? rc : close_rc;
}
int EncRead(sqlite3_file* f, void* out, int amount, sqlite3_int64 offset) {
  return Enc(f)->Read(static_cast<uint8_t*>(out), amount, offset);
}
int EncWrite(sqlite3_file* f, const void* in, int amount, sqlite3_int64 offset) {
  return Enc(f)->Write(static_cast<const uint8_t*>(in), amount, offset);
}
int EncTruncate(sqlite3_file* f, sqlite3_int64 size) { return Enc(f)->Truncate(size); }
int EncSync(sqlite3_file* f, int flags) {
  EncryptedFile* file = Enc(f);
  int rc = file->FlushPending();
  return rc != SQLITE_OK ? rc : file->rm()->xSync(file->real, flags);
}
int EncFileSize(sqlite3_file* f, sqlite3_int64* size) {
  int64_t s = 0;
  int rc = Enc(f)->FileSize(&s);
  *size = s;
  return rc;
}
int EncLock(sqlite3_file* f, int level) { return Enc(f)->rm()->xLock(Enc(f)->real, level); }
int EncUnlock(sqlite3_file* f, int level) { return Enc(f)->rm()->xUnlock(Enc(f)->real, level); }
int EncCheckReservedLock(sqlite3_file* f, int* out) {
  return Enc(f)->rm()->xCheckReservedLock(Enc(f)->real, out);
}
int EncFileControl(sqlite3_file* f, int op, void* arg) {
  EncryptedFile* file = Enc(f);
  switch (op) {
    case SQLITE_FCNTL_MMAP_SIZE:
      // Memory-mapped I/O would hand SQLite the ciphertext: always off.
      *static_cast<sqlite3_int64*>(arg) = 0;
      return SQLITE_OK;
    case SQLITE_FCNTL_SIZE_HINT:
    case SQLITE_FCNTL_CHUNK_SIZE:
      // Logical sizes do not map onto the WAL's and journal's physical sizes; hints are optional.
      if (file->kind != FileKind::kMain) return SQLITE_OK;
      break;
    default:
      break;
  }
  return file->rm()->xFileControl(file->real, op, arg);
}
int EncSectorSize(sqlite3_file*) { return static_cast<int>(kPageBytes); }
int EncDeviceCharacteristics(sqlite3_file* f) {
  EncryptedFile* file = Enc(f);
  int real = file->rm()->xDeviceCharacteristics(file->real);
  // Units are rewritten whole and sealed units are larger than what SQLite writes: no atomic,
  // sequential or safe-append guarantee carries over. A write never alters bytes of another
  // unit, hence powersafe overwrite (which also keeps SQLite from padding WAL frames).
  int dropped = SQLITE_IOCAP_ATOMIC | SQLITE_IOCAP_ATOMIC512 | SQLITE_IOCAP_ATOMIC1K |
                SQLITE_IOCAP_ATOMIC2K | SQLITE_IOCAP_ATOMIC4K | SQLITE_IOCAP_ATOMIC8K |
                SQLITE_IOCAP_ATOMIC16K | SQLITE_IOCAP_ATOMIC32K | SQLITE_IOCAP_ATOMIC64K |
                SQLITE_IOCAP_SAFE_APPEND | SQLITE_IOCAP_SEQUENTIAL | SQLITE_IOCAP_BATCH_ATOMIC;
  return (real & ~dropped) | SQLITE_IOCAP_POWERSAFE_OVERWRITE;
}
int EncShmMap(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
  EncryptedFile* file = Enc(f);
  if (file->rm()->iVersion < 2 || file->rm()->xShmMap == nullptr) return SQLITE_IOERR_SHMMAP;
  return file->rm()->xShmMap(file->real, page, size, extend, out);
}
int EncShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return Enc(f)->rm()->xShmLock(Enc(f)->real, offset, n, flags);
}
void EncShmBarrier(sqlite3_file* f) { Enc(f)->rm()->xShmBarrier(Enc(f)->real); }
int EncShmUnmap(sqlite3_file* f, int delete_flag) {
  return Enc(f)->rm()->xShmUnmap(Enc(f)->real, delete_flag);
}
int EncFetch(sqlite3_file*, sqlite3_int64, int, void** out) {
  *out = nullptr;  // never map ciphertext; SQLite falls back to xRead
  return SQLITE_OK;
}
int EncUnfetch(sqlite3_file*, sqlite3_int64, void*) { return SQLITE_OK; }

const sqlite3_io_methods kEncryptedMethods = {
    3,
    EncClose,
    EncRead,
    EncWrite,
    EncTruncate,
    EncSync,
    EncFileSize,
    EncLock,
    EncUnlock,
    EncCheckReservedLock,
    EncFileControl,
    EncSectorSize,
    EncDeviceCharacteristics,
    EncShmMap,
    EncShmLock,
    EncShmBarrier,
    EncShmUnmap,
    EncFetch,
    EncUnfetch,
};

int MemClose(sqlite3_file* f) {
  Mem(f)->~MemoryFile();
  return SQLITE_OK;
}
int MemRead(sqlite3_file* f, void* out, int amount, sqlite3_int64 offset) {
  return Mem(f)->Read(static_cast<uint8_t*>(out), amount, offset);
}
int MemWrite(sqlite3_file* f, const void* in, int amount, sqlite3_int64 offset) {
  return Mem(f)->Write(static_cast<const uint8_t*>(in), amount, offset);
}
int MemTruncate(sqlite3_file* f, sqlite3_int64 size) { return Mem(f)->Truncate(size); }
int MemSync(sqlite3_file*, int) { return SQLITE_OK; }
int MemFileSize(sqlite3_file* f, sqlite3_int64* size) {
  *size = static_cast<sqlite3_int64>(Mem(f)->size);
  return SQLITE_OK;
}
int MemLock(sqlite3_file*, int) { return SQLITE_OK; }
int MemCheckReservedLock(sqlite3_file*, int* out) {
  *out = 0;
  return SQLITE_OK;
}
int MemFileControl(sqlite3_file*, int, void*) { return SQLITE_NOTFOUND; }
int MemSectorSize(sqlite3_file*) { return static_cast<int>(kPageBytes); }
int MemDeviceCharacteristics(sqlite3_file*) { return 0; }

const sqlite3_io_methods kMemoryMethods = {
    1,
    MemClose,
    MemRead,
    MemWrite,
    MemTruncate,
    MemSync,
    MemFileSize,
    MemLock,
    MemLock,
    MemCheckReservedLock,
    MemFileControl,
    MemSectorSize,
    MemDeviceCharacteristics,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
};

// ---------------------------------------------------------------------------------------------
// sqlite3_vfs

constexpr size_t AlignUp(size_t n) { return (n + 15) & ~size_t{15}; }
constexpr size_t kShimSize = AlignUp(std::max(sizeof(EncryptedFile), sizeof(MemoryFile)));

sqlite3_vfs g_vfs;
std::once_flag g_register_once;
int g_register_rc = SQLITE_OK;

sqlite3_vfs* Base(sqlite3_vfs* vfs) { return static_cast<sqlite3_vfs*>(vfs->pAppData); }

// An existing database keeps the cipher it was created with: page 1 opens under exactly one
// (the cipher id is in the associated data). Tries `key`'s cipher first, then the other one;
// if neither opens page 1 (wrong key, tampering, no page 1 yet) keeps `key`, and reads report
// the failure as before.
KeyPtr RecognizeCipher(EncryptedFile* enc, KeyPtr key) {
  if (enc->rm()->xRead(enc->real, enc->io.get(), static_cast<int>(kPageBytes), 0) != SQLITE_OK) {
    return key;
  }
  if (vfs_format::OpenUnit(*key, FileKind::kMain, 1, enc->io.get(), kPageContent,
                           enc->plain.get())) {
    return key;
  }
  PageCipher other = key->cipher() == PageCipher::kXChaCha20Poly1305
                         ? PageCipher::kAes256Gcm
                         : PageCipher::kXChaCha20Poly1305;
  Result<vfs_format::UnitKey> alternative = vfs_format::UnitKey::Create(key->key(), other);
  if (!alternative.ok() || !vfs_format::OpenUnit(*alternative, FileKind::kMain, 1, enc->io.get(),
                                                 kPageContent, enc->plain.get())) {
    return key;
  }
  return std::make_shared<const vfs_format::UnitKey>(std::move(alternative).value());
}

// New journals are written as kJournalV2. A hot journal left by an earlier build (kJournal, 4096-
// byte blocks) is read as such: its block 0 opens under kJournal and not under kJournalV2 (the
// file kind is in the associated data). If neither opens, kJournalV2 reports the damage.
FileKind RecognizeJournal(EncryptedFile* enc) {
  enc->kind = FileKind::kJournalV2;
  int64_t size = 0;
  if (enc->PhysicalSize(&size) != SQLITE_OK || size == 0) return FileKind::kJournalV2;
  Load v2 = enc->LoadUnit(UnitAt(FileKind::kJournalV2, 0), enc->plain.get());
  if (v2.rc == SQLITE_OK && v2.state == LoadState::kOk) return FileKind::kJournalV2;
  enc->kind = FileKind::kJournal;
  Load v1 = enc->LoadUnit(UnitAt(FileKind::kJournal, 0), enc->plain.get());
  sodium_memzero(enc->plain.get(), enc->plain.size);
  if (v1.rc == SQLITE_OK && v1.state == LoadState::kOk) return FileKind::kJournal;
  return FileKind::kJournalV2;
}

int VfsOpen(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* file, int flags,
            int* out_flags) {
  file->pMethods = nullptr;
  const int kMemoryTypes = SQLITE_OPEN_TEMP_DB | SQLITE_OPEN_TRANSIENT_DB |
                           SQLITE_OPEN_TEMP_JOURNAL | SQLITE_OPEN_SUBJOURNAL;
  if (name == nullptr || (flags & kMemoryTypes) != 0) {
    new (file) MemoryFile();
    file->pMethods = &kMemoryMethods;
    if (out_flags != nullptr) *out_flags = flags;
    return SQLITE_OK;
  }
  FileKind kind;
  std::string db_path;
  if (flags & SQLITE_OPEN_MAIN_DB) {
    kind = FileKind::kMain;
    db_path = name;
  } else if (flags & SQLITE_OPEN_WAL) {
    kind = FileKind::kWal;
    db_path = sqlite3_filename_database(name);
  } else if (flags & SQLITE_OPEN_MAIN_JOURNAL) {
    kind = FileKind::kJournal;
    db_path = sqlite3_filename_database(name);
  } else {
    SetError(std::string("the encrypting VFS refuses to open ") + name +
             " (super-journals and other auxiliary files would be stored unencrypted)");
    return SQLITE_CANTOPEN;
  }
  std::string canonical = Canonical(db_path);
  KeyPtr key =
      kind == FileKind::kMain ? KeyForMainDb(canonical) : FindKey(canonical, /*include_live=*/true);
  if (key == nullptr) {
    if (kind != FileKind::kMain) SetError("no key for " + canonical + " (its key was detached)");
    return SQLITE_CANTOPEN;
  }
  auto* enc = new (file) EncryptedFile();
  enc->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kShimSize);
  enc->kind = kind;
  enc->key = std::move(key);
  enc->name = std::filesystem::path(name).filename().string();
  int rc = Base(vfs)->xOpen(Base(vfs), name, enc->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    if (enc->real->pMethods != nullptr) enc->real->pMethods->xClose(enc->real);
    enc->~EncryptedFile();
    return rc;
  }
  if (kind == FileKind::kMain) {
    enc->key = RecognizeCipher(enc, std::move(enc->key));
    SetLiveKey(canonical, enc->key);
  } else if (kind == FileKind::kJournal) {
    enc->kind = RecognizeJournal(enc);
  }
  file->pMethods = &kEncryptedMethods;
  return SQLITE_OK;
}

int VfsDelete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  return Base(vfs)->xDelete(Base(vfs), name, sync_dir);
}
int VfsAccess(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return Base(vfs)->xAccess(Base(vfs), name, flags, out);
}
int VfsFullPathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  return Base(vfs)->xFullPathname(Base(vfs), name, n, out);
}
void* VfsDlOpen(sqlite3_vfs* vfs, const char* name) { return Base(vfs)->xDlOpen(Base(vfs), name); }
void VfsDlError(sqlite3_vfs* vfs, int n, char* out) { Base(vfs)->xDlError(Base(vfs), n, out); }
void (*VfsDlSym(sqlite3_vfs* vfs, void* handle, const char* symbol))(void) {
  return Base(vfs)->xDlSym(Base(vfs), handle, symbol);
}
void VfsDlClose(sqlite3_vfs* vfs, void* handle) { Base(vfs)->xDlClose(Base(vfs), handle); }
int VfsRandomness(sqlite3_vfs* vfs, int n, char* out) {
  return Base(vfs)->xRandomness(Base(vfs), n, out);
}
int VfsSleep(sqlite3_vfs* vfs, int micros) { return Base(vfs)->xSleep(Base(vfs), micros); }
int VfsCurrentTime(sqlite3_vfs* vfs, double* out) {
  return Base(vfs)->xCurrentTime(Base(vfs), out);
}
int VfsGetLastError(sqlite3_vfs* vfs, int n, char* out) {
  return Base(vfs)->xGetLastError(Base(vfs), n, out);
}
int VfsCurrentTimeInt64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  return Base(vfs)->xCurrentTimeInt64(Base(vfs), out);
}

}  // namespace

Status RegisterVfs() {
  crypto::EnsureSodium();
  std::call_once(g_register_once, [] {
    if (sqlite3_initialize() != SQLITE_OK) {
      g_register_rc = SQLITE_ERROR;
      return;
    }
    sqlite3_vfs* base = sqlite3_vfs_find(nullptr);
    if (base != nullptr && std::strcmp(base->zName, kVfsName) == 0) base = sqlite3_vfs_find("unix");
    if (base == nullptr) {
      g_register_rc = SQLITE_ERROR;
      return;
    }
    g_vfs.iVersion = std::min(base->iVersion, 2);
    g_vfs.szOsFile = static_cast<int>(kShimSize) + base->szOsFile;
    g_vfs.mxPathname = base->mxPathname;
    g_vfs.zName = kVfsName;
    g_vfs.pAppData = base;
    g_vfs.xOpen = VfsOpen;
    g_vfs.xDelete = VfsDelete;
    g_vfs.xAccess = VfsAccess;
    g_vfs.xFullPathname = VfsFullPathname;
    g_vfs.xDlOpen = VfsDlOpen;
    g_vfs.xDlError = VfsDlError;
    g_vfs.xDlSym = VfsDlSym;
    g_vfs.xDlClose = VfsDlClose;
    g_vfs.xRandomness = VfsRandomness;
    g_vfs.xSleep = VfsSleep;
    g_vfs.xCurrentTime = VfsCurrentTime;
    g_vfs.xGetLastError = VfsGetLastError;
    g_vfs.xCurrentTimeInt64 = VfsCurrentTimeInt64;
    g_register_rc = sqlite3_vfs_register(&g_vfs, /*makeDflt=*/0);
  });
  if (g_register_rc != SQLITE_OK) {
    return Internal(std::string("cannot register the encrypting VFS: ") +
                    sqlite3_errstr(g_register_rc));
  }
  return Status::Ok();
}

PageCipher PreferredPageCipher() {
  crypto::EnsureSodium();  // before sodium_init the CPU features read as absent
  return crypto_aead_aes256gcm_is_available() != 0 ? PageCipher::kAes256Gcm
                                                   : PageCipher::kXChaCha20Poly1305;
}

Status AttachKey(const std::string& db_path, const crypto::SecretBytes& page_key,
                 PageCipher cipher) {
  ESTELIK_ASSIGN_OR_RETURN(vfs_format::UnitKey unit, vfs_format::UnitKey::Create(page_key, cipher));
  auto key = std::make_shared<const vfs_format::UnitKey>(std::move(unit));
  KeyRegistry& r = Registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.attached[Canonical(db_path)] = std::move(key);
  return Status::Ok();
}

void DetachKey(const std::string& db_path) {
  KeyRegistry& r = Registry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::string canonical = Canonical(db_path);
  r.attached.erase(canonical);
}

void SetKeyProvider(KeyProvider provider) {
  KeyRegistry& r = Registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.provider = std::move(provider);
}

Status ConfigureConnection(sqlite3* db, bool wal) {
  if (db == nullptr) return InvalidArgument("ConfigureConnection needs an open database");
  sqlite3_vfs* vfs = nullptr;
  if (sqlite3_file_control(db, "main", SQLITE_FCNTL_VFS_POINTER, &vfs) != SQLITE_OK ||
      vfs == nullptr || std::strcmp(vfs->zName, kVfsName) != 0) {
    return InvalidArgument("the database was not opened through the \"estelik\" VFS");
  }
  // Temp tables, indices and statement journals stay in memory; memory-mapped reads would
  // bypass decryption. In WAL mode an exclusive lock taken before the first WAL access keeps
  // the wal-index in process memory: no -shm file with page numbers and checksums on disk.
  ESTELIK_RETURN_IF_ERROR(sql::Exec(db, "PRAGMA temp_store=MEMORY; PRAGMA mmap_size=0"));
  if (wal) ESTELIK_RETURN_IF_ERROR(sql::Exec(db, "PRAGMA locking_mode=EXCLUSIVE"));
  ESTELIK_RETURN_IF_ERROR(sql::Exec(db, "PRAGMA page_size=4096"));
  int reserve = kReserveBytes;
  if (sqlite3_file_control(db, "main", SQLITE_FCNTL_RESERVE_BYTES, &reserve) != SQLITE_OK) {
    return Internal("cannot set the reserve bytes of the database");
  }
  // Reads page 1 (if any): a wrong key or a tampered header is reported here.
  ESTELIK_RETURN_IF_ERROR(sql::Exec(db, "SELECT count(*) FROM sqlite_schema"));
  ESTELIK_ASSIGN_OR_RETURN(std::string page_size, sql::QueryText(db, "PRAGMA page_size"));
  if (page_size != "4096") {
    return Corrupt("not an Estelik vault: page size " + page_size + " instead of 4096");
  }
  ESTELIK_ASSIGN_OR_RETURN(
      std::string mode,
      sql::QueryText(db, wal ? "PRAGMA journal_mode=WAL" : "PRAGMA journal_mode=DELETE"));
  if (mode != (wal ? "wal" : "delete")) {
    return IoError("cannot switch the journal mode to " + std::string(wal ? "WAL" : "DELETE") +
                   " (still " + mode + ")");
  }
  // FULL: a transaction reported committed survives power loss, not only a crash.
  return sql::Exec(db, "PRAGMA synchronous=FULL");
}

std::string LastVfsError() { return sql::LastDamage(); }

void ClearLastVfsError() { sql::ClearDamage(); }

}  // namespace estelik::vault
