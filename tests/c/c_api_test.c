/* The whole C API, end to end, from C (compiled as C99 against libestelik.so): what a shell
 * written in C, Swift or Dart FFI relies on. Records are hand-encoded protobuf, as a shell
 * without protobuf classes would do. Prints "N passed, M failed"; exits non-zero on failure. */
#define _XOPEN_SOURCE 700 /* POSIX 2008 with nftw */

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "estelik.h"

static int passed = 0;
static int failed = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (cond) {                                                                \
      ++passed;                                                                \
    } else {                                                                   \
      ++failed;                                                                \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                          \
  } while (0)

/* Checks that `call` returned `want`; prints the error message otherwise. */
#define EXPECT_STATUS(want, call)                                                           \
  do {                                                                                      \
    estelik_status got_ = (call);                                                           \
    if (got_ == (want)) {                                                                   \
      ++passed;                                                                             \
    } else {                                                                                \
      ++failed;                                                                             \
      fprintf(stderr, "%s:%d: %s returned %s (%s), wanted %s\n", __FILE__, __LINE__, #call, \
              estelik_status_name(got_), err.message ? err.message : "",                    \
              estelik_status_name(want));                                                   \
    }                                                                                       \
    estelik_error_clear(&err);                                                              \
  } while (0)

#define EXPECT_OK(call) EXPECT_STATUS(ESTELIK_OK, call)

static const char kPass[] = "correct horse battery staple";
static estelik_error err = ESTELIK_ERROR_INIT;

/* --- a minimal protobuf encoder/decoder: enough for strings and nested messages --- */

typedef struct {
  uint8_t data[1024];
  size_t size;
} message;

static void put_varint(message* m, uint64_t v) {
  while (v >= 0x80) {
    m->data[m->size++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  m->data[m->size++] = (uint8_t)v;
}

static void put_bytes(message* m, int field, const void* bytes, size_t len) {
  put_varint(m, ((uint64_t)field << 3) | 2); /* wire type 2: length-delimited */
  put_varint(m, len);
  memcpy(m->data + m->size, bytes, len);
  m->size += len;
}

static void put_string(message* m, int field, const char* s) { put_bytes(m, field, s, strlen(s)); }

static int get_varint(const uint8_t** p, const uint8_t* end, uint64_t* v) {
  int shift = 0;
  *v = 0;
  while (*p < end && shift < 64) {
    uint8_t b = *(*p)++;
    *v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) return 1;
    shift += 7;
  }
  return 0;
}

/* Finds occurrence `nth` (0-based) of length-delimited `field`; returns 1 and its bytes. */
static int find_field(const uint8_t* data, size_t size, int field, int nth, const uint8_t** out,
                      size_t* out_len) {
  const uint8_t* p = data;
  const uint8_t* end = data + size;
  while (p < end) {
    uint64_t key, len = 0;
    if (!get_varint(&p, end, &key)) return 0;
    switch (key & 7) {
      case 0: {
        uint64_t ignored;
        if (!get_varint(&p, end, &ignored)) return 0;
        continue;
      }
      case 1:
        p += 8;
        continue;
      case 5:
        p += 4;
        continue;
      case 2:
        if (!get_varint(&p, end, &len) || len > (uint64_t)(end - p)) return 0;
        if ((int)(key >> 3) == field && nth-- == 0) {
          *out = p;
          *out_len = (size_t)len;
          return 1;
        }
        p += len;
        continue;
      default:
        return 0;
    }
  }
  return 0;
}

static int count_field(const uint8_t* data, size_t size, int field) {
  const uint8_t* ignored;
  size_t len;
  int n = 0;
  while (find_field(data, size, field, n, &ignored, &len)) ++n;
  return n;
}

/* The value of varint `field` (its first occurrence), or 0 when absent (proto3's default). */
static uint64_t varint_field(const uint8_t* data, size_t size, int field) {
  const uint8_t* p = data;
  const uint8_t* end = data + size;
  uint64_t key, value;
  while (p < end && get_varint(&p, end, &key)) {
    switch (key & 7) {
      case 0:
        if (!get_varint(&p, end, &value)) return 0;
        if ((int)(key >> 3) == field) return value;
        continue;
      case 1:
        p += 8;
        continue;
      case 5:
        p += 4;
        continue;
      case 2:
        if (!get_varint(&p, end, &value) || value > (uint64_t)(end - p)) return 0;
        p += value;
        continue;
      default:
        return 0;
    }
  }
  return 0;
}

/* 1 if string `field` of the message equals `want`. */
static int field_equals(const uint8_t* data, size_t size, int field, const char* want) {
  const uint8_t* value;
  size_t len;
  return find_field(data, size, field, 0, &value, &len) && len == strlen(want) &&
         memcmp(value, want, len) == 0;
}

static void to_hex(const uint8_t* bytes, size_t len, char* out) {
  static const char digits[] = "0123456789abcdef";
  size_t i;
  for (i = 0; i < len; ++i) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 15];
  }
  out[2 * len] = '\0';
}

/* Title (field 2) of the current fields (field 6) of a serialized Testimony. */
static int testimony_title_is(const estelik_buffer* t, const char* want) {
  const uint8_t* fields;
  size_t len;
  return find_field(t->data, t->size, 6, 0, &fields, &len) && field_equals(fields, len, 2, want);
}

static int exists(const char* path) {
  struct stat st;
  return stat(path, &st) == 0;
}

static int remove_entry(const char* path, const struct stat* st, int flag, struct FTW* ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

/* rm -rf `path`. */
static void remove_tree(const char* path) { nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* 1 if the `len` bytes at `data` contain the NUL-terminated `needle`. */
static int contains(const uint8_t* data, size_t len, const char* needle) {
  size_t n = strlen(needle), i;
  for (i = 0; i + n <= len; ++i) {
    if (memcmp(data + i, needle, n) == 0) return 1;
  }
  return 0;
}

/* --- sync: events counted by a C callback (read after the sync is over, so no race) --- */

typedef struct {
  int started, progress, ended, ended_ok;
  uint64_t ops_received, ops_sent;
  char last_reason[128];
} sync_log;

static void on_sync_event(void* user_data, const estelik_sync_event* event) {
  sync_log* log = (sync_log*)user_data;
  switch (event->kind) {
    case ESTELIK_SYNC_SESSION_STARTED:
      ++log->started;
      break;
    case ESTELIK_SYNC_PROGRESS:
      ++log->progress;
      break;
    case ESTELIK_SYNC_SESSION_ENDED:
      ++log->ended;
      log->ended_ok += event->succeeded;
      log->ops_received += event->stats.ops_received;
      log->ops_sent += event->stats.ops_sent;
      snprintf(log->last_reason, sizeof log->last_reason, "%s", event->reason);
      break;
    default:
      break;
  }
}

/* Two vaults in one process: contacts both ways, a circle, a shared testimony; B syncs once
 * with A's listener on 127.0.0.1:0 and finds the testimony by search. Then a panic-lock of A
 * stops A's running server. */
static void test_sync(const char* root) {
  char dir_a[96], dir_b[96], host_port[64];
  estelik_vault *a = NULL, *b = NULL;
  estelik_sync* server = NULL;
  estelik_sync_stats summary;
  estelik_sync_options options = ESTELIK_SYNC_OPTIONS_INIT;
  estelik_sync_callbacks a_callbacks, b_callbacks;
  sync_log a_log, b_log;
  uint8_t key_a[ESTELIK_PUBLIC_KEY_SIZE], key_b[ESTELIK_PUBLIC_KEY_SIZE];
  uint8_t circle[ESTELIK_CIRCLE_ID_SIZE], network_key[32];
  char* id = NULL;
  estelik_buffer buf = {NULL, 0};
  message query = {{0}, 0};

  memset(&a_log, 0, sizeof a_log);
  memset(&b_log, 0, sizeof b_log);
  memset(network_key, 0x5a, sizeof network_key);
  options.network_key = network_key;
  a_callbacks.on_event = on_sync_event;
  a_callbacks.user_data = &a_log;
  b_callbacks.on_event = on_sync_event;
  b_callbacks.user_data = &b_log;
  snprintf(dir_a, sizeof dir_a, "%s/sync-a", root);
  snprintf(dir_b, sizeof dir_b, "%s/sync-b", root);
  EXPECT_OK(estelik_vault_create(dir_a, kPass, strlen(kPass), ESTELIK_KDF_TEST_ONLY, &a, &err));
  EXPECT_OK(estelik_vault_create(dir_b, kPass, strlen(kPass), ESTELIK_KDF_TEST_ONLY, &b, &err));
  EXPECT_OK(estelik_identity_public_key(a, key_a, &err));
  EXPECT_OK(estelik_identity_public_key(b, key_b, &err));
  EXPECT_OK(estelik_contact_add(a, key_b, "Bolat", &err));
  EXPECT_OK(estelik_contact_add(b, key_a, "Aigerim", &err));
  EXPECT_OK(estelik_circle_create(a, "Zhanaozen witnesses", circle, &err));
  EXPECT_OK(estelik_circle_add_member(a, circle, key_b, &err));
  EXPECT_OK(estelik_testimony_add_simple(a, "en", "Shots on the square",
                                         "At noon the police fired on the strikers in Zhanaozen.",
                                         &id, &err));
  EXPECT_OK(estelik_testimony_share(a, id, circle, &err));

  /* A listens on a free port; B syncs once. */
  EXPECT_OK(estelik_sync_listen(a, "127.0.0.1:0", &options, &a_callbacks, &server, &err));
  CHECK(server != NULL && estelik_sync_port(server) != 0);
  snprintf(host_port, sizeof host_port, "127.0.0.1:%u", (unsigned)estelik_sync_port(server));
  EXPECT_OK(estelik_sync_once(b, host_port, &options, &b_callbacks, &summary, &err));
  CHECK(summary.has_peer && memcmp(summary.peer_key, key_a, sizeof key_a) == 0);
  CHECK(summary.ops_accepted > 0);
  CHECK(summary.bytes_in > 0);
  CHECK(b_log.started == 1 && b_log.ended == 1 && b_log.ended_ok == 1);
  CHECK(b_log.ops_received == summary.ops_received && b_log.progress > 0);

  /* B finds the shared testimony by search. */
  put_string(&query, 1, "strikers");
  EXPECT_OK(estelik_testimony_search(b, query.data, query.size, &buf, &err));
  CHECK(count_field(buf.data, buf.size, 1) == 1);
  {
    const uint8_t* hit;
    size_t hit_len;
    CHECK(find_field(buf.data, buf.size, 1, 0, &hit, &hit_len) &&
          field_equals(hit, hit_len, 6, "Shots on the square"));
  }
  estelik_buffer_free(&buf);

  /* Evidence: A exports the testimony; the bundle verifies with no vault; an added file fails
   * verification with a reason. */
  {
    char bundle[128], extra[160];
    const char* ids[1];
    FILE* f;
    ids[0] = id;
    snprintf(bundle, sizeof bundle, "%s/bundle", root);
    EXPECT_OK(estelik_evidence_export(a, ids, 1, bundle, NULL, &buf, &err));
    /* estelik.pb.ExportReport: testimonies (2) = 1, exporter (8) = A's key. */
    {
      const uint8_t* exporter;
      size_t exporter_len;
      CHECK(varint_field(buf.data, buf.size, 2) == 1);
      CHECK(find_field(buf.data, buf.size, 8, 0, &exporter, &exporter_len) &&
            exporter_len == sizeof key_a && memcmp(exporter, key_a, sizeof key_a) == 0);
    }
    estelik_buffer_free(&buf);
    EXPECT_STATUS(ESTELIK_ALREADY_EXISTS,
                  estelik_evidence_export(a, ids, 1, bundle, NULL, NULL, &err));
    EXPECT_OK(estelik_evidence_verify(bundle, NULL, &buf, &err));
    /* estelik.pb.Verdict: ok (1) true, no problem (2), one testimony (8). */
    CHECK(varint_field(buf.data, buf.size, 1) == 1);
    CHECK(count_field(buf.data, buf.size, 2) == 0 && count_field(buf.data, buf.size, 8) == 1);
    estelik_buffer_free(&buf);
    snprintf(extra, sizeof extra, "%s/extra.txt", bundle);
    f = fopen(extra, "w");
    CHECK(f != NULL);
    if (f != NULL) {
      fputs("planted", f);
      fclose(f);
    }
    CHECK(estelik_evidence_verify(bundle, NULL, &buf, &err) == ESTELIK_CORRUPT);
    CHECK(err.message != NULL && strstr(err.message, "does not verify") != NULL);
    CHECK(varint_field(buf.data, buf.size, 1) == 0 && count_field(buf.data, buf.size, 2) >= 1);
    {
      const uint8_t* problem;
      size_t problem_len;
      CHECK(find_field(buf.data, buf.size, 2, 0, &problem, &problem_len) &&
            contains(problem, problem_len, "extra.txt"));
    }
    estelik_error_clear(&err);
    estelik_buffer_free(&buf);
    remove_tree(bundle);
    EXPECT_STATUS(ESTELIK_NOT_FOUND, estelik_evidence_verify(bundle, NULL, &buf, &err));
    CHECK(buf.data == NULL);
  }

  /* Auto-lock: the setting is kept and read back. */
  {
    uint32_t seconds = 7;
    EXPECT_OK(estelik_vault_set_auto_lock(a, 300, &err));
    EXPECT_OK(estelik_vault_get_auto_lock(a, &seconds, &err));
    CHECK(seconds == 300);
    EXPECT_STATUS(ESTELIK_INVALID_ARGUMENT, estelik_vault_set_auto_lock(a, 700000, &err));
    CHECK(estelik_vault_tick(a) == 0);
    EXPECT_OK(estelik_vault_set_auto_lock(a, 0, &err));
  }

  /* A wrong network key fails the handshake; nothing is received. */
  {
    estelik_sync_options other_net = ESTELIK_SYNC_OPTIONS_INIT;
    CHECK(estelik_sync_once(b, host_port, &other_net, NULL, &summary, &err) != ESTELIK_OK);
    CHECK(err.message != NULL && summary.ops_received == 0);
    estelik_error_clear(&err);
  }

  /* Panic-lock of A while its server runs: the server stops, B can no longer sync. */
  estelik_vault_lock(a);
  CHECK(estelik_vault_is_locked(a));
  CHECK(estelik_sync_once(b, host_port, &options, NULL, &summary, &err) != ESTELIK_OK);
  estelik_error_clear(&err);
  EXPECT_OK(estelik_sync_stop(server, &err)); /* idempotent */
  estelik_sync_free(server);
  CHECK(a_log.ended >= 1 && a_log.ended_ok >= 1);
  EXPECT_STATUS(ESTELIK_LOCKED,
                estelik_sync_listen(a, "127.0.0.1:0", &options, NULL, &server, &err));
  CHECK(server == NULL);
  EXPECT_STATUS(ESTELIK_INVALID_ARGUMENT,
                estelik_sync_listen(b, "127.0.0.1", &options, NULL, &server, &err));

  estelik_string_free(id);
  estelik_vault_close(a);
  estelik_vault_close(b);
  EXPECT_OK(estelik_vault_wipe(dir_a, &err));
  EXPECT_OK(estelik_vault_wipe(dir_b, &err));
  rmdir(dir_a);
  rmdir(dir_b);
}

/* Messages an app can show, and a decoy that cannot be told from a real vault (#15). */
static void test_messages_and_decoy(const char* root) {
  char dir[96];
  estelik_vault* vault = NULL;
  estelik_vault* second = NULL;
  estelik_attachment_reader* reader = NULL;
  estelik_buffer buf = {NULL, 0};
  message fields = {{0}, 0};
  char hex_id[33];
  const uint8_t* id;
  size_t id_len;
  snprintf(dir, sizeof dir, "%s/messages", root);

  /* No CLI advice in the API's words. */
  CHECK(estelik_vault_open(dir, kPass, strlen(kPass), &vault, &err) == ESTELIK_NOT_FOUND);
  CHECK(err.message != NULL && strstr(err.message, "estelik init") == NULL);
  /* A success clears what an earlier failure left in the error. */
  EXPECT_OK(estelik_vault_create(dir, kPass, strlen(kPass), ESTELIK_KDF_TEST_ONLY, &vault, &err));
  CHECK(estelik_testimony_get(vault, "00000000000000000000000000000000", &buf, &err) ==
        ESTELIK_NOT_FOUND);
  CHECK(err.message != NULL);
  put_string(&fields, 1, "en");
  put_string(&fields, 2, "Night shift");
  CHECK(estelik_testimony_create(vault, fields.data, fields.size, 0, NULL, &buf, &err) ==
        ESTELIK_OK);
  CHECK(err.message == NULL && err.code == 0);
  CHECK(find_field(buf.data, buf.size, 1, 0, &id, &id_len) && id_len == 16);
  to_hex(id, 16, hex_id);
  estelik_buffer_free(&buf);
  /* Attachment indexes are the API's own: counted from 0. */
  CHECK(estelik_attachment_open(vault, hex_id, 0, &reader, &err) == ESTELIK_NOT_FOUND);
  CHECK(err.message != NULL && strstr(err.message, "index 0") != NULL);
  estelik_error_clear(&err);
  /* A second handle on an open vault: the vault is in use, not a SQLite message. */
  CHECK(estelik_vault_open(dir, kPass, strlen(kPass), &second, &err) != ESTELIK_OK);
  CHECK(second == NULL && err.message != NULL && strstr(err.message, "in use") != NULL &&
        strstr(err.message, "database is locked") == NULL);
  estelik_error_clear(&err);
  EXPECT_OK(estelik_vault_set_duress_passphrase(vault, "innocent", 8, &err));
  estelik_vault_close(vault);
  vault = NULL;

  /* The decoy behaves like a real vault through every call, duress settings included. */
  EXPECT_OK(estelik_vault_open(dir, "innocent", 8, &vault, &err));
  EXPECT_STATUS(ESTELIK_NOT_FOUND, estelik_testimony_get(vault, hex_id, &buf, &err));
  EXPECT_OK(estelik_vault_set_duress_passphrase(vault, "second decoy", 12, &err));
  EXPECT_OK(estelik_vault_clear_duress_passphrase(vault, &err));
  EXPECT_OK(estelik_testimony_create(vault, fields.data, fields.size, 0, NULL, &buf, &err));
  estelik_buffer_free(&buf);
  estelik_vault_close(vault);
  EXPECT_OK(estelik_vault_wipe(dir, &err));
}

/* What the CLI can do, an app can: tags, annotations, the unlock guard, rebuild (#15). */
static void test_parity(const char* root) {
  char dir[96];
  estelik_vault* vault = NULL;
  estelik_buffer buf = {NULL, 0};
  char* id = NULL;
  char* annotation = NULL;
  uint32_t guard = 7;
  snprintf(dir, sizeof dir, "%s/parity", root);
  EXPECT_OK(estelik_vault_create(dir, kPass, strlen(kPass), ESTELIK_KDF_TEST_ONLY, &vault, &err));
  EXPECT_OK(
      estelik_testimony_add_simple(vault, "en", "Roadblock", "Soldiers at the exit.", &id, &err));

  EXPECT_OK(estelik_testimony_add_tag(vault, id, "roadblock-2022", &err));
  EXPECT_OK(estelik_testimony_annotate(vault, id, "seen by two others", "en", &annotation, &err));
  CHECK(annotation != NULL && strlen(annotation) == 32);
  EXPECT_OK(estelik_testimony_get(vault, id, &buf, &err));
  CHECK(contains(buf.data, buf.size, "roadblock-2022"));
  CHECK(contains(buf.data, buf.size, "seen by two others"));
  estelik_buffer_free(&buf);
  EXPECT_OK(estelik_testimony_remove_tag(vault, id, "roadblock-2022", &err));
  EXPECT_STATUS(ESTELIK_NOT_FOUND, estelik_testimony_remove_tag(vault, id, "never-added", &err));
  EXPECT_STATUS(ESTELIK_INVALID_ARGUMENT, estelik_testimony_add_tag(vault, id, "", &err));
  EXPECT_OK(estelik_testimony_get(vault, id, &buf, &err));
  CHECK(!contains(buf.data, buf.size, "roadblock-2022"));
  estelik_buffer_free(&buf);

  EXPECT_OK(estelik_vault_get_unlock_guard(vault, &guard, &err));
  CHECK(guard == 0);
  EXPECT_OK(estelik_vault_set_unlock_guard(vault, 5, &err));
  EXPECT_OK(estelik_vault_get_unlock_guard(vault, &guard, &err));
  CHECK(guard == 5);
  EXPECT_STATUS(ESTELIK_INVALID_ARGUMENT, estelik_vault_set_unlock_guard(vault, 100000, &err));

  /* Rebuild re-derives the same state from the log: before and after hashes are equal. */
  EXPECT_OK(estelik_vault_rebuild(vault, &buf, &err));
  {
    const uint8_t *before, *after;
    size_t before_len, after_len;
    CHECK(find_field(buf.data, buf.size, 1, 0, &before, &before_len) && before_len == 32);
    CHECK(find_field(buf.data, buf.size, 2, 0, &after, &after_len) && after_len == 32);
    CHECK(before_len == after_len && memcmp(before, after, 32) == 0);
  }
  estelik_buffer_free(&buf);
  estelik_string_free(annotation);
  estelik_string_free(id);
  estelik_vault_close(vault);
  EXPECT_OK(estelik_vault_wipe(dir, &err));
}

/* --- panic-lock and panic-wipe against a handle in use (issue #15) --- */

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* --- progress callbacks: a recording one, one that cancels, one that meets a lock --- */

typedef struct {
  int calls;
  int cancel_at; /* cancel on this call (1-based); 0: never */
  int monotonic; /* 1 while every `done` was >= the one before and <= total */
  uint64_t first_done, last_done, total;
} progress_log;

static int on_progress(void* user_data, uint64_t done, uint64_t total) {
  progress_log* log = (progress_log*)user_data;
  if (log->calls == 0) {
    log->monotonic = 1;
    log->first_done = done;
  } else if (done < log->last_done || total != log->total) {
    log->monotonic = 0;
  }
  if (done > total) log->monotonic = 0;
  ++log->calls;
  log->last_done = done;
  log->total = total;
  return log->calls == log->cancel_at ? 1 : 0;
}

/* A rendezvous between a long call's progress callback (on the call's thread) and the main
 * thread, which locks the vault while the callback waits: the lock lands inside the call,
 * whatever the machine's load. The callback waits at most `timeout_s` for the lock to return,
 * so a lock that waited for the call fails the test instead of hanging it. */
typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cond;
  int in_call;   /* the callback is running (set on its first call) */
  int lock_done; /* estelik_vault_lock has returned */
  int timed_out; /* the callback gave up waiting for the lock */
  int calls;
  int timeout_s;
} lock_rendezvous;

static void rendezvous_init(lock_rendezvous* r, int timeout_s) {
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->cond, NULL);
  r->in_call = r->lock_done = r->timed_out = r->calls = 0;
  r->timeout_s = timeout_s;
}

static void rendezvous_destroy(lock_rendezvous* r) {
  pthread_cond_destroy(&r->cond);
  pthread_mutex_destroy(&r->mu);
}

static int on_progress_meet_lock(void* user_data, uint64_t done, uint64_t total) {
  lock_rendezvous* r = (lock_rendezvous*)user_data;
  struct timespec deadline;
  (void)done;
  (void)total;
  pthread_mutex_lock(&r->mu);
  if (r->calls++ == 0) {
    r->in_call = 1;
    pthread_cond_broadcast(&r->cond);
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += r->timeout_s;
    while (!r->lock_done && !r->timed_out) {
      if (pthread_cond_timedwait(&r->cond, &r->mu, &deadline) != 0 && !r->lock_done) {
        r->timed_out = 1;
      }
    }
  }
  pthread_mutex_unlock(&r->mu);
  return 0; /* never cancels: the lock alone must stop the call */
}

/* On the main thread: waits until the call is in its callback, locks the vault, tells the
 * callback, and returns how long the lock took (ms); -1 if the call never reached it. */
static double lock_inside_call(lock_rendezvous* r, estelik_vault* vault) {
  struct timespec deadline;
  double t0, lock_ms;
  pthread_mutex_lock(&r->mu);
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 60;
  while (!r->in_call) {
    if (pthread_cond_timedwait(&r->cond, &r->mu, &deadline) != 0) break;
  }
  if (!r->in_call) {
    pthread_mutex_unlock(&r->mu);
    return -1;
  }
  pthread_mutex_unlock(&r->mu);
  t0 = now_ms();
  estelik_vault_lock(vault); /* the callback is still waiting: the lock must not wait for it */
  lock_ms = now_ms() - t0;
  pthread_mutex_lock(&r->mu);
  r->lock_done = 1;
  pthread_cond_broadcast(&r->cond);
  pthread_mutex_unlock(&r->mu);
  return lock_ms;
}

typedef struct {
  estelik_vault* vault;
  const char* id;
  const char* out;
  estelik_progress progress;
  estelik_status status;
} export_job;

static void* run_export(void* arg) {
  export_job* job = (export_job*)arg;
  estelik_error e = ESTELIK_ERROR_INIT;
  job->status =
      estelik_evidence_export(job->vault, &job->id, 1, job->out, &job->progress, NULL, &e);
  estelik_error_clear(&e);
  return NULL;
}

/* A vault in `dir` holding one testimony (its id in *out_id) with a `mib` MiB attachment. */
static estelik_vault* vault_with_recording(const char* dir, size_t mib, char** out_id) {
  estelik_vault* vault = NULL;
  estelik_attachment_writer* writer = NULL;
  const size_t piece_size = 1 << 20;
  uint8_t* piece = (uint8_t*)malloc(piece_size);
  size_t i;
  EXPECT_OK(estelik_vault_create(dir, kPass, strlen(kPass), ESTELIK_KDF_TEST_ONLY, &vault, &err));
  EXPECT_OK(estelik_testimony_add_simple(vault, "en", "Recording", "A long one.", out_id, &err));
  EXPECT_OK(estelik_attachment_begin(vault, *out_id, "night.m4a", NULL, ESTELIK_ATTACHMENT_GUESS,
                                     &writer, &err));
  for (i = 0; i < piece_size; ++i) piece[i] = (uint8_t)(i * 2654435761u >> 13);
  for (i = 0; i < mib; ++i) EXPECT_OK(estelik_attachment_write(writer, piece, piece_size, &err));
  free(piece);
  EXPECT_OK(estelik_attachment_finish(writer, NULL, &err));
  return vault;
}

/* estelik_vault_lock pressed while estelik_evidence_export streams a large attachment into the
 * bundle. The progress callback holds the export at its first chunk until the lock has
 * returned, so the lock lands inside the export on any machine: the lock does not wait for
 * the export, which then returns LOCKED and leaves no bundle. */
static void test_lock_during_export(const char* root) {
  char dir[96], out[96];
  estelik_vault* vault = NULL;
  char* id = NULL;
  const size_t mib = 32;
  export_job job;
  lock_rendezvous meet;
  pthread_t thread;
  double export_ms, t0, lock_ms;

  snprintf(dir, sizeof dir, "%s/lock-export", root);
  vault = vault_with_recording(dir, mib, &id);

  /* The baseline: the whole export, uninterrupted. */
  snprintf(out, sizeof out, "%s/bundle-whole", root);
  t0 = now_ms();
  EXPECT_OK(estelik_evidence_export(vault, (const char* const*)&id, 1, out, NULL, NULL, &err));
  export_ms = now_ms() - t0;
  CHECK(exists(out));
  remove_tree(out);

  snprintf(out, sizeof out, "%s/bundle-locked", root);
  rendezvous_init(&meet, 20);
  job.vault = vault;
  job.id = id;
  job.out = out;
  job.progress.on_progress = on_progress_meet_lock;
  job.progress.user_data = &meet;
  job.status = ESTELIK_OK;
  CHECK(pthread_create(&thread, NULL, run_export, &job) == 0);
  lock_ms = lock_inside_call(&meet, vault);
  pthread_join(thread, NULL);
  printf("export of %zu MiB: %.1f ms; lock pressed during it returned in %.1f ms\n", mib, export_ms,
         lock_ms);
  CHECK(lock_ms >= 0);    /* the export reached its progress callback */
  CHECK(!meet.timed_out); /* the lock returned while the export waited in its callback */
  CHECK(job.status == ESTELIK_LOCKED);
  CHECK(meet.calls == 1); /* it stopped at the chunk after the lock */
  CHECK(!exists(out));    /* no partial bundle, no plaintext left behind */
  CHECK(estelik_vault_is_locked(vault));
  rendezvous_destroy(&meet);

  /* Unlocked again, the same export runs to the end. */
  EXPECT_OK(estelik_vault_unlock(vault, kPass, strlen(kPass), &err));
  EXPECT_OK(estelik_evidence_export(vault, (const char* const*)&id, 1, out, NULL, NULL, &err));
  CHECK(exists(out));
  remove_tree(out);

  estelik_string_free(id);
  estelik_vault_close(vault);
  EXPECT_OK(estelik_vault_wipe(dir, &err));
}

/* Export progress counts attachment bytes from 0 to their total; a non-zero answer cancels:
 * ABORTED, and the partial bundle is gone. */
static void test_export_progress_and_cancel(const char* root) {
  char dir[96], out[96];
  estelik_vault* vault = NULL;
  char* id = NULL;
  const size_t mib = 2;
  progress_log log;
  estelik_progress progress;
  estelik_buffer report = {NULL, 0};

  snprintf(dir, sizeof dir, "%s/export-progress", root);
  snprintf(out, sizeof out, "%s/bundle-progress", root);
  vault = vault_with_recording(dir, mib, &id);
  progress.on_progress = on_progress;
  progress.user_data = &log;

  memset(&log, 0, sizeof log);
  EXPECT_OK(
      estelik_evidence_export(vault, (const char* const*)&id, 1, out, &progress, &report, &err));
  CHECK(log.first_done == 0 && log.monotonic);
  CHECK(log.total == (uint64_t)mib << 20 && log.last_done == log.total);
  CHECK(log.calls == 1 + (int)((mib << 20) / 65536));    /* 0, then every 64 KiB chunk */
  CHECK(varint_field(report.data, report.size, 4) == 1); /* ExportReport.attachments */
  estelik_buffer_free(&report);
  remove_tree(out);

  /* Cancelled at the third call: ABORTED, no bundle, no report. */
  memset(&log, 0, sizeof log);
  log.cancel_at = 3;
  EXPECT_STATUS(ESTELIK_ABORTED, estelik_evidence_export(vault, (const char* const*)&id, 1, out,
                                                         &progress, &report, &err));
  CHECK(log.calls == 3 && !exists(out) && report.data == NULL);
  /* Cancelled before the first byte (the call with done 0) too. */
  memset(&log, 0, sizeof log);
  log.cancel_at = 1;
  EXPECT_STATUS(ESTELIK_ABORTED, estelik_evidence_export(vault, (const char* const*)&id, 1, out,
                                                         &progress, NULL, &err));
  CHECK(log.calls == 1 && !exists(out));
  CHECK(!estelik_vault_is_locked(vault)); /* a cancel is not a lock */

  estelik_string_free(id);
  estelik_vault_close(vault);
  EXPECT_OK(estelik_vault_wipe(dir, &err));
}

/* --- import (`estelik import`): all or nothing, with progress, cancel and lock --- */

static const char kJsonl[] =
    "{\"id\": \"t-1\", \"language\": \"en\", \"title\": \"The bridge\", \"body\": \"They "
    "stopped the bus.\", \"tags\": [\"checkpoint\"], \"event_date\": \"2011-12-16\"}\n"
    "\n"
    "{\"language\": \"ru\", \"title\": \"Площадь\", \"body\": \"Стреляли в полдень.\"}\n"
    "{\"title\": \"Third\", \"body\": \"A third account.\", \"unknown_key\": 1}\n";

/* How many testimonies the vault lists (the first page holds them all here). */
static int testimony_count(estelik_vault* vault) {
  estelik_buffer page = {NULL, 0};
  int n = -1;
  if (estelik_testimony_list(vault, NULL, 0, NULL, 0, &page, &err) == ESTELIK_OK) {
    n = count_field(page.data, page.size, 1);
  }
  estelik_error_clear(&err);
  estelik_buffer_free(&page);
  return n;
}

typedef struct {
  estelik_vault* vault;
  estelik_progress progress;
  estelik_status status;
} import_job;

static void* run_import(void* arg) {
  import_job* job = (import_job*)arg;
  estelik_error e = ESTELIK_ERROR_INIT;
  job->status = estelik_testimony_import(job->vault, (const uint8_t*)kJsonl, strlen(kJsonl),
                                         &job->progress, NULL, &e);
  estelik_error_clear(&e);
  return NULL;
}

static void test_import(const char* root) {
  char dir[96];
  estelik_vault* vault = NULL;
  uint64_t imported = 99;
  progress_log log;
  estelik_progress progress;
  estelik_buffer page = {NULL, 0};
  message query = {{0}, 0};
  static const char kBadLine[] = "{\"title\": \"ok\"}\n{\"title\": 5\n";

  snprintf(dir, sizeof dir, "%s/import", root);
  EXPECT_OK(estelik_vault_create(dir, kPass, strlen(kPass), ESTELIK_KDF_TEST_ONLY, &vault, &err));
  progress.on_progress = on_progress;
  progress.user_data = &log;

  /* A bad line anywhere imports nothing, and the message names the line. */
  CHECK(estelik_testimony_import(vault, (const uint8_t*)kBadLine, strlen(kBadLine), NULL, &imported,
                                 &err) == ESTELIK_INVALID_ARGUMENT);
  CHECK(err.message != NULL && strstr(err.message, "line 2") != NULL && imported == 0);
  estelik_error_clear(&err);
  CHECK(testimony_count(vault) == 0);

  /* Cancelled after the second testimony: ABORTED, and the vault is as before. */
  memset(&log, 0, sizeof log);
  log.cancel_at = 3; /* calls: done 0, 1, 2 */
  EXPECT_STATUS(ESTELIK_ABORTED,
                estelik_testimony_import(vault, (const uint8_t*)kJsonl, strlen(kJsonl), &progress,
                                         &imported, &err));
  CHECK(log.calls == 3 && log.last_done == 2 && imported == 0);
  CHECK(testimony_count(vault) == 0);

  /* Locked from inside the import: LOCKED, and after unlock nothing of it is there. */
  {
    import_job job;
    lock_rendezvous meet;
    pthread_t thread;
    double lock_ms;
    rendezvous_init(&meet, 20);
    job.vault = vault;
    job.progress.on_progress = on_progress_meet_lock;
    job.progress.user_data = &meet;
    job.status = ESTELIK_OK;
    CHECK(pthread_create(&thread, NULL, run_import, &job) == 0);
    lock_ms = lock_inside_call(&meet, vault);
    pthread_join(thread, NULL);
    CHECK(lock_ms >= 0 && !meet.timed_out);
    CHECK(job.status == ESTELIK_LOCKED && meet.calls == 1);
    CHECK(estelik_vault_is_locked(vault));
    rendezvous_destroy(&meet);
    EXPECT_OK(estelik_vault_unlock(vault, kPass, strlen(kPass), &err));
    CHECK(testimony_count(vault) == 0);
  }

  /* The whole file: three testimonies (the blank line skipped), progress 0..3. */
  memset(&log, 0, sizeof log);
  EXPECT_OK(estelik_testimony_import(vault, (const uint8_t*)kJsonl, strlen(kJsonl), &progress,
                                     &imported, &err));
  CHECK(imported == 3);
  CHECK(log.calls == 4 && log.first_done == 0 && log.last_done == 3 && log.total == 3 &&
        log.monotonic);
  CHECK(testimony_count(vault) == 3);
  put_string(&query, 1, "Стреляли");
  EXPECT_OK(estelik_testimony_search(vault, query.data, query.size, &page, &err));
  CHECK(count_field(page.data, page.size, 1) == 1);
  estelik_buffer_free(&page);
  /* NULL progress and out_imported are fine; an empty file imports nothing. */
  EXPECT_OK(estelik_testimony_import(vault, NULL, 0, NULL, NULL, &err));
  CHECK(testimony_count(vault) == 3);

  estelik_vault_close(vault);
  EXPECT_OK(estelik_vault_wipe(dir, &err));
}

/* The old names still work, with their old results (JSON for export and verify). */
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif
static void test_deprecated_names(const char* root) {
  char dir[96], bundle[128];
  estelik_vault* vault = NULL;
  estelik_attachment_writer* writer = NULL;
  estelik_attachment_reader* reader = NULL;
  estelik_buffer buf = {NULL, 0};
  message fields = {{0}, 0};
  const uint8_t* raw_id;
  size_t raw_len;
  char hex_id[33];
  const char* ids[1];

  snprintf(dir, sizeof dir, "%s/deprecated", root);
  snprintf(bundle, sizeof bundle, "%s/bundle-deprecated", root);
  EXPECT_OK(estelik_vault_create(dir, kPass, strlen(kPass), ESTELIK_KDF_TEST_ONLY, &vault, &err));
  put_string(&fields, 2, "Old names");
  EXPECT_OK(estelik_testimony_add(vault, fields.data, fields.size, 0, &buf, &err));
  CHECK(find_field(buf.data, buf.size, 1, 0, &raw_id, &raw_len) && raw_len == 16);
  to_hex(raw_id, 16, hex_id);
  estelik_buffer_free(&buf);
  EXPECT_OK(estelik_attachment_begin(vault, hex_id, "note.txt", NULL, ESTELIK_ATTACHMENT_GUESS,
                                     &writer, &err));
  EXPECT_OK(estelik_attachment_write(writer, (const uint8_t*)"hello", 5, &err));
  EXPECT_OK(estelik_attachment_finish(writer, NULL, &err));
  EXPECT_OK(estelik_attachment_open(vault, hex_id, 0, &reader, &err));
  EXPECT_OK(estelik_attachment_info(reader, &buf, &err));
  CHECK(field_equals(buf.data, buf.size, 3, "note.txt"));
  estelik_buffer_free(&buf);
  {
    uint64_t size = 0;
    EXPECT_OK(estelik_attachment_size(reader, &size, &err));
    CHECK(size == 5);
  }
  estelik_attachment_close(reader);
  EXPECT_OK(estelik_testimony_history(vault, hex_id, &buf, &err));
  CHECK(count_field(buf.data, buf.size, 1) == 1); /* History.versions */
  estelik_buffer_free(&buf);

  ids[0] = hex_id;
  EXPECT_OK(estelik_export(vault, ids, 1, bundle, &buf, &err));
  CHECK(contains(buf.data, buf.size, "\"testimonies\":1"));
  estelik_buffer_free(&buf);
  EXPECT_OK(estelik_verify(bundle, NULL, &buf, &err));
  CHECK(contains(buf.data, buf.size, "\"ok\":true"));
  estelik_buffer_free(&buf);
  remove_tree(bundle);

  estelik_vault_close(vault);
  EXPECT_OK(estelik_vault_wipe(dir, &err));
}
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

/* estelik_vault_wipe with a handle still open and unlocked: the handle is locked first, so
 * nothing more can be written with the keys it held; unlock then finds no vault. */
static void test_wipe_locks_open_handles(const char* root) {
  char dir[96], dir_spelled[128];
  estelik_vault* vault = NULL;
  char* id = NULL;

  snprintf(dir, sizeof dir, "%s/wipe-open", root);
  /* Another spelling of the same folder: the wipe still finds the handle. */
  snprintf(dir_spelled, sizeof dir_spelled, "%s/./wipe-open/", root);
  EXPECT_OK(estelik_vault_create(dir, kPass, strlen(kPass), ESTELIK_KDF_TEST_ONLY, &vault, &err));
  EXPECT_OK(estelik_testimony_add_simple(vault, "en", "Before", "kept until the wipe", &id, &err));
  estelik_string_free(id);
  id = NULL;

  EXPECT_OK(estelik_vault_wipe(dir_spelled, &err));
  CHECK(!exists(dir));
  CHECK(estelik_vault_is_locked(vault));
  EXPECT_STATUS(ESTELIK_LOCKED,
                estelik_testimony_add_simple(vault, "en", "After", "must not land", &id, &err));
  CHECK(id == NULL);
  {
    estelik_status s = estelik_vault_unlock(vault, kPass, strlen(kPass), &err);
    CHECK(s == ESTELIK_NOT_FOUND);
    CHECK(err.message != NULL && strstr(err.message, "gone") != NULL);
    estelik_error_clear(&err);
  }
  CHECK(!exists(dir)); /* unlock did not create anything */
  estelik_vault_close(vault);
}

/* --- sync progress, cancel and LAN discovery (issue #15 items 5 and 6) --- */

#define MAX_SESSIONS 8

/* What the PROGRESS events of each session (by session_id % MAX_SESSIONS) said: chunk steps
 * counted, and every event that was not exactly one step after the one before. Written by the
 * callback (one at a time per sync), read once the sync is over or stopped. */
typedef struct {
  estelik_sync_stats prev[MAX_SESSIONS];
  uint64_t chunk_sent_steps[MAX_SESSIONS], chunk_stored_steps[MAX_SESSIONS];
  int bad_steps;
  estelik_sync_stats ended[MAX_SESSIONS];
  uint64_t last_ended; /* session_id of the last SESSION_ENDED */
} step_log;

static void on_step(void* user_data, const estelik_sync_event* event) {
  step_log* log = (step_log*)user_data;
  size_t i = (size_t)(event->session_id % MAX_SESSIONS);
  const estelik_sync_stats* p = &log->prev[i];
  const estelik_sync_stats* s = &event->stats;
  if (event->kind == ESTELIK_SYNC_PROGRESS) {
    int grew = (s->ops_sent != p->ops_sent) + (s->ops_received != p->ops_received) +
               (s->chunks_sent != p->chunks_sent) + (s->chunks_received != p->chunks_received);
    int chunk_sent = s->chunks_sent == p->chunks_sent + 1;
    int chunk_stored = s->chunks_received == p->chunks_received + 1;
    if (grew != 1 || (s->chunks_sent != p->chunks_sent && !chunk_sent) ||
        (s->chunks_received != p->chunks_received && !chunk_stored)) {
      ++log->bad_steps;
    }
    log->chunk_sent_steps[i] += (uint64_t)chunk_sent;
    log->chunk_stored_steps[i] += (uint64_t)chunk_stored;
    log->prev[i] = *s;
  } else if (event->kind == ESTELIK_SYNC_SESSION_ENDED) {
    log->ended[i] = *s;
    log->last_ended = event->session_id;
  }
}

/* Cancels its own one-shot sync once 40 chunks are stored. `sync` is set by the thread that
 * started the sync, under `mu`, while the callback may already run. */
typedef struct {
  pthread_mutex_t mu;
  estelik_sync* sync;
  int stopped;
} canceller;

static void cancel_after_40_chunks(void* user_data, const estelik_sync_event* event) {
  canceller* c = (canceller*)user_data;
  if (event->kind != ESTELIK_SYNC_PROGRESS || event->stats.chunks_received < 40) return;
  pthread_mutex_lock(&c->mu);
  if (!c->stopped && estelik_sync_stop(c->sync, NULL) == ESTELIK_OK) c->stopped = 1;
  pthread_mutex_unlock(&c->mu);
}

/* The first address a browser reported, and how many beacons it heard. */
typedef struct {
  pthread_mutex_t mu;
  char address[64];
  int heard;
} finder;

static void on_peer_found(void* user_data, const estelik_sync_event* event) {
  finder* f = (finder*)user_data;
  if (event->kind != ESTELIK_SYNC_PEER_FOUND) return;
  pthread_mutex_lock(&f->mu);
  if (f->heard++ == 0) snprintf(f->address, sizeof f->address, "%s", event->peer_address);
  pthread_mutex_unlock(&f->mu);
}

/* Polls (about every millisecond, up to 20 s) until the finder heard a beacon. */
static int wait_for_peer(finder* f) {
  const struct timespec ms = {0, 1000000};
  double deadline = now_ms() + 20000.0;
  for (;;) {
    int heard;
    pthread_mutex_lock(&f->mu);
    heard = f->heard;
    pthread_mutex_unlock(&f->mu);
    if (heard > 0) return 1;
    if (now_ms() > deadline) return 0;
    nanosleep(&ms, NULL);
  }
}

/* B finds A on the "LAN" (beacons to 127.0.0.1: broadcast on loopback is not dependable on CI
 * machines), starts a one-shot sync of a 100-chunk attachment and cancels it after 40 chunks
 * (ABORTED), then syncs again: only the missing chunks come, one PROGRESS event per chunk sent
 * on A and per chunk stored on B, and both ends report the same numbers. */
static void test_discover_cancel_progress(const char* root) {
  const uint64_t chunks = 100;
  char dir_a[96], dir_b[96], to_browser[64], a_address[64];
  estelik_vault *a = NULL, *b = NULL;
  estelik_sync *server = NULL, *browser = NULL;
  estelik_sync_options options = ESTELIK_SYNC_OPTIONS_INIT;
  estelik_sync_callbacks a_callbacks, b_callbacks, cancel_callbacks, find_callbacks;
  estelik_sync_stats first, second, a_end;
  step_log a_log, b_log;
  canceller cancel;
  finder found;
  estelik_attachment_writer* writer = NULL;
  estelik_attachment_reader* reader = NULL;
  uint8_t key_a[ESTELIK_PUBLIC_KEY_SIZE], key_b[ESTELIK_PUBLIC_KEY_SIZE];
  uint8_t circle[ESTELIK_CIRCLE_ID_SIZE], network_key[32];
  uint8_t* chunk;
  char* id = NULL;
  uint64_t i;

  memset(&a_log, 0, sizeof a_log);
  memset(&b_log, 0, sizeof b_log);
  memset(&cancel, 0, sizeof cancel);
  memset(&found, 0, sizeof found);
  pthread_mutex_init(&cancel.mu, NULL);
  pthread_mutex_init(&found.mu, NULL);
  memset(network_key, 0x33, sizeof network_key);
  options.network_key = network_key;
  a_callbacks.on_event = on_step;
  a_callbacks.user_data = &a_log;
  b_callbacks.on_event = on_step;
  b_callbacks.user_data = &b_log;
  cancel_callbacks.on_event = cancel_after_40_chunks;
  cancel_callbacks.user_data = &cancel;
  find_callbacks.on_event = on_peer_found;
  find_callbacks.user_data = &found;
  snprintf(dir_a, sizeof dir_a, "%s/lan-a", root);
  snprintf(dir_b, sizeof dir_b, "%s/lan-b", root);
  EXPECT_OK(estelik_vault_create(dir_a, kPass, strlen(kPass), ESTELIK_KDF_TEST_ONLY, &a, &err));
  EXPECT_OK(estelik_vault_create(dir_b, kPass, strlen(kPass), ESTELIK_KDF_TEST_ONLY, &b, &err));
  EXPECT_OK(estelik_identity_public_key(a, key_a, &err));
  EXPECT_OK(estelik_identity_public_key(b, key_b, &err));
  EXPECT_OK(estelik_contact_add(a, key_b, "Bolat", &err));
  EXPECT_OK(estelik_contact_add(b, key_a, "Aigerim", &err));
  EXPECT_OK(estelik_circle_create(a, "Hearing", circle, &err));
  EXPECT_OK(estelik_circle_add_member(a, circle, key_b, &err));
  EXPECT_OK(
      estelik_testimony_add_simple(a, "kk", "Court hearing", "Recorded in the hall.", &id, &err));
  EXPECT_OK(estelik_testimony_share(a, id, circle, &err));
  EXPECT_OK(estelik_attachment_begin(a, id, "hearing.m4a", NULL, ESTELIK_ATTACHMENT_GUESS, &writer,
                                     &err));
  chunk = (uint8_t*)malloc(65536);
  for (i = 0; i < chunks; ++i) {
    size_t j;
    for (j = 0; j < 65536; ++j) chunk[j] = (uint8_t)((i * 131 + j) >> 3);
    EXPECT_OK(estelik_attachment_write(writer, chunk, 65536, &err));
  }
  free(chunk);
  EXPECT_OK(estelik_attachment_finish(writer, NULL, &err));

  /* A listens and announces itself to B's browser; B hears A's TCP address. */
  EXPECT_OK(estelik_sync_listen(a, "127.0.0.1:0", &options, &a_callbacks, &server, &err));
  EXPECT_OK(estelik_sync_browse(b, "127.0.0.1:0", &options, &find_callbacks, &browser, &err));
  snprintf(a_address, sizeof a_address, "127.0.0.1:%u", (unsigned)estelik_sync_port(server));
  snprintf(to_browser, sizeof to_browser, "127.0.0.1:%u", (unsigned)estelik_sync_port(browser));
  EXPECT_OK(estelik_sync_advertise(server, to_browser, 20, &err));
  CHECK(wait_for_peer(&found));
  CHECK(strcmp(found.address, a_address) == 0);
  estelik_sync_free(browser);

  /* A one-shot sync there, cancelled from its callback after 40 chunks. */
  pthread_mutex_lock(&cancel.mu);
  EXPECT_OK(
      estelik_sync_start_once(b, found.address, &options, &cancel_callbacks, &cancel.sync, &err));
  pthread_mutex_unlock(&cancel.mu);
  EXPECT_STATUS(ESTELIK_ABORTED, estelik_sync_wait(cancel.sync, &first, &err));
  estelik_sync_free(cancel.sync);
  CHECK(cancel.stopped == 1);
  CHECK(first.chunks_received >= 40 && first.chunks_received < chunks);
  CHECK(!estelik_vault_is_locked(b));

  /* The next sync resumes: only the missing chunks, one event per chunk on each side. */
  EXPECT_OK(estelik_sync_once(b, found.address, &options, &b_callbacks, &second, &err));
  CHECK(second.chunks_received == chunks - first.chunks_received);
  CHECK(b_log.chunk_stored_steps[b_log.last_ended % MAX_SESSIONS] == second.chunks_received);
  CHECK(b_log.bad_steps == 0);
  EXPECT_OK(estelik_sync_stop(server, &err)); /* A's events are all in */
  a_end = a_log.ended[a_log.last_ended % MAX_SESSIONS];
  CHECK(a_log.chunk_sent_steps[a_log.last_ended % MAX_SESSIONS] == a_end.chunks_sent);
  CHECK(a_log.bad_steps == 0);
  CHECK(a_end.chunks_sent == second.chunks_received);
  CHECK(a_end.attachment_bytes_sent == second.attachment_bytes_received);
  CHECK(a_end.ops_sent == second.ops_received && a_end.ops_received == second.ops_sent);
  CHECK(a_end.circles == 1 && second.circles == 1);
  EXPECT_OK(estelik_attachment_open(b, id, 0, &reader, &err));
  EXPECT_OK(estelik_attachment_verify(reader, &err));
  estelik_attachment_close(reader);

  /* A stopped listener announces nothing any more. */
  CHECK(estelik_sync_advertise(server, to_browser, 20, &err) != ESTELIK_OK);
  estelik_error_clear(&err);
  estelik_sync_free(server);
  pthread_mutex_destroy(&cancel.mu);
  pthread_mutex_destroy(&found.mu);
  estelik_string_free(id);
  estelik_vault_close(a);
  estelik_vault_close(b);
  EXPECT_OK(estelik_vault_wipe(dir_a, &err));
  EXPECT_OK(estelik_vault_wipe(dir_b, &err));
}

int main(void) {
  char root[] = "/tmp/estelik-c-api-XXXXXX";
  char dir[64], dir_b[64];
  estelik_vault* vault = NULL;
  estelik_vault* other = NULL;
  estelik_buffer buf = {NULL, 0};
  char hex_id[33];
  char* simple_id = NULL;
  message fields = {{0}, 0};
  size_t i;

  if (mkdtemp(root) == NULL) return 2;
  snprintf(dir, sizeof dir, "%s/vault", root);
  snprintf(dir_b, sizeof dir_b, "%s/other", root);
  CHECK(strcmp(estelik_version(), "0.1.0") == 0);
  CHECK(strcmp(estelik_status_name(ESTELIK_WRONG_PASSPHRASE), "wrong_passphrase") == 0);

  /* Create, and refuse to create over it. */
  EXPECT_OK(estelik_vault_create(dir, kPass, strlen(kPass), ESTELIK_KDF_TEST_ONLY, &vault, &err));
  CHECK(vault != NULL && !estelik_vault_is_locked(vault));
  {
    estelik_vault* again = (estelik_vault*)1;
    EXPECT_STATUS(
        ESTELIK_ALREADY_EXISTS,
        estelik_vault_create(dir, kPass, strlen(kPass), ESTELIK_KDF_TEST_ONLY, &again, &err));
    CHECK(again == NULL);
  }

  /* Add through the real API: TestimonyFields as protobuf bytes. */
  put_string(&fields, 1, "en");
  put_string(&fields, 2, "Checkpoint at the bridge");
  put_string(&fields, 3, "They stopped the bus at the bridge and took our passports.");
  {
    const uint8_t* id;
    size_t id_len;
    char* created_id = NULL;
    EXPECT_OK(
        estelik_testimony_create(vault, fields.data, fields.size, 0, &created_id, &buf, &err));
    CHECK(find_field(buf.data, buf.size, 1, 0, &id, &id_len) && id_len == 16);
    to_hex(id, 16, hex_id);
    /* The id comes back as text too, the form every call takes. */
    CHECK(created_id != NULL && strcmp(created_id, hex_id) == 0);
    CHECK(testimony_title_is(&buf, "Checkpoint at the bridge"));
    estelik_string_free(created_id);
  }
  estelik_buffer_free(&buf);
  CHECK(buf.data == NULL && buf.size == 0);

  /* Malformed bytes are rejected with a message and change nothing. */
  {
    const uint8_t truncated[] = {0x12, 0x40, 'a'};
    char* no_id = (char*)1;
    estelik_status s =
        estelik_testimony_create(vault, truncated, sizeof truncated, 0, &no_id, &buf, &err);
    CHECK(no_id == NULL);
    CHECK(s == ESTELIK_INVALID_ARGUMENT);
    CHECK(err.domain != NULL && strcmp(err.domain, "estelik") == 0);
    CHECK(err.code == ESTELIK_INVALID_ARGUMENT);
    CHECK(err.message != NULL && strstr(err.message, "TestimonyFields") != NULL);
    CHECK(buf.data == NULL);
    estelik_error_clear(&err);
    CHECK(err.message == NULL);
  }

  /* The convenience path. */
  EXPECT_OK(estelik_testimony_add_simple(vault, "ru", "Ночь в подвале", "Нас держали трое суток.",
                                         &simple_id, &err));
  CHECK(simple_id != NULL && strlen(simple_id) == 32);

  /* Get by full id and by prefix; list sees both. */
  EXPECT_OK(estelik_testimony_get(vault, hex_id, &buf, &err));
  CHECK(testimony_title_is(&buf, "Checkpoint at the bridge"));
  estelik_buffer_free(&buf);
  {
    char prefix[9];
    char* resolved = NULL;
    memcpy(prefix, simple_id, 8);
    prefix[8] = '\0';
    EXPECT_OK(estelik_testimony_get(vault, prefix, &buf, &err));
    CHECK(testimony_title_is(&buf, "Ночь в подвале"));
    estelik_buffer_free(&buf);
    EXPECT_OK(estelik_testimony_resolve_id(vault, prefix, &resolved, &err));
    CHECK(resolved != NULL && strcmp(resolved, simple_id) == 0);
    estelik_string_free(resolved);
  }
  EXPECT_STATUS(ESTELIK_NOT_FOUND,
                estelik_testimony_get(vault, "00000000000000000000000000000000", &buf, &err));
  EXPECT_OK(estelik_testimony_list(vault, NULL, 0, NULL, 0, &buf, &err));
  CHECK(count_field(buf.data, buf.size, 1) == 2);
  estelik_buffer_free(&buf);

  /* Edit makes version 2; history keeps both. */
  fields.size = 0;
  put_string(&fields, 1, "en");
  put_string(&fields, 2, "Checkpoint at the river bridge");
  put_string(&fields, 3, "They stopped the bus at the river bridge.");
  EXPECT_OK(estelik_testimony_edit(vault, hex_id, fields.data, fields.size, NULL, &err));
  EXPECT_OK(estelik_testimony_get_history(vault, hex_id, &buf, &err));
  CHECK(count_field(buf.data, buf.size, 1) == 2);
  estelik_buffer_free(&buf);

  /* Search: SearchQuery{text: "river"}. */
  {
    message query = {{0}, 0};
    const uint8_t* hit;
    size_t hit_len;
    put_string(&query, 1, "river");
    EXPECT_OK(estelik_testimony_search(vault, query.data, query.size, &buf, &err));
    CHECK(count_field(buf.data, buf.size, 1) == 1);
    CHECK(find_field(buf.data, buf.size, 1, 0, &hit, &hit_len) &&
          field_equals(hit, hit_len, 6, "Checkpoint at the river bridge"));
    estelik_buffer_free(&buf);
  }

  /* Attachments as streams: 200 000 bytes in odd-sized pieces, read back and verified. */
  {
    enum { kSize = 200000 };
    uint8_t* data = malloc(kSize);
    uint8_t* back = malloc(kSize + 4096);
    size_t got = 0, n = 0;
    estelik_attachment_writer* writer = NULL;
    estelik_attachment_reader* reader = NULL;
    for (i = 0; i < kSize; ++i) data[i] = (uint8_t)(i * 7 + i / 251);
    EXPECT_OK(estelik_attachment_begin(vault, hex_id, "interview.m4a", NULL,
                                       ESTELIK_ATTACHMENT_GUESS, &writer, &err));
    for (i = 0; i < kSize; i += 9973) {
      size_t piece = kSize - i < 9973 ? kSize - i : 9973;
      EXPECT_OK(estelik_attachment_write(writer, data + i, piece, &err));
    }
    EXPECT_OK(estelik_attachment_finish(writer, &buf, &err));
    CHECK(field_equals(buf.data, buf.size, 4, "audio/mp4"));
    estelik_buffer_free(&buf);

    EXPECT_OK(estelik_attachment_open(vault, hex_id, 0, &reader, &err));
    EXPECT_OK(estelik_attachment_get_info(reader, &buf, &err));
    CHECK(field_equals(buf.data, buf.size, 3, "interview.m4a"));
    estelik_buffer_free(&buf);
    do {
      EXPECT_OK(estelik_attachment_read(reader, back + got, 4096, &n, &err));
      got += n;
    } while (n > 0 && got <= kSize);
    CHECK(got == kSize && memcmp(back, data, kSize) == 0);
    EXPECT_OK(estelik_attachment_verify(reader, &err));
    estelik_attachment_close(reader);

    /* Positional reads (a media player seeking): each range equals the sequential content,
     * across chunk boundaries and in any order; the end gives fewer bytes, then 0. */
    EXPECT_OK(estelik_attachment_open(vault, hex_id, 0, &reader, &err));
    {
      static const uint64_t offsets[] = {150000, 0, 65530, 131000, 199990, 7, 65536};
      uint64_t size = 0;
      size_t k;
      EXPECT_OK(estelik_attachment_get_size(reader, &size, &err));
      CHECK(size == kSize);
      for (k = 0; k < sizeof offsets / sizeof offsets[0]; ++k) {
        size_t want = kSize - offsets[k] < 70000 ? (size_t)(kSize - offsets[k]) : 70000;
        memset(back, 0, 70000);
        EXPECT_OK(estelik_attachment_read_at(reader, offsets[k], back, 70000, &n, &err));
        CHECK(n == want && memcmp(back, data + offsets[k], want) == 0);
      }
      EXPECT_OK(estelik_attachment_read_at(reader, kSize, back, 100, &n, &err));
      CHECK(n == 0);
      n = 5;
      EXPECT_OK(estelik_attachment_read_at(reader, (uint64_t)-1, back, 100, &n, &err));
      CHECK(n == 0);
      EXPECT_STATUS(ESTELIK_INVALID_ARGUMENT,
                    estelik_attachment_read_at(reader, 0, NULL, 100, &n, &err));
      EXPECT_STATUS(ESTELIK_INVALID_ARGUMENT,
                    estelik_attachment_read_at(reader, 0, back, 100, NULL, &err));
      EXPECT_STATUS(ESTELIK_INVALID_ARGUMENT, estelik_attachment_get_size(reader, NULL, &err));
      /* The sequential position is untouched: read still starts at byte 0. */
      EXPECT_OK(estelik_attachment_read(reader, back, 10, &n, &err));
      CHECK(n == 10 && memcmp(back, data, 10) == 0);
    }
    estelik_attachment_close(reader);
    reader = NULL;

    /* An aborted writer leaves nothing. */
    EXPECT_OK(estelik_attachment_begin(vault, hex_id, "draft.txt", "text/plain",
                                       ESTELIK_ATTACHMENT_DOCUMENT, &writer, &err));
    EXPECT_OK(estelik_attachment_write(writer, data, 1000, &err));
    estelik_attachment_abort(writer);
    EXPECT_STATUS(ESTELIK_NOT_FOUND, estelik_attachment_open(vault, hex_id, 1, &reader, &err));
    CHECK(reader == NULL);
    free(data);
    free(back);
  }

  /* Identity, contacts and circles between two vaults. */
  EXPECT_OK(estelik_vault_create(dir_b, kPass, strlen(kPass), ESTELIK_KDF_TEST_ONLY, &other, &err));
  {
    uint8_t key[ESTELIK_PUBLIC_KEY_SIZE], other_key[ESTELIK_PUBLIC_KEY_SIZE];
    uint8_t parsed[ESTELIK_PUBLIC_KEY_SIZE], circle[ESTELIK_CIRCLE_ID_SIZE];
    char *fingerprint = NULL, *qr = NULL, *safety = NULL, *safety_back = NULL;
    EXPECT_OK(estelik_identity_public_key(vault, key, &err));
    EXPECT_OK(estelik_identity_public_key(other, other_key, &err));
    CHECK(memcmp(key, other_key, sizeof key) != 0);
    EXPECT_OK(estelik_identity_fingerprint(vault, &fingerprint, &err));
    CHECK(fingerprint != NULL && strlen(fingerprint) == 35);
    EXPECT_OK(estelik_identity_qr_payload(other, &qr, &err));
    CHECK(qr != NULL && strlen(qr) == 83 && strncmp(qr, "ESTELIK:1:", 10) == 0);
    EXPECT_OK(estelik_identity_parse_qr(qr, parsed, &err));
    CHECK(memcmp(parsed, other_key, sizeof parsed) == 0);
    EXPECT_STATUS(ESTELIK_INVALID_ARGUMENT,
                  estelik_identity_parse_qr("ESTELIK:1:00", parsed, &err));
    EXPECT_OK(estelik_identity_safety_number(vault, other_key, &safety, &err));
    EXPECT_OK(estelik_identity_safety_number(other, key, &safety_back, &err));
    CHECK(safety && safety_back && strcmp(safety, safety_back) == 0);

    EXPECT_OK(estelik_contact_add(vault, parsed, "Aigerim", &err));
    EXPECT_OK(estelik_contact_list(vault, &buf, &err));
    CHECK(count_field(buf.data, buf.size, 1) == 1);
    {
      const uint8_t* contact;
      size_t len;
      CHECK(find_field(buf.data, buf.size, 1, 0, &contact, &len) &&
            field_equals(contact, len, 2, "Aigerim"));
    }
    estelik_buffer_free(&buf);
    EXPECT_OK(estelik_contact_remove(vault, parsed, &err));
    EXPECT_STATUS(ESTELIK_NOT_FOUND, estelik_contact_remove(vault, parsed, &err));

    EXPECT_OK(estelik_circle_create(vault, "Family", circle, &err));
    EXPECT_STATUS(ESTELIK_INVALID_ARGUMENT, /* a member must be a contact first */
                  estelik_circle_add_member(vault, circle, other_key, &err));
    EXPECT_OK(estelik_contact_add(vault, other_key, "Aigerim", &err));
    EXPECT_OK(estelik_circle_add_member(vault, circle, other_key, &err));
    EXPECT_OK(estelik_circle_list(vault, &buf, &err));
    CHECK(count_field(buf.data, buf.size, 1) == 1);
    estelik_buffer_free(&buf);
    EXPECT_OK(estelik_testimony_share(vault, hex_id, circle, &err));
    EXPECT_OK(estelik_testimony_get(vault, hex_id, &buf, &err));
    {
      const uint8_t* current;
      const uint8_t* shared_into;
      size_t len, id_len;
      CHECK(find_field(buf.data, buf.size, 6, 0, &current, &len) &&
            find_field(current, len, 9, 0, &shared_into, &id_len) &&
            id_len == ESTELIK_CIRCLE_ID_SIZE && memcmp(shared_into, circle, id_len) == 0);
    }
    estelik_buffer_free(&buf);
    EXPECT_OK(estelik_circle_get(vault, circle, &buf, &err));
    CHECK(field_equals(buf.data, buf.size, 2, "Family"));
    CHECK(count_field(buf.data, buf.size, 5) == 2);
    estelik_buffer_free(&buf);
    EXPECT_OK(estelik_circle_remove_member(vault, circle, other_key, &err));
    EXPECT_OK(estelik_circle_get(vault, circle, &buf, &err));
    CHECK(count_field(buf.data, buf.size, 5) == 1);
    estelik_buffer_free(&buf);
    /* Only the admin's device can change the circle. */
    CHECK(estelik_circle_add_member(other, circle, key, &err) != ESTELIK_OK);
    estelik_error_clear(&err);

    estelik_string_free(fingerprint);
    estelik_string_free(qr);
    estelik_string_free(safety);
    estelik_string_free(safety_back);
  }

  /* Withdraw. */
  EXPECT_OK(estelik_testimony_withdraw(vault, simple_id, &err));
  EXPECT_OK(estelik_testimony_get(vault, simple_id, &buf, &err));
  CHECK(!testimony_title_is(&buf, "Ночь в подвале"));
  estelik_buffer_free(&buf);

  /* Wrong passphrase: code and message, and the vault still opens. */
  {
    estelik_vault* wrong = (estelik_vault*)1;
    CHECK(estelik_vault_open(dir, "guess", 5, &wrong, &err) == ESTELIK_WRONG_PASSPHRASE);
    CHECK(wrong == NULL && err.code == ESTELIK_WRONG_PASSPHRASE && err.message != NULL);
    estelik_error_clear(&err);
  }

  /* Panic-lock: everything answers LOCKED, including an open reader, until unlock. */
  {
    estelik_attachment_reader* reader = NULL;
    uint8_t byte;
    size_t n = 0;
    EXPECT_OK(estelik_attachment_open(vault, hex_id, 0, &reader, &err));
    estelik_vault_lock(vault);
    CHECK(estelik_vault_is_locked(vault));
    EXPECT_STATUS(ESTELIK_LOCKED, estelik_testimony_get(vault, hex_id, &buf, &err));
    EXPECT_STATUS(ESTELIK_LOCKED, estelik_attachment_read(reader, &byte, 1, &n, &err));
    EXPECT_STATUS(ESTELIK_LOCKED, estelik_attachment_read_at(reader, 10, &byte, 1, &n, &err));
    CHECK(n == 0);
    {
      uint64_t size = 1;
      EXPECT_STATUS(ESTELIK_LOCKED, estelik_attachment_get_size(reader, &size, &err));
      CHECK(size == 0);
    }
    estelik_attachment_close(reader);
    EXPECT_STATUS(ESTELIK_WRONG_PASSPHRASE, estelik_vault_unlock(vault, "guess", 5, &err));
    CHECK(estelik_vault_is_locked(vault));
    EXPECT_OK(estelik_vault_unlock(vault, kPass, strlen(kPass), &err));
    EXPECT_OK(estelik_testimony_get(vault, hex_id, &buf, &err));
    CHECK(testimony_title_is(&buf, "Checkpoint at the river bridge"));
    estelik_buffer_free(&buf);
  }

  /* Change passphrase; duress set and clear; reopen with the new passphrase. */
  EXPECT_STATUS(ESTELIK_WRONG_PASSPHRASE,
                estelik_vault_change_passphrase(vault, "guess", 5, "new one", 7, &err));
  EXPECT_OK(estelik_vault_change_passphrase(vault, kPass, strlen(kPass), "new one", 7, &err));
  EXPECT_OK(estelik_vault_set_duress_passphrase(vault, "duress", 6, &err));
  EXPECT_OK(estelik_vault_clear_duress_passphrase(vault, &err));
  estelik_vault_close(vault);
  vault = NULL;
  EXPECT_STATUS(ESTELIK_WRONG_PASSPHRASE,
                estelik_vault_open(dir, kPass, strlen(kPass), &vault, &err));
  EXPECT_OK(estelik_vault_open(dir, "new one", 7, &vault, &err));
  EXPECT_OK(estelik_testimony_get(vault, hex_id, &buf, &err));
  estelik_buffer_free(&buf);

  /* Re-key under a third passphrase: the handle keeps working; only that passphrase opens. */
  EXPECT_STATUS(ESTELIK_WRONG_PASSPHRASE,
                estelik_vault_rekey(vault, "guess", 5, "third one", 9, &err));
  EXPECT_OK(estelik_vault_rekey(vault, "new one", 7, "third one", 9, &err));
  EXPECT_OK(estelik_testimony_get(vault, hex_id, &buf, &err));
  CHECK(testimony_title_is(&buf, "Checkpoint at the river bridge"));
  estelik_buffer_free(&buf);
  estelik_vault_close(vault);
  vault = NULL;
  EXPECT_STATUS(ESTELIK_WRONG_PASSPHRASE, estelik_vault_open(dir, "new one", 7, &vault, &err));
  EXPECT_OK(estelik_vault_open(dir, "third one", 9, &vault, &err));
  EXPECT_OK(estelik_testimony_get(vault, hex_id, &buf, &err));
  estelik_buffer_free(&buf);
  estelik_vault_close(vault);
  estelik_vault_close(other);

  /* Wipe, no passphrase: the vault is gone. */
  EXPECT_OK(estelik_vault_wipe(dir, &err));
  EXPECT_OK(estelik_vault_wipe(dir_b, &err));
  CHECK(!exists(dir));
  EXPECT_STATUS(ESTELIK_NOT_FOUND, estelik_vault_open(dir, "new one", 7, &vault, &err));
  EXPECT_STATUS(ESTELIK_NOT_FOUND, estelik_vault_wipe(dir, &err));

  /* NULL handles and frees are harmless. */
  estelik_vault_close(NULL);
  estelik_buffer_free(NULL);
  estelik_error_clear(NULL);
  EXPECT_STATUS(ESTELIK_INVALID_ARGUMENT, estelik_testimony_get(NULL, hex_id, &buf, &err));

  estelik_string_free(simple_id);
  test_wipe_locks_open_handles(root);
  test_lock_during_export(root);
  test_export_progress_and_cancel(root);
  test_import(root);
  test_deprecated_names(root);
  test_sync(root);
  test_discover_cancel_progress(root);
  test_messages_and_decoy(root);
  test_parity(root);
  rmdir(dir);
  rmdir(dir_b);
  rmdir(root);
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
