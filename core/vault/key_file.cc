// vault.key, version 1 (docs/FORMAT.md, "vault.key"). All integers little-endian.
//
//   offset size  field
//        0    7  magic "ESTLKEY"
//        7    1  version = 1
//        8    1  KDF id = 2 (Argon2id v1.3, crypto_pwhash_ALG_ARGON2ID13)
//        9    1  AEAD id = 1 (XChaCha20-Poly1305-IETF)
//       10    6  reserved, zero
//       16    8  Argon2id opslimit
//       24    8  Argon2id memlimit (bytes)
//       32   16  Argon2id salt
//       48   72  slot 0: nonce (24) | ciphertext of the master key (32) | tag (16)
//      120   72  slot 1: same layout
//      192   32  checksum: BLAKE2b-256 (unkeyed) of bytes 0..191
//      224       end of file (every key file has exactly this size)
//
// KEK = Argon2id(passphrase, salt, opslimit, memlimit), 32 bytes; one run per operation.
// Slot i seals the master key under the KEK with associated data = bytes 0..47 (the header)
// followed by the single byte i, so a slot cannot be moved to the other position or paired
// with another header; a duress slot appends the byte 'D' to that associated data, so its
// role is known only to whoever opens it. An unused slot is 72 random bytes: without the passphrase
// a used slot and an unused one are both uniformly random-looking, so nobody can tell whether a
// second (duress) passphrase exists.
//
// The checksum is not a security mechanism (anyone can recompute it; the AEAD tags are what
// authenticate). It lets Unlock tell "the file is damaged" from "wrong passphrase" when no
// slot opens, and it is advisory: a slot that opens is trusted even if the checksum is off.
#include "core/vault/key_file.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>

#include "core/crypto/hash.h"
#include "core/crypto/random.h"
#include "core/vault/key_file_testing.h"

namespace estelik::vault {
namespace {

constexpr std::array<uint8_t, 7> kMagic = {'E', 'S', 'T', 'L', 'K', 'E', 'Y'};
constexpr uint8_t kVersion = 1;
constexpr uint8_t kKdfArgon2id13 = 2;
constexpr uint8_t kAeadXChaCha20Poly1305 = 1;
static_assert(kKdfArgon2id13 == crypto_pwhash_ALG_ARGON2ID13);

constexpr size_t kVersionOffset = 7;
constexpr size_t kKdfOffset = 8;
constexpr size_t kAeadOffset = 9;
constexpr size_t kReservedOffset = 10;
constexpr size_t kReservedSize = 6;
constexpr size_t kOpslimitOffset = 16;
constexpr size_t kMemlimitOffset = 24;
constexpr size_t kSaltOffset = 32;
constexpr size_t kSaltSize = 16;
constexpr size_t kHeaderSize = 48;
constexpr size_t kNonceSize = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kTagSize = crypto_aead_xchacha20poly1305_ietf_ABYTES;
constexpr size_t kSlotSize = kNonceSize + kMasterKeySize + kTagSize;
constexpr size_t kSlotsOffset = kHeaderSize;
constexpr size_t kChecksumOffset = kSlotsOffset + 2 * kSlotSize;
constexpr size_t kChecksumSize = 32;
constexpr size_t kKeyFileSize = kChecksumOffset + kChecksumSize;
constexpr size_t kKekSize = crypto_aead_xchacha20poly1305_ietf_KEYBYTES;

static_assert(kSaltSize == crypto_pwhash_SALTBYTES);
static_assert(kSaltOffset + kSaltSize == kHeaderSize);
static_assert(kSlotSize == 72);
static_assert(kKeyFileSize == 224);
static_assert(kMasterKeySize == crypto_kdf_KEYBYTES);
static_assert(kKekSize == 32);
static_assert(kChecksumSize == crypto::kHashSize);

// Bounds on the stored cost. A corrupted or hostile header must not make us allocate
// gigabytes or spin for hours before we can even say "wrong passphrase". memlimit stays
// below 2 GiB so it fits a 32-bit size_t (phones).
constexpr uint64_t kMaxOpslimit = 32;
constexpr uint64_t kMaxMemlimit = uint64_t{1} << 31;

using KeyFileBytes = std::array<uint8_t, kKeyFileSize>;

Status WrongPassphrase() { return Status(Code::kWrongPassphrase, "wrong passphrase"); }

std::string ErrnoText(int err) { return std::strerror(err); }

void PutU64(uint8_t* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
}

uint64_t GetU64(const uint8_t* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{in[i]} << (8 * i);
  return v;
}

size_t SlotOffset(int slot) { return kSlotsOffset + static_cast<size_t>(slot) * kSlotSize; }

// Owns a file descriptor.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Closes now and reports the error close() may carry (deferred write errors).
  int Close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

bool WriteAll(int fd, const uint8_t* data, size_t size, off_t offset) {
  while (size > 0) {
    ssize_t n = ::pwrite(fd, data, size, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
    offset += n;
  }
  return true;
}

// Reads up to `size` bytes from `offset`; returns how many, or -1.
ssize_t ReadUpTo(int fd, uint8_t* data, size_t size, off_t offset) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, data + done, size - done, offset + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(done);
}

Status FsyncDirectoryOf(const std::string& path) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) {
    return IoError("cannot open directory " + dir.string() + " to sync it: " + ErrnoText(errno));
  }
  if (::fsync(fd.get()) != 0) {
    return IoError("cannot sync directory " + dir.string() + ": " + ErrnoText(errno));
  }
  return Status::Ok();
}

Status OpenError(const std::string& path, int err) {
  if (err == ENOENT) return NotFound("no key file at " + path);
  return IoError("cannot open key file " + path + ": " + ErrnoText(err));
}

Status WrongSize(const std::string& path, size_t size) {
  return Corrupt("key file " + path + " is damaged: it has " + std::to_string(size) +
                 " bytes, expected " + std::to_string(kKeyFileSize) +
                 " (truncated, or not a vault.key)");
}

Result<KeyFileBytes> ReadKeyFile(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return OpenError(path, errno);
  // One byte more than a key file, to notice a file that is too long.
  std::array<uint8_t, kKeyFileSize + 1> buffer{};
  ssize_t n = ReadUpTo(fd.get(), buffer.data(), buffer.size(), 0);
  if (n < 0) return IoError("cannot read key file " + path + ": " + ErrnoText(errno));
  if (static_cast<size_t>(n) != kKeyFileSize) return WrongSize(path, static_cast<size_t>(n));
  KeyFileBytes bytes;
  std::memcpy(bytes.data(), buffer.data(), kKeyFileSize);
  return bytes;
}

Status ValidateParams(const KdfParams& params) {
  if (params.opslimit < crypto_pwhash_OPSLIMIT_MIN || params.opslimit > kMaxOpslimit) {
    return InvalidArgument("Argon2id opslimit " + std::to_string(params.opslimit) +
                           " is outside [" + std::to_string(crypto_pwhash_OPSLIMIT_MIN) + ", " +
                           std::to_string(kMaxOpslimit) + "]");
  }
  if (params.memlimit < crypto_pwhash_MEMLIMIT_MIN || params.memlimit > kMaxMemlimit) {
    return InvalidArgument("Argon2id memlimit " + std::to_string(params.memlimit) +
                           " bytes is outside [" + std::to_string(crypto_pwhash_MEMLIMIT_MIN) +
                           ", " + std::to_string(kMaxMemlimit) + "]");
  }
  return Status::Ok();
}

// Checks everything in the header that can be checked without the passphrase and returns the
// stored cost. Runs before Argon2id so a damaged header never drives the KDF.
Result<KdfParams> ParseHeader(const std::string& path, const KeyFileBytes& file) {
  if (!std::equal(kMagic.begin(), kMagic.end(), file.begin())) {
    return Corrupt("key file " + path + " is damaged or not a vault.key (bad magic)");
  }
  uint8_t version = file[kVersionOffset];
  if (version > kVersion) {
    return Unsupported("key file " + path + " has format version " + std::to_string(version) +
                       "; this Estelik reads version " + std::to_string(kVersion) +
                       " (upgrade Estelik)");
  }
  if (version != kVersion) {
    return Corrupt("key file " + path + " is damaged (format version " + std::to_string(version) +
                   ")");
  }
  if (file[kKdfOffset] != kKdfArgon2id13 || file[kAeadOffset] != kAeadXChaCha20Poly1305) {
    return Corrupt("key file " + path + " is damaged (unknown KDF " +
                   std::to_string(file[kKdfOffset]) + " or AEAD " +
                   std::to_string(file[kAeadOffset]) + ")");
  }
  for (size_t i = 0; i < kReservedSize; ++i) {
    if (file[kReservedOffset + i] != 0) {
      return Corrupt("key file " + path + " is damaged (reserved header byte " +
                     std::to_string(kReservedOffset + i) + " is not zero)");
    }
  }
  KdfParams params;
  params.opslimit = GetU64(&file[kOpslimitOffset]);
  params.memlimit = GetU64(&file[kMemlimitOffset]);
  if (Status s = ValidateParams(params); !s.ok()) {
    return Corrupt("key file " + path + " is damaged (" + s.message() + ")");
  }
  return params;
}

void WriteHeader(const KdfParams& params, std::span<const uint8_t, kSaltSize> salt,
                 KeyFileBytes& file) {
  std::memcpy(file.data(), kMagic.data(), kMagic.size());
  file[kVersionOffset] = kVersion;
  file[kKdfOffset] = kKdfArgon2id13;
  file[kAeadOffset] = kAeadXChaCha20Poly1305;
  std::memset(&file[kReservedOffset], 0, kReservedSize);
  PutU64(&file[kOpslimitOffset], params.opslimit);
  PutU64(&file[kMemlimitOffset], params.memlimit);
  std::memcpy(&file[kSaltOffset], salt.data(), kSaltSize);
}

crypto::Hash256 ComputeChecksum(const KeyFileBytes& file) {
  return crypto::Blake2b256(std::span<const uint8_t>(file.data(), kChecksumOffset));
}

void UpdateChecksum(KeyFileBytes& file) {
  crypto::Hash256 sum = ComputeChecksum(file);
  std::memcpy(&file[kChecksumOffset], sum.data(), sum.size());
}

bool ChecksumMatches(const KeyFileBytes& file) {
  crypto::Hash256 sum = ComputeChecksum(file);
  return std::memcmp(sum.data(), &file[kChecksumOffset], sum.size()) == 0;  // public data
}

// The associated data of slot `slot`: the header, then the slot index, then 'D' for a
// duress slot.
struct SlotAssociatedData {
  std::array<uint8_t, kHeaderSize + 2> bytes;
  size_t size;
};
SlotAssociatedData SlotAd(const KeyFileBytes& file, int slot, SlotRole role) {
  SlotAssociatedData ad{};
  std::memcpy(ad.bytes.data(), file.data(), kHeaderSize);
  ad.bytes[kHeaderSize] = static_cast<uint8_t>(slot);
  ad.size = kHeaderSize + 1;
  if (role == SlotRole::kDuress) ad.bytes[ad.size++] = 'D';
  return ad;
}

// Argon2id, once. The KEK lives in secure memory and is wiped by its owner's destructor.
Result<crypto::SecretBytes> DeriveKek(std::string_view passphrase, const KeyFileBytes& file,
                                      const KdfParams& params) {
  crypto::SecretBytes kek(kKekSize);
  if (crypto_pwhash(kek.data(), kek.size(), passphrase.data(), passphrase.size(),
                    &file[kSaltOffset], params.opslimit, static_cast<size_t>(params.memlimit),
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return LimitExceeded("not enough memory to derive the key: Argon2id needs " +
                         std::to_string(params.memlimit >> 20) + " MiB");
  }
  return kek;
}

void SealSlot(const crypto::SecretBytes& kek, const crypto::SecretBytes& master_key, int slot,
              std::span<const uint8_t, kNonceSize> nonce, KeyFileBytes& file,
              SlotRole role = SlotRole::kOwner) {
  uint8_t* out = &file[SlotOffset(slot)];
  std::memcpy(out, nonce.data(), kNonceSize);
  SlotAssociatedData ad = SlotAd(file, slot, role);
  crypto_aead_xchacha20poly1305_ietf_encrypt(out + kNonceSize, nullptr, master_key.data(),
                                             master_key.size(), ad.bytes.data(), ad.size, nullptr,
                                             out, kek.data());
}

// Returns true and fills `key` (kMasterKeySize bytes) if `kek` opens slot `slot` in `role`.
bool OpenSlot(const crypto::SecretBytes& kek, const KeyFileBytes& file, int slot, SlotRole role,
              crypto::SecretBytes& key) {
  const uint8_t* in = &file[SlotOffset(slot)];
  SlotAssociatedData ad = SlotAd(file, slot, role);
  return crypto_aead_xchacha20poly1305_ietf_decrypt(key.data(), nullptr, nullptr, in + kNonceSize,
                                                    kMasterKeySize + kTagSize, ad.bytes.data(),
                                                    ad.size, in, kek.data()) == 0;
}

// Tries BOTH slots, always, before looking at either result: the work done (and so the time
// taken) is the same whether slot 0, slot 1 or neither opens, so timing does not reveal which
// slot a passphrase opened or whether a second slot is in use. (Argon2id dominates anyway.)
std::optional<UnlockedKey> OpenEitherSlot(const crypto::SecretBytes& kek,
                                          const KeyFileBytes& file) {
  // Every (slot, role) pair is tried: four AEAD opens whatever the outcome.
  std::array<crypto::SecretBytes, 4> keys = {
      crypto::SecretBytes(kMasterKeySize), crypto::SecretBytes(kMasterKeySize),
      crypto::SecretBytes(kMasterKeySize), crypto::SecretBytes(kMasterKeySize)};
  std::array<bool, 4> opened{};
  for (int i = 0; i < 4; ++i) {
    opened[i] = OpenSlot(kek, file, i / 2, static_cast<SlotRole>(i % 2), keys[i]);
  }
  // Both slots never open under one KEK: WriteSlot and ChangePassphrase refuse a passphrase
  // that already opens the other slot. Were it to happen anyway, slot 0 wins.
  for (int i = 0; i < 4; ++i) {
    if (opened[i]) return UnlockedKey{std::move(keys[i]), i / 2, static_cast<SlotRole>(i % 2)};
  }
  return std::nullopt;
}

// The error when no slot opens: a damaged file is reported as such, otherwise it is the
// passphrase.
Status NoSlotOpened(const std::string& path, const KeyFileBytes& file) {
  if (!ChecksumMatches(file)) {
    return Corrupt("key file " + path +
                   " is damaged or tampered (checksum mismatch, no key slot opens); restore "
                   "vault.key from a backup");
  }
  return WrongPassphrase();
}

Status CheckSlotIndex(int slot) {
  if (slot != 0 && slot != 1) {
    return InvalidArgument("key slot must be 0 or 1, not " + std::to_string(slot));
  }
  return Status::Ok();
}

Status CheckNewPassphrase(std::string_view passphrase) {
  if (passphrase.empty()) return InvalidArgument("the passphrase must not be empty");
  if (passphrase.size() > crypto_pwhash_PASSWD_MAX) {
    return InvalidArgument("the passphrase is too long");
  }
  return Status::Ok();
}

// Writes `file` to `path` + ".tmp", fsyncs it, moves it to `path` and fsyncs the directory,
// so a crash leaves either the old key file or the new one, never a mix. With `no_replace`,
// an existing `path` is never overwritten (kAlreadyExists).
Status WriteAtomically(const std::string& path, const KeyFileBytes& file, bool no_replace) {
  const std::string tmp = path + ".tmp";
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) {
    if (errno == ENOENT) return NotFound("no directory for key file " + path);
    return IoError("cannot create " + tmp + ": " + ErrnoText(errno));
  }
  auto fail = [&tmp](std::string what) {
    int err = errno;
    ::unlink(tmp.c_str());
    return IoError(what + ": " + ErrnoText(err));
  };
  if (!WriteAll(fd.get(), file.data(), file.size(), 0)) return fail("cannot write " + tmp);
  if (::fsync(fd.get()) != 0) return fail("cannot sync " + tmp);
  if (fd.Close() != 0) return fail("cannot close " + tmp);
  if (no_replace) {
    // link() fails with EEXIST instead of replacing, atomically; rename() would clobber.
    if (::link(tmp.c_str(), path.c_str()) != 0) {
      if (errno == EEXIST) {
        ::unlink(tmp.c_str());
        return AlreadyExists("a key file already exists at " + path);
      }
      // Some file systems (FAT, some FUSE) have no hard links; the caller checked that `path`
      // did not exist, so fall back to rename.
      if (errno != EPERM && errno != ENOTSUP && errno != EOPNOTSUPP) {
        return fail("cannot create key file " + path);
      }
      if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("cannot create key file " + path);
    } else {
      ::unlink(tmp.c_str());
    }
  } else if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return fail("cannot replace key file " + path);
  }
  return FsyncDirectoryOf(path);
}

// Overwrites bytes [kSlotsOffset, end) of the key file in place and fsyncs. The whole range
// (176 bytes) lies in the file's first 512-byte sector, so one pwrite is in practice applied
// whole; if not, the checksum is advisory and the slots' own tags still decide.
Status OverwriteSlotsInPlace(int fd, const std::string& path, const KeyFileBytes& file) {
  if (!WriteAll(fd, &file[kSlotsOffset], kKeyFileSize - kSlotsOffset, kSlotsOffset)) {
    return IoError("cannot overwrite key file " + path + ": " + ErrnoText(errno));
  }
  if (::fsync(fd) != 0) return IoError("cannot sync key file " + path + ": " + ErrnoText(errno));
  return Status::Ok();
}

// Reads and checks the file and runs Argon2id for `passphrase`.
struct LoadedKeyFile {
  KeyFileBytes bytes;
  KdfParams params;
};

Result<LoadedKeyFile> Load(const std::string& path) {
  crypto::EnsureSodium();
  ESTELIK_ASSIGN_OR_RETURN(KeyFileBytes bytes, ReadKeyFile(path));
  ESTELIK_ASSIGN_OR_RETURN(KdfParams params, ParseHeader(path, bytes));
  return LoadedKeyFile{bytes, params};
}

Status RefuseIfOtherSlotOpens(const crypto::SecretBytes& kek, const KeyFileBytes& file, int slot) {
  crypto::SecretBytes scratch(kMasterKeySize);
  if (OpenSlot(kek, file, 1 - slot, SlotRole::kOwner, scratch) ||
      OpenSlot(kek, file, 1 - slot, SlotRole::kDuress, scratch)) {
    return InvalidArgument(
        "this passphrase already opens the other key slot; choose a different passphrase");
  }
  return Status::Ok();
}

}  // namespace

KdfParams ModerateKdfParams() {
  return {crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE};
}
KdfParams InteractiveKdfParams() {
  return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
}
KdfParams MinimalKdfParams() { return {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN}; }

namespace internal {

Result<UnlockedKey> CreateWithRandomSource(const std::string& path, std::string_view passphrase,
                                           const KdfParams& params, const RandomSource& random) {
  crypto::EnsureSodium();
  ESTELIK_RETURN_IF_ERROR(ValidateParams(params));
  ESTELIK_RETURN_IF_ERROR(CheckNewPassphrase(passphrase));
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) return AlreadyExists("a key file already exists at " + path);

  KeyFileBytes file{};
  std::array<uint8_t, kSaltSize> salt;
  random(salt);
  WriteHeader(params, salt, file);

  crypto::SecretBytes master_key(kMasterKeySize);
  random(master_key.mutable_span());
  std::array<uint8_t, 1> choice;
  random(choice);
  const int slot = choice[0] & 1;

  ESTELIK_ASSIGN_OR_RETURN(crypto::SecretBytes kek, DeriveKek(passphrase, file, params));
  std::array<uint8_t, kNonceSize> nonce;
  random(nonce);
  SealSlot(kek, master_key, slot, nonce, file);
  kek.Wipe();
  random(std::span<uint8_t>(&file[SlotOffset(1 - slot)], kSlotSize));
  UpdateChecksum(file);

  ESTELIK_RETURN_IF_ERROR(WriteAtomically(path, file, /*no_replace=*/true));
  return UnlockedKey{std::move(master_key), slot};
}

}  // namespace internal

Result<UnlockedKey> KeyFile::Create(const std::string& path, std::string_view passphrase,
                                    const KdfParams& params) {
  return internal::CreateWithRandomSource(path, passphrase, params, crypto::RandomFill);
}

Result<UnlockedKey> KeyFile::Unlock(const std::string& path, std::string_view passphrase) {
  ESTELIK_ASSIGN_OR_RETURN(LoadedKeyFile file, Load(path));
  ESTELIK_ASSIGN_OR_RETURN(crypto::SecretBytes kek, DeriveKek(passphrase, file.bytes, file.params));
  std::optional<UnlockedKey> opened = OpenEitherSlot(kek, file.bytes);
  if (!opened) return NoSlotOpened(path, file.bytes);
  return std::move(*opened);
}

Status KeyFile::ChangePassphrase(const std::string& path, std::string_view old_passphrase,
                                 std::string_view new_passphrase) {
  ESTELIK_RETURN_IF_ERROR(CheckNewPassphrase(new_passphrase));
  ESTELIK_ASSIGN_OR_RETURN(LoadedKeyFile file, Load(path));
  std::optional<UnlockedKey> opened;
  {
    ESTELIK_ASSIGN_OR_RETURN(crypto::SecretBytes old_kek,
                             DeriveKek(old_passphrase, file.bytes, file.params));
    opened = OpenEitherSlot(old_kek, file.bytes);
  }
  if (!opened) return NoSlotOpened(path, file.bytes);

  // The salt and cost are shared by both slots and stay as they are: changing them would lock
  // the other slot's passphrase out. Only this slot (with a fresh nonce) and the checksum change.
  ESTELIK_ASSIGN_OR_RETURN(crypto::SecretBytes new_kek,
                           DeriveKek(new_passphrase, file.bytes, file.params));
  ESTELIK_RETURN_IF_ERROR(RefuseIfOtherSlotOpens(new_kek, file.bytes, opened->slot));
  std::array<uint8_t, kNonceSize> nonce;
  crypto::RandomFill(nonce);
  SealSlot(new_kek, opened->master_key, opened->slot, nonce, file.bytes, opened->role);
  UpdateChecksum(file.bytes);
  return WriteAtomically(path, file.bytes, /*no_replace=*/false);
}

Status KeyFile::WriteSlot(const std::string& path, int slot, const crypto::SecretBytes& key,
                          std::string_view passphrase, SlotRole role) {
  return WriteSlotTo(path, path, slot, key, passphrase, role);
}

Status KeyFile::WriteSlotTo(const std::string& path, const std::string& out_path, int slot,
                            const crypto::SecretBytes& key, std::string_view passphrase,
                            SlotRole role) {
  ESTELIK_RETURN_IF_ERROR(CheckSlotIndex(slot));
  if (key.size() != kMasterKeySize) {
    return InvalidArgument("a slot key must be " + std::to_string(kMasterKeySize) + " bytes, not " +
                           std::to_string(key.size()));
  }
  ESTELIK_RETURN_IF_ERROR(CheckNewPassphrase(passphrase));
  ESTELIK_ASSIGN_OR_RETURN(LoadedKeyFile file, Load(path));
  ESTELIK_ASSIGN_OR_RETURN(crypto::SecretBytes kek, DeriveKek(passphrase, file.bytes, file.params));
  ESTELIK_RETURN_IF_ERROR(RefuseIfOtherSlotOpens(kek, file.bytes, slot));
  std::array<uint8_t, kNonceSize> nonce;
  crypto::RandomFill(nonce);
  SealSlot(kek, key, slot, nonce, file.bytes, role);
  UpdateChecksum(file.bytes);
  return WriteAtomically(out_path, file.bytes, /*no_replace=*/false);
}

Status KeyFile::DestroySlot(const std::string& path, int slot) {
  ESTELIK_RETURN_IF_ERROR(CheckSlotIndex(slot));
  crypto::EnsureSodium();
  Fd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.valid()) return OpenError(path, errno);
  KeyFileBytes file;
  ssize_t n = ReadUpTo(fd.get(), file.data(), file.size(), 0);
  if (n < 0) return IoError("cannot read key file " + path + ": " + ErrnoText(errno));
  if (static_cast<size_t>(n) != kKeyFileSize) return WrongSize(path, static_cast<size_t>(n));
  ESTELIK_RETURN_IF_ERROR(ParseHeader(path, file).status());
  crypto::RandomFill(std::span<uint8_t>(&file[SlotOffset(slot)], kSlotSize));
  UpdateChecksum(file);
  return OverwriteSlotsInPlace(fd.get(), path, file);
}

Status KeyFile::DestroyAll(const std::string& path) {
  crypto::EnsureSodium();
  Fd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.valid()) return OpenError(path, errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    return IoError("cannot stat key file " + path + ": " + ErrnoText(errno));
  }
  KeyFileBytes file;
  ssize_t n = ReadUpTo(fd.get(), file.data(), file.size(), 0);
  if (n < 0) return IoError("cannot read key file " + path + ": " + ErrnoText(errno));
  if (static_cast<size_t>(n) == kKeyFileSize && static_cast<size_t>(st.st_size) == kKeyFileSize &&
      ParseHeader(path, file).ok()) {
    // Keep the header so the shredded file still looks like an ordinary key file.
    crypto::RandomFill(std::span<uint8_t>(&file[kSlotsOffset], 2 * kSlotSize));
    UpdateChecksum(file);
    return OverwriteSlotsInPlace(fd.get(), path, file);
  }
  // Damaged file: its layout cannot be trusted, so shred every byte it has. Panic-wipe must
  // work whatever state the file is in.
  std::array<uint8_t, 4096> noise;
  for (off_t offset = 0; offset < st.st_size; offset += static_cast<off_t>(noise.size())) {
    size_t chunk = std::min<size_t>(noise.size(), static_cast<size_t>(st.st_size - offset));
    crypto::RandomFill(std::span<uint8_t>(noise.data(), chunk));
    if (!WriteAll(fd.get(), noise.data(), chunk, offset)) {
      return IoError("cannot overwrite key file " + path + ": " + ErrnoText(errno));
    }
  }
  if (::fsync(fd.get()) != 0)
    return IoError("cannot sync key file " + path + ": " + ErrnoText(errno));
  return Status::Ok();
}

size_t KeyFile::FileSize() { return kKeyFileSize; }

crypto::SecretBytes DeriveSubkey(const crypto::SecretBytes& master_key, uint64_t subkey_id,
                                 const char (&context)[9]) {
  // A master key of the wrong size is a bug in the caller; reading past it would be worse.
  if (master_key.size() != crypto_kdf_KEYBYTES) std::abort();
  static_assert(crypto_kdf_BYTES_MIN <= 32 && 32 <= crypto_kdf_BYTES_MAX);
  crypto::SecretBytes out(32);
  crypto_kdf_derive_from_key(out.data(), out.size(), subkey_id, context, master_key.data());
  return out;
}

}  // namespace estelik::vault
