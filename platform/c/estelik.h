/* estelik.h: the one stable C ABI of the Estelik engine.
 *
 * Phone and desktop shells (Kotlin/Java through JNI, Swift, Dart FFI, C) embed Estelik through
 * this header and libestelik.so.0. Conventions, stated once here and followed by every call:
 *
 * - Naming: estelik_<noun>_<verb>. Opaque handles: estelik_vault, estelik_attachment_writer,
 *   estelik_attachment_reader, estelik_sync (listeners, dials, one-shot syncs, LAN browsers).
 * - Errors: every call that can fail returns an estelik_status (ESTELIK_OK is 0) and, if `err`
 *   is not NULL, fills *err with (domain, code, message). A failed call changes nothing.
 *   Free the message with estelik_error_clear. `err` must be zeroed (ESTELIK_ERROR_INIT) before
 *   its first use; a filled error may be reused: the next call clears it first, so after a
 *   success it holds no message (code 0).
 * - Ownership: whatever a call returns through an out-parameter belongs to the caller and
 *   names its free function: estelik_buffer_free, estelik_string_free, estelik_vault_close,
 *   estelik_attachment_finish / estelik_attachment_abort, estelik_attachment_close,
 *   estelik_sync_free. Inputs are borrowed for the duration of the call only.
 * - Records cross the boundary as protobuf bytes of the messages in proto/record.proto and
 *   proto/api.proto (package estelik.pb). Input bytes that do not parse are rejected with
 *   ESTELIK_INVALID_ARGUMENT. NULL with length 0 means the empty message.
 * - Strings are NUL-terminated UTF-8. Passphrases are (pointer, length) so a shell can pass the
 *   bytes of a char array it wipes afterwards; Estelik never keeps a copy.
 * - Testimony ids are passed as text: 32 hex digits, or a unique prefix of at least 6. Ids
 *   inside records are the raw 16 bytes. Public keys are 32 raw bytes.
 * - Old names: a call renamed to follow these conventions keeps its old name as a deprecated
 *   alias (ESTELIK_DEPRECATED), listed at the end of this header.
 * - Threading: every function is safe to call from any thread. Calls on one vault handle
 *   (including its attachment writers and readers) are serialized by the handle's mutex, so
 *   they may come from any thread; different handles are independent. A handle must not be
 *   used after (or during) the call that frees it.
 */
#ifndef ESTELIK_H_
#define ESTELIK_H_

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#if defined(ESTELIK_C_BUILDING)
#define ESTELIK_API __declspec(dllexport)
#else
#define ESTELIK_API
#endif
#else
#define ESTELIK_API __attribute__((visibility("default")))
#endif

/* Marks a call kept under an old name: it still works (and stays exported), and compilers warn
 * with the new name. Define ESTELIK_NO_DEPRECATION_WARNINGS to silence them. */
#if defined(ESTELIK_C_BUILDING) || defined(ESTELIK_NO_DEPRECATION_WARNINGS)
#define ESTELIK_DEPRECATED(replacement)
#elif defined(_MSC_VER)
#define ESTELIK_DEPRECATED(replacement) __declspec(deprecated("use " replacement))
#else
#define ESTELIK_DEPRECATED(replacement) __attribute__((deprecated("use " replacement)))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ Version, errors, memory */

#define ESTELIK_VERSION_MAJOR 0
#define ESTELIK_VERSION_MINOR 1
#define ESTELIK_VERSION_PATCH 0

/* "0.1.0": the version of the library actually loaded (static string, never freed). */
ESTELIK_API const char* estelik_version(void);

/* Mirrors estelik::Code (core/status.h); values never change. */
typedef enum estelik_status {
  ESTELIK_OK = 0,
  ESTELIK_INVALID_ARGUMENT = 1, /* the caller passed something malformed */
  ESTELIK_NOT_FOUND = 2,        /* no such vault, testimony, attachment, contact... */
  ESTELIK_ALREADY_EXISTS = 3,   /* refusing to overwrite */
  ESTELIK_WRONG_PASSPHRASE = 4, /* no key slot opens with this passphrase */
  ESTELIK_CORRUPT = 5,          /* authentication failed: corrupt or tampered */
  ESTELIK_IO = 6,               /* the operating system refused (disk full, permission...) */
  ESTELIK_LOCKED = 7,           /* the vault is locked; estelik_vault_unlock needs the passphrase */
  ESTELIK_PERMISSION_DENIED = 8, /* not the author, not in the circle, not the admin */
  ESTELIK_PROTOCOL = 9,          /* a peer broke the protocol */
  ESTELIK_LIMIT_EXCEEDED = 10,   /* a size or rate limit was hit */
  ESTELIK_UNSUPPORTED = 11,      /* a newer format or an unavailable feature */
  ESTELIK_ABORTED = 12,          /* cancelled by the caller, or the handle was closed */
  ESTELIK_INTERNAL = 13          /* a bug in Estelik */
} estelik_status;

/* domain: "estelik" (code is an estelik_status), "sqlite" (code is a SQLite result code) or
 * "os" (code is an errno value); a static string, never freed. Today the engine reports every
 * error in the "estelik" domain. message: what happened, for a person; owned by the error. */
typedef struct estelik_error {
  const char* domain;
  int code;
  char* message;
} estelik_error;

#define ESTELIK_ERROR_INIT \
  { 0, 0, 0 }

/* Frees err->message and zeroes *err. NULL and an already clear error are fine. */
ESTELIK_API void estelik_error_clear(estelik_error* err);

/* "wrong_passphrase": a stable lower-case name (static string, never freed). */
ESTELIK_API const char* estelik_status_name(estelik_status status);

/* Bytes returned by the library (serialized protobuf messages). Free with estelik_buffer_free. */
typedef struct estelik_buffer {
  uint8_t* data;
  size_t size;
} estelik_buffer;

/* Frees buf->data and zeroes *buf. NULL and an empty buffer are fine. */
ESTELIK_API void estelik_buffer_free(estelik_buffer* buf);
/* Frees a string returned by the library. NULL is fine. */
ESTELIK_API void estelik_string_free(char* str);

/* Progress and cancel of a long call (estelik_evidence_export, estelik_testimony_import):
 * on_progress(user_data, done, total) runs on the calling thread, inside the call, with the
 * vault handle held; each call says what it counts. Return 0 to go on; anything else cancels:
 * the call stops before its next chunk or testimony, returns ESTELIK_ABORTED and keeps
 * nothing of its work. The callback must not call functions on the same vault handle, with
 * one exception: estelik_vault_lock, which returns at once (the call then returns
 * ESTELIK_LOCKED). NULL (or a NULL on_progress) for no progress. */
typedef int (*estelik_progress_fn)(void* user_data, uint64_t done, uint64_t total);
typedef struct estelik_progress {
  estelik_progress_fn on_progress;
  void* user_data;
} estelik_progress;

/* ------------------------------------------------------------------ Vault lifecycle */

typedef struct estelik_vault estelik_vault;

/* Argon2id cost of a new vault (kept in its key file, so any device opens it). */
typedef enum estelik_kdf {
  ESTELIK_KDF_MODERATE = 0,    /* desktops: 256 MiB, about a second */
  ESTELIK_KDF_INTERACTIVE = 1, /* phones: 64 MiB, a fraction of a second */
  ESTELIK_KDF_TEST_ONLY = 2    /* the minimum: tests only, never for a real vault */
} estelik_kdf;

/* Process hardening: estelik_vault_create and estelik_vault_open first turn core dumps off for
 * the whole calling process, for good, because an open vault holds plaintext and keys in
 * memory: RLIMIT_CORE soft and hard limits 0 (no core file, and the process and its children
 * cannot raise it again) and, on Linux and Android, prctl(PR_SET_DUMPABLE, 0) (no core even
 * through a core_pattern pipe, no ptrace attach by same-user processes, /proc/<pid>/environ,
 * mem and maps readable only with CAP_SYS_PTRACE). If either call fails the vault is not
 * opened (ESTELIK_IO). On macOS the rlimit is what stops /cores/core.<pid>; there is no
 * dumpable flag (an app may add ptrace(PT_DENY_ATTACH)). On iOS the OS writes no core files;
 * crash reports hold stacks and registers, not the heap. An app must not install a crash
 * reporter that captures heap memory, and should do the same hardening itself before it
 * holds a passphrase. See docs/C_API.md "Process hardening". */

/* Creates a new vault in directory `dir` (created, mode 0700, if missing) and opens it.
 * On success stores a handle the caller frees with estelik_vault_close in *out_vault;
 * on error stores NULL. ESTELIK_ALREADY_EXISTS if `dir` already holds a vault. */
ESTELIK_API estelik_status estelik_vault_create(const char* dir, const char* passphrase,
                                                size_t passphrase_len, estelik_kdf kdf,
                                                estelik_vault** out_vault, estelik_error* err);

/* Opens the vault in `dir`. On success stores a handle (free with estelik_vault_close) in
 * *out_vault; on error stores NULL. ESTELIK_NOT_FOUND if there is no vault,
 * ESTELIK_WRONG_PASSPHRASE if the passphrase opens no key slot (nothing on disk changes).
 * Opening with the duress passphrase silently destroys the real vault and opens a decoy. */
ESTELIK_API estelik_status estelik_vault_open(const char* dir, const char* passphrase,
                                              size_t passphrase_len, estelik_vault** out_vault,
                                              estelik_error* err);

/* Closes the store, wipes every key and frees the handle. Writers still open are discarded and
 * readers stop working: their calls return ESTELIK_ABORTED, and they must still be freed.
 * NULL is fine. */
ESTELIK_API void estelik_vault_close(estelik_vault* vault);

/* Panic-lock: closes the store and wipes every key now; the handle stays valid but every call
 * on it returns ESTELIK_LOCKED until estelik_vault_unlock. Open attachment writers are
 * aborted (nothing of them is kept) and open readers return ESTELIK_LOCKED. Idempotent.
 * Safe from any thread, and it does not wait for a call running on the handle (export,
 * import, search, rebuild): that call stops at its next chunk or row, wipes the keys, returns
 * ESTELIK_LOCKED and leaves nothing half-written (a partial bundle is removed, an import is
 * rolled back); estelik_vault_is_locked already answers 1. An attachment write or read, or a
 * sync step, on another thread is waited for (one chunk). */
ESTELIK_API void estelik_vault_lock(estelik_vault* vault);

/* Reopens a locked handle with its passphrase. ESTELIK_WRONG_PASSPHRASE leaves it locked;
 * on an unlocked handle it checks nothing and returns ESTELIK_OK. */
ESTELIK_API estelik_status estelik_vault_unlock(estelik_vault* vault, const char* passphrase,
                                                size_t passphrase_len, estelik_error* err);

/* 1 if the handle is locked (or NULL), else 0. */
ESTELIK_API int estelik_vault_is_locked(estelik_vault* vault);

/* Re-seals the vault's master key under a new passphrase; the old one stops working.
 * ESTELIK_WRONG_PASSPHRASE if `old_passphrase` is not this vault's. */
ESTELIK_API estelik_status estelik_vault_change_passphrase(estelik_vault* vault,
                                                           const char* old_passphrase,
                                                           size_t old_len,
                                                           const char* new_passphrase,
                                                           size_t new_len, estelik_error* err);

/* Re-key: re-encrypts the whole vault under a fresh random master key and seals that key under
 * `new_passphrase` (NULL with length 0: keep `passphrase`), so an old copy of vault.key opens
 * nothing written before or after. `passphrase` is the current one (a wrong one counts toward
 * the unlock guard: ESTELIK_WRONG_PASSPHRASE). A duress passphrase keeps working unchanged.
 * Identity, history, contacts, circles and sync state stay as they are. Time and space grow with
 * the vault (a full copy of store.db is written beside it). Crash-safe: the vault opens under the
 * old or the new key at every instant (docs/FORMAT.md "Re-key"). ESTELIK_INVALID_ARGUMENT while
 * an attachment writer or reader is open or a sync runs on the handle (close or stop them
 * first), or if `new_passphrase` is this vault's duress passphrase. A panic-lock (from another
 * thread) does not wait for it: before the commit the re-key is undone, after it the vault is
 * under the new key; either way the call returns ESTELIK_LOCKED and the handle is locked. On any
 * other error the vault stays under its old key; if it cannot even be reopened the handle is
 * locked. */
ESTELIK_API estelik_status estelik_vault_rekey(estelik_vault* vault, const char* passphrase,
                                               size_t passphrase_len, const char* new_passphrase,
                                               size_t new_len, estelik_error* err);

/* Makes `duress_passphrase` open a decoy: opening the vault with it destroys every real
 * testimony and shows an empty working vault. A decoy answers this call (and every other) as a
 * real vault does, so the call does not reveal which one the handle is. */
ESTELIK_API estelik_status estelik_vault_set_duress_passphrase(estelik_vault* vault,
                                                               const char* duress_passphrase,
                                                               size_t duress_len,
                                                               estelik_error* err);
/* Removes the duress passphrase. */
ESTELIK_API estelik_status estelik_vault_clear_duress_passphrase(estelik_vault* vault,
                                                                 estelik_error* err);

/* Panic-wipe of the vault in `dir`, no passphrase needed: destroys both key slots (nothing in
 * `dir` can be decrypted afterwards, by anyone holding a copy) and deletes the files. First
 * locks every handle of this process on `dir` (as estelik_vault_lock): their calls then return
 * ESTELIK_LOCKED, and estelik_vault_unlock ESTELIK_NOT_FOUND. ESTELIK_NOT_FOUND if there is no
 * vault. */
ESTELIK_API estelik_status estelik_vault_wipe(const char* dir, estelik_error* err);

/* ------------------------------------------------------------------ Testimonies */

/* Records a new testimony from `fields` (estelik.pb.TestimonyFields bytes). recorded_unix_ms:
 * when the survivor spoke, 0 for now. If out_id is not NULL, stores the new id as 32 lower-case
 * hex digits there (free with estelik_string_free), ready for the calls that take an id; if
 * out_testimony is not NULL, stores the new estelik.pb.Testimony there (free with
 * estelik_buffer_free). */
ESTELIK_API estelik_status estelik_testimony_create(estelik_vault* vault, const uint8_t* fields,
                                                    size_t fields_len, uint64_t recorded_unix_ms,
                                                    char** out_id, estelik_buffer* out_testimony,
                                                    estelik_error* err);

/* Convenience for C: a private testimony with just a language (BCP 47, may be NULL or ""),
 * title and body. If out_id is not NULL, stores the new id as 32 lower-case hex digits
 * (free with estelik_string_free). */
ESTELIK_API estelik_status estelik_testimony_add_simple(estelik_vault* vault, const char* language,
                                                        const char* title, const char* body,
                                                        char** out_id, estelik_error* err);

/* A new version whose content is `fields` as a whole; earlier versions stay in the history.
 * ESTELIK_PERMISSION_DENIED if this identity is not the author. Optional out_testimony as in
 * estelik_testimony_create. */
ESTELIK_API estelik_status estelik_testimony_edit(estelik_vault* vault, const char* testimony_id,
                                                  const uint8_t* fields, size_t fields_len,
                                                  estelik_buffer* out_testimony,
                                                  estelik_error* err);

/* Stores the estelik.pb.Testimony in *out_testimony (free with estelik_buffer_free).
 * ESTELIK_NOT_FOUND if no testimony has that id; ESTELIK_INVALID_ARGUMENT if a prefix is
 * ambiguous or not hex. */
ESTELIK_API estelik_status estelik_testimony_get(estelik_vault* vault, const char* testimony_id,
                                                 estelik_buffer* out_testimony, estelik_error* err);

/* Stores every version (estelik.pb.History, oldest first) in *out_history (free with
 * estelik_buffer_free). */
ESTELIK_API estelik_status estelik_testimony_get_history(estelik_vault* vault,
                                                         const char* testimony_id,
                                                         estelik_buffer* out_history,
                                                         estelik_error* err);

/* Withdraws a testimony: its content is removed everywhere and a tombstone keeps its hash. */
ESTELIK_API estelik_status estelik_testimony_withdraw(estelik_vault* vault,
                                                      const char* testimony_id, estelik_error* err);

/* Lists testimonies, newest first. filter: estelik.pb.ListFilter bytes, page:
 * estelik.pb.PageRequest bytes (either NULL/0 for the default). Stores an
 * estelik.pb.TestimonyPage in *out_page (free with estelik_buffer_free). */
ESTELIK_API estelik_status estelik_testimony_list(estelik_vault* vault, const uint8_t* filter,
                                                  size_t filter_len, const uint8_t* page,
                                                  size_t page_len, estelik_buffer* out_page,
                                                  estelik_error* err);

/* Full-text search. query: estelik.pb.SearchQuery bytes. Stores an estelik.pb.SearchPage in
 * *out_page (free with estelik_buffer_free). Any text is valid; it is never a syntax error. */
ESTELIK_API estelik_status estelik_testimony_search(estelik_vault* vault, const uint8_t* query,
                                                    size_t query_len, estelik_buffer* out_page,
                                                    estelik_error* err);

/* Resolves an id or unique prefix to the full 32 hex digits in *out_id (free with
 * estelik_string_free). */
ESTELIK_API estelik_status estelik_testimony_resolve_id(estelik_vault* vault,
                                                        const char* testimony_id, char** out_id,
                                                        estelik_error* err);

/* Bulk import (`estelik import`): records every line of `jsonl` (the bytes of a JSONL file:
 * one JSON object per line with "language", "title", "body", "tags", "places", "people",
 * "event_date", "event_date_to"; other keys ignored, blank lines skipped) as a new private
 * testimony, in one transaction: all of them or none. ESTELIK_INVALID_ARGUMENT naming the
 * first bad line (nothing imported). `progress` (may be NULL) counts testimonies (total: the
 * records in the file): once with done 0, then after each; a cancel (ESTELIK_ABORTED) or a
 * lock (ESTELIK_LOCKED) leaves the vault as before the call. If out_imported is not NULL,
 * stores how many testimonies were recorded there. */
ESTELIK_API estelik_status estelik_testimony_import(estelik_vault* vault, const uint8_t* jsonl,
                                                    size_t jsonl_len,
                                                    const estelik_progress* progress,
                                                    uint64_t* out_imported, estelik_error* err);

/* ------------------------------------------------------------------ Attachments (streams) */

typedef struct estelik_attachment_writer estelik_attachment_writer;
typedef struct estelik_attachment_reader estelik_attachment_reader;

/* Mirrors estelik.pb.AttachmentKind. */
typedef enum estelik_attachment_kind {
  ESTELIK_ATTACHMENT_GUESS = 0, /* from the media type or name */
  ESTELIK_ATTACHMENT_AUDIO = 1,
  ESTELIK_ATTACHMENT_VIDEO = 2,
  ESTELIK_ATTACHMENT_PHOTO = 3,
  ESTELIK_ATTACHMENT_DOCUMENT = 4
} estelik_attachment_kind;

/* Starts streaming a new attachment into a testimony. name: the file name as the user knows
 * it; media_type: e.g. "audio/mp4", NULL or "" to guess from the name. The attachment becomes
 * visible only when estelik_attachment_finish succeeds. Stores a writer in *out_writer that
 * the caller must end with exactly one of estelik_attachment_finish or estelik_attachment_abort
 * (both free it). */
ESTELIK_API estelik_status estelik_attachment_begin(estelik_vault* vault, const char* testimony_id,
                                                    const char* name, const char* media_type,
                                                    estelik_attachment_kind kind,
                                                    estelik_attachment_writer** out_writer,
                                                    estelik_error* err);

/* Appends bytes (sealed in 64 KiB chunks; memory stays bounded whatever the total size). */
ESTELIK_API estelik_status estelik_attachment_write(estelik_attachment_writer* writer,
                                                    const uint8_t* data, size_t len,
                                                    estelik_error* err);

/* Seals the last chunk and makes the attachment visible, then frees the writer whatever the
 * outcome (on failure nothing becomes visible). If out_info is not NULL, stores the
 * estelik.pb.AttachmentInfo there (free with estelik_buffer_free). */
ESTELIK_API estelik_status estelik_attachment_finish(estelik_attachment_writer* writer,
                                                     estelik_buffer* out_info, estelik_error* err);

/* Discards everything written and frees the writer. NULL is fine. */
ESTELIK_API void estelik_attachment_abort(estelik_attachment_writer* writer);

/* Opens attachment `index` (0-based, in the order added) of a testimony for reading; every
 * chunk is authenticated as it is read. Stores a reader in *out_reader (free with
 * estelik_attachment_close). */
ESTELIK_API estelik_status estelik_attachment_open(estelik_vault* vault, const char* testimony_id,
                                                   size_t index,
                                                   estelik_attachment_reader** out_reader,
                                                   estelik_error* err);

/* Stores the attachment's estelik.pb.AttachmentInfo in *out_info (free with
 * estelik_buffer_free). */
ESTELIK_API estelik_status estelik_attachment_get_info(estelik_attachment_reader* reader,
                                                       estelik_buffer* out_info,
                                                       estelik_error* err);

/* Reads up to `capacity` bytes into `out` and stores how many in *out_read; 0 means the end,
 * where the whole content hash has been checked. ESTELIK_CORRUPT if any byte was altered. */
ESTELIK_API estelik_status estelik_attachment_read(estelik_attachment_reader* reader, uint8_t* out,
                                                   size_t capacity, size_t* out_read,
                                                   estelik_error* err);

/* Stores the attachment's size in bytes (plaintext) in *out_size. */
ESTELIK_API estelik_status estelik_attachment_get_size(estelik_attachment_reader* reader,
                                                       uint64_t* out_size, estelik_error* err);

/* Positional read (media players): copies up to `capacity` bytes starting at byte `offset`
 * into `out` and stores how many in *out_read (fewer only at the end; 0 at or past the end).
 * Only the chunks the range touches are read and authenticated (ESTELIK_CORRUPT, naming the
 * chunk, if one was altered); the whole-content hash is not checked (estelik_attachment_verify,
 * or estelik_attachment_read to the end, does) and estelik_attachment_read's position is kept. */
ESTELIK_API estelik_status estelik_attachment_read_at(estelik_attachment_reader* reader,
                                                      uint64_t offset, uint8_t* out,
                                                      size_t capacity, size_t* out_read,
                                                      estelik_error* err);

/* Reads the whole attachment (independently of estelik_attachment_read's position) and checks
 * every chunk, the chunk count and the content hash. ESTELIK_CORRUPT on any mismatch. */
ESTELIK_API estelik_status estelik_attachment_verify(estelik_attachment_reader* reader,
                                                     estelik_error* err);

/* Frees a reader. NULL is fine. */
ESTELIK_API void estelik_attachment_close(estelik_attachment_reader* reader);

/* ------------------------------------------------------------------ Identity */

#define ESTELIK_PUBLIC_KEY_SIZE 32
#define ESTELIK_CIRCLE_ID_SIZE 32

/* Copies this vault's Ed25519 public key (ESTELIK_PUBLIC_KEY_SIZE bytes) into out_key. */
ESTELIK_API estelik_status estelik_identity_public_key(estelik_vault* vault, uint8_t* out_key,
                                                       estelik_error* err);

/* Stores this identity's fingerprint ("12345 67890 ...", 30 digits) in *out (free with
 * estelik_string_free). */
ESTELIK_API estelik_status estelik_identity_fingerprint(estelik_vault* vault, char** out,
                                                        estelik_error* err);

/* Stores the 83-character QR payload ("ESTELIK:1:...") for this identity in *out (free with
 * estelik_string_free). */
ESTELIK_API estelik_status estelik_identity_qr_payload(estelik_vault* vault, char** out,
                                                       estelik_error* err);

/* Stores the 60-digit safety number of this identity and `peer_key` in *out (free with
 * estelik_string_free); both people see the same number. */
ESTELIK_API estelik_status estelik_identity_safety_number(estelik_vault* vault,
                                                          const uint8_t* peer_key, char** out,
                                                          estelik_error* err);

/* Parses a scanned QR payload strictly into out_key (ESTELIK_PUBLIC_KEY_SIZE bytes).
 * ESTELIK_INVALID_ARGUMENT for anything but the exact format. Needs no vault. */
ESTELIK_API estelik_status estelik_identity_parse_qr(const char* payload, uint8_t* out_key,
                                                     estelik_error* err);

/* ------------------------------------------------------------------ Contacts */

/* Adds (or renames) a contact by public key (ESTELIK_PUBLIC_KEY_SIZE bytes). */
ESTELIK_API estelik_status estelik_contact_add(estelik_vault* vault, const uint8_t* public_key,
                                               const char* name, estelik_error* err);
/* Removes a contact. ESTELIK_NOT_FOUND if it is not one. */
ESTELIK_API estelik_status estelik_contact_remove(estelik_vault* vault, const uint8_t* public_key,
                                                  estelik_error* err);
/* Stores every contact (estelik.pb.ContactList) in *out_list (free with estelik_buffer_free). */
ESTELIK_API estelik_status estelik_contact_list(estelik_vault* vault, estelik_buffer* out_list,
                                                estelik_error* err);

/* ------------------------------------------------------------------ Circles */

/* Creates a circle with this identity as admin and stores its id (ESTELIK_CIRCLE_ID_SIZE
 * bytes) in out_circle_id. */
ESTELIK_API estelik_status estelik_circle_create(estelik_vault* vault, const char* name,
                                                 uint8_t* out_circle_id, estelik_error* err);
/* Adds a member (admin only), who must already be a contact (ESTELIK_INVALID_ARGUMENT
 * otherwise): they receive the current epoch key. */
ESTELIK_API estelik_status estelik_circle_add_member(estelik_vault* vault, const uint8_t* circle_id,
                                                     const uint8_t* member_key, estelik_error* err);
/* Removes a member (admin only): a new epoch starts whose key the removed member never gets. */
ESTELIK_API estelik_status estelik_circle_remove_member(estelik_vault* vault,
                                                        const uint8_t* circle_id,
                                                        const uint8_t* member_key,
                                                        estelik_error* err);
/* Stores the circle (estelik.pb.CircleInfo: name, admin, epoch, members) in *out_circle (free
 * with estelik_buffer_free). ESTELIK_NOT_FOUND if this device does not know it. */
ESTELIK_API estelik_status estelik_circle_get(estelik_vault* vault, const uint8_t* circle_id,
                                              estelik_buffer* out_circle, estelik_error* err);

/* Stores every circle this device knows (estelik.pb.CircleList) in *out_list (free with
 * estelik_buffer_free). */
ESTELIK_API estelik_status estelik_circle_list(estelik_vault* vault, estelik_buffer* out_list,
                                               estelik_error* err);

/* Shares our testimony into a circle we belong to: a new version records the circle as its
 * scope and its members receive it (with its attachments) at the next sync; later edits and a
 * withdrawal follow. ESTELIK_PERMISSION_DENIED if it is not ours or we are not a member. */
ESTELIK_API estelik_status estelik_testimony_share(estelik_vault* vault, const char* testimony_id,
                                                   const uint8_t* circle_id, estelik_error* err);

/* ------------------------------------------------------------------ Tags and annotations
 *
 * Add-wins, each a signed op: on a shared testimony any member of its circle may tag, untag
 * and annotate (the op goes to the circle); on a private one only its author.
 * ESTELIK_PERMISSION_DENIED otherwise; ESTELIK_INVALID_ARGUMENT for an empty or oversized tag
 * or text, or a withdrawn testimony. */

/* Adds `tag` (UTF-8) to a testimony. */
ESTELIK_API estelik_status estelik_testimony_add_tag(estelik_vault* vault, const char* testimony_id,
                                                     const char* tag, estelik_error* err);
/* Removes every add of `tag` this device has seen (one made concurrently elsewhere survives).
 * ESTELIK_NOT_FOUND if nobody added it; ESTELIK_INVALID_ARGUMENT if the tag is in the
 * author's own fields (only an edit changes those). */
ESTELIK_API estelik_status estelik_testimony_remove_tag(estelik_vault* vault,
                                                        const char* testimony_id, const char* tag,
                                                        estelik_error* err);
/* Annotates a testimony with `text` in `language` (a BCP 47 tag; NULL or "" for none). If
 * out_annotation_id is not NULL, stores the new annotation's id as 32 hex digits there (free
 * with estelik_string_free). Annotations come back in the testimony's record. */
ESTELIK_API estelik_status estelik_testimony_annotate(estelik_vault* vault,
                                                      const char* testimony_id, const char* text,
                                                      const char* language,
                                                      char** out_annotation_id, estelik_error* err);

/* ------------------------------------------------------------------ Maintenance */

/* Failed-unlock guard: from now on the `max_failures`-th consecutive wrong passphrase given to
 * any opener of this vault wipes it (0 turns the guard off; at most 1000). Resets the count.
 * Kept outside the encryption because it acts before the key is known (docs/THREAT_MODEL.md). */
ESTELIK_API estelik_status estelik_vault_set_unlock_guard(estelik_vault* vault,
                                                          uint32_t max_failures,
                                                          estelik_error* err);
/* Stores the guard's limit (0 = off) in *out_max_failures. */
ESTELIK_API estelik_status estelik_vault_get_unlock_guard(estelik_vault* vault,
                                                          uint32_t* out_max_failures,
                                                          estelik_error* err);
/* Re-derives every materialized record (testimonies, versions, search index, tags,
 * annotations) from the signed op log, in one transaction, and checks that the result equals
 * the store (`estelik rebuild`). ESTELIK_CORRUPT, changing nothing, if it differs (the store
 * was changed outside the log, or the log lost ops). If out_report is not NULL, stores an
 * estelik.pb.RebuildReport there. Cost: every op and attachment byte; run it on request. */
ESTELIK_API estelik_status estelik_vault_rebuild(estelik_vault* vault, estelik_buffer* out_report,
                                                 estelik_error* err);

/* ------------------------------------------------------------------ Auto-lock */

/* Locks the vault by itself once no call was made on the handle (or its attachment streams)
 * for `seconds`; 0 (the default) turns it off. The check is made at the entry of every call, so
 * the first call after the deadline finds the vault locked (ESTELIK_LOCKED; the keys were
 * wiped before anything ran) exactly as after estelik_vault_lock, running syncs included.
 * Sync traffic is not activity: an idle device locks even while a server answers peers.
 * Shells should also call estelik_vault_tick from a timer so that the keys go even if the app
 * makes no call at all. The setting is stored (encrypted) in the vault, so every later opening
 * applies it too. At most one week (604 800 s): ESTELIK_INVALID_ARGUMENT beyond.
 * ESTELIK_LOCKED on a locked handle. */
ESTELIK_API estelik_status estelik_vault_set_auto_lock(estelik_vault* vault, uint32_t seconds,
                                                       estelik_error* err);
/* Stores the auto-lock setting (seconds, 0 = off) in *out_seconds; on a locked handle, the
 * setting read at its last unlock. */
ESTELIK_API estelik_status estelik_vault_get_auto_lock(estelik_vault* vault, uint32_t* out_seconds,
                                                       estelik_error* err);
/* Applies auto-lock now if it is due (cheap; for a timer, e.g. every few seconds) and returns
 * 1 if the handle is locked afterwards (or NULL), else 0. Does not count as activity. */
ESTELIK_API int estelik_vault_tick(estelik_vault* vault);

/* ------------------------------------------------------------------ Sync
 *
 * Replication with contacts over TCP: a listener answers them, a dial calls one. Only contacts
 * get past the handshake (both sides must have added each other); circles both share
 * converge, private testimonies never leave. Wire format: docs/PROTOCOL.md.
 *
 * Threads: each listener, dial, one-shot sync or LAN browser has its own network thread. The
 * vault handle's mutex is taken by that thread for one step at a time (one batch of ops, one
 * attachment chunk), so app calls on the same handle keep working during a sync and wait at
 * most one step. estelik_vault_lock (and auto-lock, and estelik_vault_close) wipes the keys at
 * once and stops every sync of the handle: sessions end, their keys are wiped, listeners close;
 * the sync handle stays valid (to be freed) but never serves again.
 *
 * Callbacks run on the network thread, never with the vault mutex held, one at a time per
 * sync. They may call any function of this header on any vault, including estelik_sync_stop,
 * estelik_sync_free and estelik_vault_lock on their own sync or vault (those then stop the
 * network just after the callback returns); they should return quickly, since the sync's
 * sessions wait for them. Stopping or freeing a different sync from a callback waits for that
 * sync's thread: never let two syncs' callbacks stop each other. Every pointer in an event is
 * valid only during the callback.
 *
 * Progress: each side of a session (dialer and listener alike) gets one PROGRESS event per
 * step, with the session's stats after it: a batch of ops sent, a batch of ops received and
 * applied, an attachment chunk sent, an attachment chunk stored. So the events whose
 * stats.chunks_sent grew number chunks_sent (each grew it by one), and likewise for
 * chunks_received. Received chunks are stored in runs of up to 32 (one transaction each),
 * and a run's events come together, just after its commit. */

typedef struct estelik_sync estelik_sync;

typedef enum estelik_sync_event_kind {
  ESTELIK_SYNC_SESSION_STARTED = 0,    /* a connection is up; the handshake starts */
  ESTELIK_SYNC_PROGRESS = 1,           /* one step of a session (see "Progress" above) */
  ESTELIK_SYNC_SESSION_ENDED = 2,      /* succeeded / reason / stats say how */
  ESTELIK_SYNC_CONNECTION_REFUSED = 3, /* an inbound connection over a limit was closed */
  ESTELIK_SYNC_DIAL_RETRY = 4,         /* a dial failed (reason) and will be retried */
  ESTELIK_SYNC_PEER_FOUND = 5          /* estelik_sync_browse heard a beacon (peer_address) */
} estelik_sync_event_kind;

/* What one session did so far. Counts are of that session only. */
typedef struct estelik_sync_stats {
  uint64_t ops_received; /* ops in batches from the peer */
  uint64_t ops_accepted; /* of those, new here and applied */
  uint64_t ops_sent;
  uint64_t chunks_wanted; /* attachment chunks we lacked and asked for */
  uint64_t chunks_received;
  uint64_t chunks_sent;
  uint64_t attachment_bytes_received; /* sealed attachment bytes */
  uint64_t attachment_bytes_sent;
  uint64_t bytes_in; /* on the wire */
  uint64_t bytes_out;
  uint32_t circles; /* circles replicated with this peer (joined in this session included) */
  int has_peer;     /* 1 once the handshake authenticated the peer */
  uint8_t peer_key[ESTELIK_PUBLIC_KEY_SIZE];
} estelik_sync_stats;

typedef struct estelik_sync_event {
  estelik_sync_event_kind kind;
  uint64_t session_id;      /* unique within one sync handle; 0 for CONNECTION_REFUSED */
  const char* peer_address; /* "127.0.0.1:53211" (DIAL_RETRY: the host dialled; PEER_FOUND: the
                               address to dial, the beacon's source IP and advertised port) */
  int inbound;              /* 1 if the peer connected to us */
  int succeeded;            /* SESSION_ENDED: 1 if the session completed */
  const char* reason;       /* SESSION_ENDED ("done" or why it failed), REFUSED, RETRY; else "" */
  estelik_sync_stats stats; /* PROGRESS and SESSION_ENDED */
} estelik_sync_event;

typedef void (*estelik_sync_event_fn)(void* user_data, const estelik_sync_event* event);

/* on_event may be NULL; user_data is passed back untouched and must stay valid until the sync
 * is freed (for estelik_sync_once: until it returns). */
typedef struct estelik_sync_callbacks {
  estelik_sync_event_fn on_event;
  void* user_data;
} estelik_sync_callbacks;

/* Zero-initialize (ESTELIK_SYNC_OPTIONS_INIT) and set what you need; NULL options = defaults. */
typedef struct estelik_sync_options {
  /* The community's 32-byte network key (copied; the caller may wipe it after the call), or
   * NULL for the public default, which only separates Estelik from other protocols. Both
   * peers must use the same key. */
  const uint8_t* network_key;
  uint32_t idle_timeout_ms; /* cut a session when nothing moved this long; 0 = 60 000 */
  uint32_t max_sessions;    /* open sessions at once; 0 = 64 */
  uint32_t interval_ms;     /* estelik_sync_dial: pause between rounds; 0 = 60 000 */
  /* Dials only (estelik_sync_once, estelik_sync_dial): the 32-byte public key of the contact
   * whose device is at host_port (copied), or NULL when unknown. A listening device answers
   * only a dialer that names its key (transport v2), so with NULL every contact is tried in
   * turn, one connection each, until one answers (the one that answered goes first in later
   * rounds); ESTELIK_NOT_FOUND "no contact answered at HOST:PORT" if none does. Ignored by
   * estelik_sync_listen. */
  const uint8_t* peer_key;
} estelik_sync_options;

#define ESTELIK_SYNC_OPTIONS_INIT \
  { 0, 0, 0, 0, 0 }

/* Listens on host_port ("127.0.0.1:7420", "0.0.0.0:7420", "[::]:7420"; host an IP literal; port
 * 0 picks a free port, see estelik_sync_port) and answers every contact that connects until
 * stopped. Stores a handle in *out_sync (free with estelik_sync_free); NULL on error.
 * ESTELIK_INVALID_ARGUMENT for a malformed address, ESTELIK_IO if it cannot be bound,
 * ESTELIK_LOCKED if the vault is locked. */
ESTELIK_API estelik_status estelik_sync_listen(estelik_vault* vault, const char* host_port,
                                               const estelik_sync_options* options,
                                               const estelik_sync_callbacks* callbacks,
                                               estelik_sync** out_sync, estelik_error* err);

/* The port a listener (TCP) or browser (UDP) is bound to; 0 for a dial or NULL. Thread-safe. */
ESTELIK_API uint16_t estelik_sync_port(const estelik_sync* sync);

/* Syncs once with the listener at host_port (a name or an IP literal) and returns when the
 * session is over (blocking the calling thread; callbacks run on another thread meanwhile).
 * If out_summary is not NULL, stores what the session did there (even on failure).
 * ESTELIK_IO if it cannot connect, ESTELIK_NOT_FOUND if no contact (or not options->peer_key)
 * answered there (another device, a different network key), ESTELIK_PROTOCOL with the reason
 * if the session failed (e.g. we are not its contact), ESTELIK_LOCKED if the vault was locked
 * or closed before or during it. */
ESTELIK_API estelik_status estelik_sync_once(estelik_vault* vault, const char* host_port,
                                             const estelik_sync_options* options,
                                             const estelik_sync_callbacks* callbacks,
                                             estelik_sync_stats* out_summary, estelik_error* err);

/* estelik_sync_once that the app can cancel: starts the same sync on its own thread and
 * returns at once, storing a handle in *out_sync (free with estelik_sync_free; NULL on error).
 * estelik_sync_wait gives its result; estelik_sync_stop (or _free) cancels it. */
ESTELIK_API estelik_status estelik_sync_start_once(estelik_vault* vault, const char* host_port,
                                                   const estelik_sync_options* options,
                                                   const estelik_sync_callbacks* callbacks,
                                                   estelik_sync** out_sync, estelik_error* err);

/* Blocks until the sync started by estelik_sync_start_once is over and returns what
 * estelik_sync_once would (same summary, same errors), or ESTELIK_ABORTED if estelik_sync_stop
 * cancelled it first: the session stops at its next step (one batch or chunk), and what it
 * stored stays, so the next sync resumes an attachment where this one stopped. May be called
 * again, from any thread, for the same result; ESTELIK_INVALID_ARGUMENT for another kind of
 * sync or from the sync's own callback (it would wait for itself). */
ESTELIK_API estelik_status estelik_sync_wait(estelik_sync* sync, estelik_sync_stats* out_summary,
                                             estelik_error* err);

/* Continuous sync in the background: dials host_port, retrying with backoff until a session
 * completes, waits options->interval_ms, and again, until stopped. Every round reports
 * through the callbacks. Stores a handle in *out_sync (free with estelik_sync_free). */
ESTELIK_API estelik_status estelik_sync_dial(estelik_vault* vault, const char* host_port,
                                             const estelik_sync_options* options,
                                             const estelik_sync_callbacks* callbacks,
                                             estelik_sync** out_sync, estelik_error* err);

/* Stops a listener, dial, one-shot sync (cancelling it) or browser: no new connections, open
 * sessions end (given up to a second to flush), its keys are wiped. Returns once its network
 * thread is gone (from inside its own callback: at once; the network stops just after the
 * callback returns). Idempotent; thread-safe. The handle must still be freed. */
ESTELIK_API estelik_status estelik_sync_stop(estelik_sync* sync, estelik_error* err);

/* Stops (as estelik_sync_stop) and frees a sync. NULL is fine. The vault handle may be closed
 * before or after. Once it returns, no callback of this sync runs any more (called from its own
 * callback: none after that callback), so the callbacks' user_data may be freed. */
ESTELIK_API void estelik_sync_free(estelik_sync* sync);

/* LAN discovery (opt-in, off unless the app calls these; docs/DISCOVERY.md): a listener
 * announces its port in 35-byte encrypted UDP beacons that only holders of the same network key
 * recognise, and a browser reports the beacons it recognises. A beacon is only a hint where to
 * dial: pass peer_address to estelik_sync_once / _start_once (with no peer_key every contact is
 * tried) and the handshake decides who answers. Both stop with their sync (stop, free, lock,
 * close), and their keys are wiped then. Default UDP port: ESTELIK_DISCOVERY_PORT. */
#define ESTELIK_DISCOVERY_PORT 47321

/* Makes the listener `sync` (estelik_sync_listen) announce its port, under its network key,
 * after pauses drawn from [interval_ms / 2, 3 * interval_ms / 2] (0 = 5000), each beacon from a
 * new UDP source port, to UDP `destination` ("HOST:PORT"; NULL = "255.255.255.255:47321", the
 * LAN's broadcast; a multicast group or one address work too) until it stops.
 * ESTELIK_INVALID_ARGUMENT for another kind of sync, a bad address, or a listener under the
 * public default network key (options->network_key NULL: anyone could read its beacons),
 * ESTELIK_ALREADY_EXISTS if it already announces, ESTELIK_LOCKED (vault locked) or
 * ESTELIK_ABORTED (sync stopped) once it no longer serves, ESTELIK_IO if no socket opens. */
ESTELIK_API estelik_status estelik_sync_advertise(estelik_sync* sync, const char* destination,
                                                  uint32_t interval_ms, estelik_error* err);

/* Listens for beacons on UDP `host_port` (NULL = "0.0.0.0:47321"; port 0 picks a free port, see
 * estelik_sync_port) and reports each one made under options->network_key (the other options are
 * ignored) as a PEER_FOUND event on the browser's thread: every beacon, so a peer recurs about
 * every 5 s while it announces. Stores a handle in *out_sync (free with estelik_sync_free; NULL on
 * error). Errors as estelik_sync_listen, and ESTELIK_INVALID_ARGUMENT without a secret
 * options->network_key (discovery never runs under the public default key). */
ESTELIK_API estelik_status estelik_sync_browse(estelik_vault* vault, const char* host_port,
                                               const estelik_sync_options* options,
                                               const estelik_sync_callbacks* callbacks,
                                               estelik_sync** out_sync, estelik_error* err);

/* ------------------------------------------------------------------ Evidence
 *
 * An evidence bundle is a directory that proves, with no vault and no network, who recorded
 * what and when and that no byte changed since (format: docs/FORMAT.md "Evidence bundle").
 * A bundle is PLAINTEXT outside the vault: whoever holds the folder reads every exported
 * testimony and attachment, and neither panic-lock nor estelik_vault_wipe touches it (delete
 * it yourself once handed over). */

/* Exports the `count` testimonies (ids as text, see above; at least one) into a new directory
 * `out_path`, which must not exist. Holds the vault for the whole export (other calls on the
 * handle wait). `progress` (may be NULL) counts attachment bytes copied into the bundle (total:
 * all of them): once with done 0, then after every chunk of at most 64 KiB; a cancel returns
 * ESTELIK_ABORTED. If out_report is not NULL, stores an estelik.pb.ExportReport there (free
 * with estelik_buffer_free). ESTELIK_ALREADY_EXISTS if out_path exists, ESTELIK_NOT_FOUND for
 * an unknown testimony or an attachment not complete on this device, ESTELIK_IO; on any error
 * (a cancel and a lock included) the partial bundle is removed. A withdrawn testimony is
 * exported as its tombstone only. */
ESTELIK_API estelik_status estelik_evidence_export(estelik_vault* vault,
                                                   const char* const* testimony_ids, size_t count,
                                                   const char* out_path,
                                                   const estelik_progress* progress,
                                                   estelik_buffer* out_report, estelik_error* err);

/* Verifies the bundle at bundle_path; needs no vault. expected_exporter: the public key
 * (ESTELIK_PUBLIC_KEY_SIZE bytes) that must have signed the bundle, or NULL to require an
 * author of a testimony in it. ESTELIK_OK if every check passed; ESTELIK_CORRUPT if any
 * failed (the message names the first problem). In both cases, if out_verdict is not NULL,
 * an estelik.pb.Verdict is stored there (ok, every problem, the facts that could be read; free
 * with estelik_buffer_free). ESTELIK_NOT_FOUND / ESTELIK_IO if bundle_path is not a readable
 * directory (out_verdict stays empty). Thread-safe. */
ESTELIK_API estelik_status estelik_evidence_verify(const char* bundle_path,
                                                   const uint8_t* expected_exporter,
                                                   estelik_buffer* out_verdict, estelik_error* err);

/* ------------------------------------------------------------------ Deprecated names
 *
 * Kept exported so that shells built against 0.1 still load; each says what replaced it. */

/* estelik_testimony_create without out_id. */
ESTELIK_DEPRECATED("estelik_testimony_create")
ESTELIK_API estelik_status estelik_testimony_add(estelik_vault* vault, const uint8_t* fields,
                                                 size_t fields_len, uint64_t recorded_unix_ms,
                                                 estelik_buffer* out_testimony, estelik_error* err);

/* estelik_attachment_get_info under its old name. */
ESTELIK_DEPRECATED("estelik_attachment_get_info")
ESTELIK_API estelik_status estelik_attachment_info(estelik_attachment_reader* reader,
                                                   estelik_buffer* out_info, estelik_error* err);

/* estelik_testimony_get_history under its old name. */
ESTELIK_DEPRECATED("estelik_testimony_get_history")
ESTELIK_API estelik_status estelik_testimony_history(estelik_vault* vault, const char* testimony_id,
                                                     estelik_buffer* out_history,
                                                     estelik_error* err);

/* estelik_attachment_get_size under its old name. */
ESTELIK_DEPRECATED("estelik_attachment_get_size")
ESTELIK_API estelik_status estelik_attachment_size(estelik_attachment_reader* reader,
                                                   uint64_t* out_size, estelik_error* err);

/* estelik_evidence_export without progress, whose report is a UTF-8 JSON object (keys in
 * docs/C_API.md "Evidence") instead of an estelik.pb.ExportReport. */
ESTELIK_DEPRECATED("estelik_evidence_export")
ESTELIK_API estelik_status estelik_export(estelik_vault* vault, const char* const* testimony_ids,
                                          size_t count, const char* out_path,
                                          estelik_buffer* out_report, estelik_error* err);

/* estelik_evidence_verify whose verdict is a UTF-8 JSON object (keys in docs/C_API.md
 * "Evidence") instead of an estelik.pb.Verdict. */
ESTELIK_DEPRECATED("estelik_evidence_verify")
ESTELIK_API estelik_status estelik_verify(const char* bundle_path, const uint8_t* expected_exporter,
                                          estelik_buffer* out_verdict, estelik_error* err);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* ESTELIK_H_ */
