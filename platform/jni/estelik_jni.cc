// JNI glue: org.estelik.Native over the C API (estelik.h), and nothing else. Every string
// crosses as a UTF-8 byte[] (JNI's "modified UTF-8" would mangle emoji and NUL); records cross
// as protobuf byte[]; a failed call throws org.estelik.EstelikException(code, domain, message).
// Handles are C pointers stored in Java longs. No engine logic lives here.
#include <jni.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "estelik.h"  // as an app includes it (estelik_shared exports the directory)

namespace {

// The bytes of a Java byte[] (NULL becomes empty), NUL-terminated for the C API. Wiped on
// destruction, since passphrases travel this way.
class JBytes {
 public:
  JBytes(JNIEnv* env, jbyteArray array) {
    jsize len = array == nullptr ? 0 : env->GetArrayLength(array);
    bytes_.resize(static_cast<size_t>(len) + 1, '\0');
    if (len > 0) env->GetByteArrayRegion(array, 0, len, reinterpret_cast<jbyte*>(bytes_.data()));
  }
  ~JBytes() {
    volatile char* p = bytes_.data();
    for (size_t i = 0; i < bytes_.size(); ++i) p[i] = 0;
  }
  JBytes(const JBytes&) = delete;
  JBytes& operator=(const JBytes&) = delete;

  const char* c_str() const { return bytes_.data(); }
  const uint8_t* data() const { return reinterpret_cast<const uint8_t*>(bytes_.data()); }
  size_t size() const { return bytes_.size() - 1; }

 private:
  std::vector<char> bytes_;
};

// An estelik_error that is always cleared.
struct Error {
  estelik_error e = ESTELIK_ERROR_INIT;
  ~Error() { estelik_error_clear(&e); }
};

// Throws org.estelik.EstelikException(code, domain, message). `message` is UTF-8; it is decoded
// by java.lang.String, since NewStringUTF expects modified UTF-8 (wrong for emoji).
void ThrowMessage(JNIEnv* env, int code, const char* domain, const std::string& message) {
  jclass cls = env->FindClass("org/estelik/EstelikException");
  if (cls == nullptr) return;  // NoClassDefFoundError is pending
  jmethodID ctor = env->GetMethodID(cls, "<init>", "(ILjava/lang/String;Ljava/lang/String;)V");
  jclass string_cls = env->FindClass("java/lang/String");
  if (ctor == nullptr || string_cls == nullptr) return;
  jmethodID string_ctor = env->GetMethodID(string_cls, "<init>", "([BLjava/lang/String;)V");
  jbyteArray bytes = env->NewByteArray(static_cast<jsize>(message.size()));
  if (string_ctor == nullptr || bytes == nullptr) return;
  env->SetByteArrayRegion(bytes, 0, static_cast<jsize>(message.size()),
                          reinterpret_cast<const jbyte*>(message.data()));
  jstring charset = env->NewStringUTF("UTF-8");
  jstring jdomain = env->NewStringUTF(domain);
  if (charset == nullptr || jdomain == nullptr) return;
  auto jmessage = static_cast<jstring>(env->NewObject(string_cls, string_ctor, bytes, charset));
  if (jmessage == nullptr) return;
  auto ex = static_cast<jthrowable>(
      env->NewObject(cls, ctor, static_cast<jint>(code), jdomain, jmessage));
  if (ex != nullptr) env->Throw(ex);
}

// Throws EstelikException for a failed call. Returns true if the call failed.
bool Throw(JNIEnv* env, estelik_status status, const Error& err) {
  if (status == ESTELIK_OK) return false;
  ThrowMessage(env, status, err.e.domain != nullptr ? err.e.domain : "estelik",
               err.e.message != nullptr ? err.e.message : estelik_status_name(status));
  return true;
}

jbyteArray ToJava(JNIEnv* env, const uint8_t* data, size_t size) {
  jbyteArray out = env->NewByteArray(static_cast<jsize>(size));
  if (out != nullptr && size > 0) {
    env->SetByteArrayRegion(out, 0, static_cast<jsize>(size), reinterpret_cast<const jbyte*>(data));
  }
  return out;
}

// Converts and frees a buffer returned by the C API.
jbyteArray Take(JNIEnv* env, estelik_buffer* buf) {
  jbyteArray out = ToJava(env, buf->data, buf->size);
  estelik_buffer_free(buf);
  return out;
}

// Converts and frees a string returned by the C API.
jbyteArray Take(JNIEnv* env, char* str) {
  jbyteArray out = ToJava(env, reinterpret_cast<const uint8_t*>(str), std::string(str).size());
  estelik_string_free(str);
  return out;
}

// A 32-byte key or id from Java; throws INVALID_ARGUMENT for any other length.
bool Fixed32(JNIEnv* env, jbyteArray array, const char* what, uint8_t out[32]) {
  if (array == nullptr || env->GetArrayLength(array) != 32) {
    ThrowMessage(env, ESTELIK_INVALID_ARGUMENT, "estelik", std::string(what) + " must be 32 bytes");
    return false;
  }
  env->GetByteArrayRegion(array, 0, 32, reinterpret_cast<jbyte*>(out));
  return true;
}

estelik_vault* V(jlong h) { return reinterpret_cast<estelik_vault*>(static_cast<intptr_t>(h)); }
estelik_attachment_writer* W(jlong h) {
  return reinterpret_cast<estelik_attachment_writer*>(static_cast<intptr_t>(h));
}
estelik_attachment_reader* R(jlong h) {
  return reinterpret_cast<estelik_attachment_reader*>(static_cast<intptr_t>(h));
}
template <typename T>
jlong Handle(T* p) {
  return static_cast<jlong>(reinterpret_cast<intptr_t>(p));
}

}  // namespace

#define JNI_FN(ret, name) extern "C" JNIEXPORT ret JNICALL Java_org_estelik_Native_##name

// --------------------------------------------------------------------- vault

JNI_FN(jlong, vaultCreate)(JNIEnv* env, jclass, jbyteArray dir, jbyteArray pass, jint kdf) {
  JBytes d(env, dir), p(env, pass);
  Error err;
  estelik_vault* vault = nullptr;
  Throw(env,
        estelik_vault_create(d.c_str(), p.c_str(), p.size(), static_cast<estelik_kdf>(kdf), &vault,
                             &err.e),
        err);
  return Handle(vault);
}

JNI_FN(jlong, vaultOpen)(JNIEnv* env, jclass, jbyteArray dir, jbyteArray pass) {
  JBytes d(env, dir), p(env, pass);
  Error err;
  estelik_vault* vault = nullptr;
  Throw(env, estelik_vault_open(d.c_str(), p.c_str(), p.size(), &vault, &err.e), err);
  return Handle(vault);
}

JNI_FN(void, vaultClose)(JNIEnv*, jclass, jlong vault) { estelik_vault_close(V(vault)); }
JNI_FN(void, vaultLock)(JNIEnv*, jclass, jlong vault) { estelik_vault_lock(V(vault)); }
JNI_FN(jboolean, vaultIsLocked)(JNIEnv*, jclass, jlong vault) {
  return estelik_vault_is_locked(V(vault)) ? JNI_TRUE : JNI_FALSE;
}

JNI_FN(void, vaultUnlock)(JNIEnv* env, jclass, jlong vault, jbyteArray pass) {
  JBytes p(env, pass);
  Error err;
  Throw(env, estelik_vault_unlock(V(vault), p.c_str(), p.size(), &err.e), err);
}

JNI_FN(void, vaultChangePassphrase)
(JNIEnv* env, jclass, jlong vault, jbyteArray old_pass, jbyteArray new_pass) {
  JBytes o(env, old_pass), n(env, new_pass);
  Error err;
  Throw(env,
        estelik_vault_change_passphrase(V(vault), o.c_str(), o.size(), n.c_str(), n.size(), &err.e),
        err);
}

JNI_FN(void, vaultSetDuressPassphrase)(JNIEnv* env, jclass, jlong vault, jbyteArray pass) {
  JBytes p(env, pass);
  Error err;
  Throw(env, estelik_vault_set_duress_passphrase(V(vault), p.c_str(), p.size(), &err.e), err);
}

JNI_FN(void, vaultClearDuressPassphrase)(JNIEnv* env, jclass, jlong vault) {
  Error err;
  Throw(env, estelik_vault_clear_duress_passphrase(V(vault), &err.e), err);
}

JNI_FN(void, vaultWipe)(JNIEnv* env, jclass, jbyteArray dir) {
  JBytes d(env, dir);
  Error err;
  Throw(env, estelik_vault_wipe(d.c_str(), &err.e), err);
}

// --------------------------------------------------------------------- testimonies

JNI_FN(jbyteArray, testimonyAdd)
(JNIEnv* env, jclass, jlong vault, jbyteArray fields, jlong recorded_ms) {
  JBytes f(env, fields);
  Error err;
  estelik_buffer out{nullptr, 0};
  if (Throw(env,
            estelik_testimony_create(V(vault), f.data(), f.size(),
                                     static_cast<uint64_t>(recorded_ms), nullptr, &out, &err.e),
            err)) {
    return nullptr;
  }
  return Take(env, &out);
}

JNI_FN(jbyteArray, testimonyEdit)
(JNIEnv* env, jclass, jlong vault, jbyteArray id, jbyteArray fields) {
  JBytes i(env, id), f(env, fields);
  Error err;
  estelik_buffer out{nullptr, 0};
  if (Throw(env, estelik_testimony_edit(V(vault), i.c_str(), f.data(), f.size(), &out, &err.e),
            err)) {
    return nullptr;
  }
  return Take(env, &out);
}

JNI_FN(jbyteArray, testimonyGet)(JNIEnv* env, jclass, jlong vault, jbyteArray id) {
  JBytes i(env, id);
  Error err;
  estelik_buffer out{nullptr, 0};
  if (Throw(env, estelik_testimony_get(V(vault), i.c_str(), &out, &err.e), err)) return nullptr;
  return Take(env, &out);
}

JNI_FN(jbyteArray, testimonyHistory)(JNIEnv* env, jclass, jlong vault, jbyteArray id) {
  JBytes i(env, id);
  Error err;
  estelik_buffer out{nullptr, 0};
  if (Throw(env, estelik_testimony_get_history(V(vault), i.c_str(), &out, &err.e), err)) {
    return nullptr;
  }
  return Take(env, &out);
}

JNI_FN(void, testimonyWithdraw)(JNIEnv* env, jclass, jlong vault, jbyteArray id) {
  JBytes i(env, id);
  Error err;
  Throw(env, estelik_testimony_withdraw(V(vault), i.c_str(), &err.e), err);
}

JNI_FN(jbyteArray, testimonyList)
(JNIEnv* env, jclass, jlong vault, jbyteArray filter, jbyteArray page) {
  JBytes f(env, filter), p(env, page);
  Error err;
  estelik_buffer out{nullptr, 0};
  if (Throw(env,
            estelik_testimony_list(V(vault), f.data(), f.size(), p.data(), p.size(), &out, &err.e),
            err)) {
    return nullptr;
  }
  return Take(env, &out);
}

JNI_FN(jbyteArray, testimonySearch)(JNIEnv* env, jclass, jlong vault, jbyteArray query) {
  JBytes q(env, query);
  Error err;
  estelik_buffer out{nullptr, 0};
  if (Throw(env, estelik_testimony_search(V(vault), q.data(), q.size(), &out, &err.e), err)) {
    return nullptr;
  }
  return Take(env, &out);
}

JNI_FN(jbyteArray, testimonyResolveId)(JNIEnv* env, jclass, jlong vault, jbyteArray id) {
  JBytes i(env, id);
  Error err;
  char* out = nullptr;
  if (Throw(env, estelik_testimony_resolve_id(V(vault), i.c_str(), &out, &err.e), err)) {
    return nullptr;
  }
  return Take(env, out);
}

// --------------------------------------------------------------------- attachments

JNI_FN(jlong, attachmentBegin)
(JNIEnv* env, jclass, jlong vault, jbyteArray id, jbyteArray name, jbyteArray media_type,
 jint kind) {
  JBytes i(env, id), n(env, name), m(env, media_type);
  Error err;
  estelik_attachment_writer* writer = nullptr;
  Throw(env,
        estelik_attachment_begin(V(vault), i.c_str(), n.c_str(), m.c_str(),
                                 static_cast<estelik_attachment_kind>(kind), &writer, &err.e),
        err);
  return Handle(writer);
}

JNI_FN(void, attachmentWrite)
(JNIEnv* env, jclass, jlong writer, jbyteArray data, jint offset, jint length) {
  // Copied in bounded pieces so a large Java array never needs a pinned or equal-size copy.
  constexpr jint kPiece = 64 * 1024;
  std::vector<uint8_t> piece(static_cast<size_t>(length < kPiece ? length : kPiece));
  for (jint done = 0; done < length;) {
    jint n = length - done < kPiece ? length - done : kPiece;
    env->GetByteArrayRegion(data, offset + done, n, reinterpret_cast<jbyte*>(piece.data()));
    if (env->ExceptionCheck()) return;
    Error err;
    if (Throw(env,
              estelik_attachment_write(W(writer), piece.data(), static_cast<size_t>(n), &err.e),
              err)) {
      return;
    }
    done += n;
  }
}

JNI_FN(jbyteArray, attachmentFinish)(JNIEnv* env, jclass, jlong writer) {
  Error err;
  estelik_buffer out{nullptr, 0};
  if (Throw(env, estelik_attachment_finish(W(writer), &out, &err.e), err)) return nullptr;
  return Take(env, &out);
}

JNI_FN(void, attachmentAbort)(JNIEnv*, jclass, jlong writer) {
  estelik_attachment_abort(W(writer));
}

JNI_FN(jlong, attachmentOpen)(JNIEnv* env, jclass, jlong vault, jbyteArray id, jint index) {
  if (index < 0) {
    ThrowMessage(env, ESTELIK_INVALID_ARGUMENT, "estelik", "attachment index must be >= 0");
    return 0;
  }
  JBytes i(env, id);
  Error err;
  estelik_attachment_reader* reader = nullptr;
  Throw(env,
        estelik_attachment_open(V(vault), i.c_str(), static_cast<size_t>(index), &reader, &err.e),
        err);
  return Handle(reader);
}

JNI_FN(jbyteArray, attachmentInfo)(JNIEnv* env, jclass, jlong reader) {
  Error err;
  estelik_buffer out{nullptr, 0};
  if (Throw(env, estelik_attachment_get_info(R(reader), &out, &err.e), err)) return nullptr;
  return Take(env, &out);
}

JNI_FN(jint, attachmentRead)
(JNIEnv* env, jclass, jlong reader, jbyteArray out, jint offset, jint length) {
  std::vector<uint8_t> buf(static_cast<size_t>(length));
  size_t n = 0;
  Error err;
  if (Throw(env, estelik_attachment_read(R(reader), buf.data(), buf.size(), &n, &err.e), err)) {
    return -1;
  }
  if (n == 0) return -1;
  env->SetByteArrayRegion(out, offset, static_cast<jsize>(n),
                          reinterpret_cast<const jbyte*>(buf.data()));
  return static_cast<jint>(n);
}

JNI_FN(jlong, attachmentSize)(JNIEnv* env, jclass, jlong reader) {
  Error err;
  uint64_t size = 0;
  if (Throw(env, estelik_attachment_get_size(R(reader), &size, &err.e), err)) return -1;
  return static_cast<jlong>(size);
}

JNI_FN(jint, attachmentReadAt)
(JNIEnv* env, jclass, jlong reader, jlong position, jbyteArray out, jint offset, jint length) {
  // Copied in bounded pieces, like attachmentWrite: a player may ask for megabytes at once.
  constexpr jint kPiece = 256 * 1024;
  std::vector<uint8_t> piece(static_cast<size_t>(length < kPiece ? length : kPiece));
  struct Wipe {  // the plaintext does not outlive the call in native memory
    std::vector<uint8_t>& bytes;
    ~Wipe() {
      volatile uint8_t* p = bytes.data();
      for (size_t i = 0; i < bytes.size(); ++i) p[i] = 0;
    }
  } wipe{piece};
  jint done = 0;
  while (done < length) {
    jint want = length - done < kPiece ? length - done : kPiece;
    size_t n = 0;
    Error err;
    estelik_status status =
        estelik_attachment_read_at(R(reader), static_cast<uint64_t>(position) + done, piece.data(),
                                   static_cast<size_t>(want), &n, &err.e);
    if (Throw(env, status, err)) return -1;
    if (n == 0) break;
    env->SetByteArrayRegion(out, offset + done, static_cast<jsize>(n),
                            reinterpret_cast<const jbyte*>(piece.data()));
    if (env->ExceptionCheck()) return -1;
    done += static_cast<jint>(n);
    if (static_cast<jint>(n) < want) break;  // the end
  }
  return done == 0 ? -1 : done;
}

JNI_FN(void, attachmentVerify)(JNIEnv* env, jclass, jlong reader) {
  Error err;
  Throw(env, estelik_attachment_verify(R(reader), &err.e), err);
}

JNI_FN(void, attachmentClose)(JNIEnv*, jclass, jlong reader) {
  estelik_attachment_close(R(reader));
}

// --------------------------------------------------------------------- identity

JNI_FN(jbyteArray, identityPublicKey)(JNIEnv* env, jclass, jlong vault) {
  uint8_t key[ESTELIK_PUBLIC_KEY_SIZE];
  Error err;
  if (Throw(env, estelik_identity_public_key(V(vault), key, &err.e), err)) return nullptr;
  return ToJava(env, key, sizeof key);
}

JNI_FN(jbyteArray, identityFingerprint)(JNIEnv* env, jclass, jlong vault) {
  char* out = nullptr;
  Error err;
  if (Throw(env, estelik_identity_fingerprint(V(vault), &out, &err.e), err)) return nullptr;
  return Take(env, out);
}

JNI_FN(jbyteArray, identityQrPayload)(JNIEnv* env, jclass, jlong vault) {
  char* out = nullptr;
  Error err;
  if (Throw(env, estelik_identity_qr_payload(V(vault), &out, &err.e), err)) return nullptr;
  return Take(env, out);
}

JNI_FN(jbyteArray, identitySafetyNumber)(JNIEnv* env, jclass, jlong vault, jbyteArray peer) {
  uint8_t key[32];
  if (!Fixed32(env, peer, "peer key", key)) return nullptr;
  char* out = nullptr;
  Error err;
  if (Throw(env, estelik_identity_safety_number(V(vault), key, &out, &err.e), err)) {
    return nullptr;
  }
  return Take(env, out);
}

JNI_FN(jbyteArray, identityParseQr)(JNIEnv* env, jclass, jbyteArray payload) {
  JBytes p(env, payload);
  uint8_t key[ESTELIK_PUBLIC_KEY_SIZE];
  Error err;
  if (Throw(env, estelik_identity_parse_qr(p.c_str(), key, &err.e), err)) return nullptr;
  return ToJava(env, key, sizeof key);
}

// --------------------------------------------------------------------- contacts and circles

JNI_FN(void, contactAdd)(JNIEnv* env, jclass, jlong vault, jbyteArray public_key, jbyteArray name) {
  uint8_t key[32];
  if (!Fixed32(env, public_key, "public key", key)) return;
  JBytes n(env, name);
  Error err;
  Throw(env, estelik_contact_add(V(vault), key, n.c_str(), &err.e), err);
}

JNI_FN(void, contactRemove)(JNIEnv* env, jclass, jlong vault, jbyteArray public_key) {
  uint8_t key[32];
  if (!Fixed32(env, public_key, "public key", key)) return;
  Error err;
  Throw(env, estelik_contact_remove(V(vault), key, &err.e), err);
}

JNI_FN(jbyteArray, contactList)(JNIEnv* env, jclass, jlong vault) {
  Error err;
  estelik_buffer out{nullptr, 0};
  if (Throw(env, estelik_contact_list(V(vault), &out, &err.e), err)) return nullptr;
  return Take(env, &out);
}

JNI_FN(jbyteArray, circleCreate)(JNIEnv* env, jclass, jlong vault, jbyteArray name) {
  JBytes n(env, name);
  uint8_t id[ESTELIK_CIRCLE_ID_SIZE];
  Error err;
  if (Throw(env, estelik_circle_create(V(vault), n.c_str(), id, &err.e), err)) return nullptr;
  return ToJava(env, id, sizeof id);
}

JNI_FN(void, circleAddMember)
(JNIEnv* env, jclass, jlong vault, jbyteArray circle, jbyteArray member) {
  uint8_t id[32], key[32];
  if (!Fixed32(env, circle, "circle id", id) || !Fixed32(env, member, "member key", key)) return;
  Error err;
  Throw(env, estelik_circle_add_member(V(vault), id, key, &err.e), err);
}

JNI_FN(void, circleRemoveMember)
(JNIEnv* env, jclass, jlong vault, jbyteArray circle, jbyteArray member) {
  uint8_t id[32], key[32];
  if (!Fixed32(env, circle, "circle id", id) || !Fixed32(env, member, "member key", key)) return;
  Error err;
  Throw(env, estelik_circle_remove_member(V(vault), id, key, &err.e), err);
}

JNI_FN(jbyteArray, circleGet)(JNIEnv* env, jclass, jlong vault, jbyteArray circle) {
  uint8_t id[32];
  if (!Fixed32(env, circle, "circle id", id)) return nullptr;
  Error err;
  estelik_buffer out{nullptr, 0};
  if (Throw(env, estelik_circle_get(V(vault), id, &out, &err.e), err)) return nullptr;
  return Take(env, &out);
}

JNI_FN(jbyteArray, circleList)(JNIEnv* env, jclass, jlong vault) {
  Error err;
  estelik_buffer out{nullptr, 0};
  if (Throw(env, estelik_circle_list(V(vault), &out, &err.e), err)) return nullptr;
  return Take(env, &out);
}

JNI_FN(void, testimonyShare)(JNIEnv* env, jclass, jlong vault, jbyteArray id, jbyteArray circle) {
  uint8_t circle_id[32];
  if (!Fixed32(env, circle, "circle id", circle_id)) return;
  JBytes i(env, id);
  Error err;
  Throw(env, estelik_testimony_share(V(vault), i.c_str(), circle_id, &err.e), err);
}

// --------------------------------------------------------------------- auto-lock

JNI_FN(void, vaultSetAutoLock)(JNIEnv* env, jclass, jlong vault, jint seconds) {
  Error err;
  if (seconds < 0) {
    ThrowMessage(env, ESTELIK_INVALID_ARGUMENT, "estelik",
                 "auto-lock seconds must not be negative");
    return;
  }
  Throw(env, estelik_vault_set_auto_lock(V(vault), static_cast<uint32_t>(seconds), &err.e), err);
}

JNI_FN(jint, vaultGetAutoLock)(JNIEnv* env, jclass, jlong vault) {
  Error err;
  uint32_t seconds = 0;
  if (Throw(env, estelik_vault_get_auto_lock(V(vault), &seconds, &err.e), err)) return 0;
  return static_cast<jint>(seconds);
}

JNI_FN(jboolean, vaultTick)(JNIEnv*, jclass, jlong vault) {
  return estelik_vault_tick(V(vault)) ? JNI_TRUE : JNI_FALSE;
}

// --------------------------------------------------------------------- sync

namespace {

// A Java SyncListener as the C callback's user data. The class and method are looked up on the
// calling Java thread: on Android, FindClass on a native thread sees only system classes.
struct Listener {
  JavaVM* vm = nullptr;
  jobject listener = nullptr;     // global ref
  jclass native_class = nullptr;  // global ref to org.estelik.Native
  jmethodID dispatch = nullptr;
};

// The listener whose event this thread is delivering (so syncFree can refuse to free it).
thread_local const Listener* tls_dispatching = nullptr;

// Detaches a network thread from the JVM when it exits.
struct AttachedThread {
  JavaVM* vm = nullptr;
  ~AttachedThread() {
    if (vm != nullptr) vm->DetachCurrentThread();
  }
};
thread_local AttachedThread tls_attached;

JNIEnv* EnvForThisThread(JavaVM* vm) {
  JNIEnv* env = nullptr;
  if (vm->GetEnv(reinterpret_cast<void**>(&env), JNI_VERSION_1_6) == JNI_OK) return env;
#if defined(__ANDROID__)
  if (vm->AttachCurrentThreadAsDaemon(&env, nullptr) != JNI_OK) return nullptr;
#else
  if (vm->AttachCurrentThreadAsDaemon(reinterpret_cast<void**>(&env), nullptr) != JNI_OK) {
    return nullptr;
  }
#endif
  tls_attached.vm = vm;
  return env;
}

jlongArray StatsArray(JNIEnv* env, const estelik_sync_stats& s) {
  const jlong values[12] = {static_cast<jlong>(s.ops_received),
                            static_cast<jlong>(s.ops_accepted),
                            static_cast<jlong>(s.ops_sent),
                            static_cast<jlong>(s.chunks_wanted),
                            static_cast<jlong>(s.chunks_received),
                            static_cast<jlong>(s.chunks_sent),
                            static_cast<jlong>(s.attachment_bytes_received),
                            static_cast<jlong>(s.attachment_bytes_sent),
                            static_cast<jlong>(s.bytes_in),
                            static_cast<jlong>(s.bytes_out),
                            static_cast<jlong>(s.circles),
                            static_cast<jlong>(s.has_peer)};
  jlongArray out = env->NewLongArray(12);
  if (out != nullptr) env->SetLongArrayRegion(out, 0, 12, values);
  return out;
}

jbyteArray TextToJava(JNIEnv* env, const char* text) {
  if (text == nullptr) text = "";
  return ToJava(env, reinterpret_cast<const uint8_t*>(text), std::string(text).size());
}

// The C callback: runs on the sync's network thread.
void OnSyncEvent(void* user_data, const estelik_sync_event* e) {
  auto* l = static_cast<Listener*>(user_data);
  JNIEnv* env = EnvForThisThread(l->vm);
  if (env == nullptr || env->PushLocalFrame(16) != JNI_OK) return;
  const Listener* outer = tls_dispatching;
  tls_dispatching = l;
  jbyteArray peer = TextToJava(env, e->peer_address);
  jbyteArray reason = TextToJava(env, e->reason);
  jlongArray stats = StatsArray(env, e->stats);
  jbyteArray key = ToJava(env, e->stats.peer_key, ESTELIK_PUBLIC_KEY_SIZE);
  if (peer != nullptr && reason != nullptr && stats != nullptr && key != nullptr) {
    env->CallStaticVoidMethod(l->native_class, l->dispatch, l->listener, static_cast<jint>(e->kind),
                              static_cast<jlong>(e->session_id), peer,
                              e->inbound ? JNI_TRUE : JNI_FALSE,
                              e->succeeded ? JNI_TRUE : JNI_FALSE, reason, stats, key);
  }
  if (env->ExceptionCheck()) env->ExceptionClear();  // nothing may unwind into the engine
  tls_dispatching = outer;
  env->PopLocalFrame(nullptr);
}

// Frees a Listener made by NewListener (owned by a Java Sync, or by a syncOnce call).
void DeleteListener(JNIEnv* env, Listener* raw) {
  std::unique_ptr<Listener> l(raw);
  if (l == nullptr) return;
  if (l->listener != nullptr) env->DeleteGlobalRef(l->listener);
  if (l->native_class != nullptr) env->DeleteGlobalRef(l->native_class);
}

// A Listener for `listener` (NULL when it is null); an exception is pending on failure.
bool NewListener(JNIEnv* env, jclass native_class, jobject listener, Listener** out) {
  *out = nullptr;
  if (listener == nullptr) return true;
  auto l = std::make_unique<Listener>();
  if (env->GetJavaVM(&l->vm) != JNI_OK) return false;
  l->dispatch =
      env->GetStaticMethodID(native_class, "dispatch", "(Lorg/estelik/SyncListener;IJ[BZZ[B[J[B)V");
  if (l->dispatch == nullptr) return false;
  l->listener = env->NewGlobalRef(listener);
  l->native_class = static_cast<jclass>(env->NewGlobalRef(native_class));
  if (l->listener == nullptr || l->native_class == nullptr) {
    DeleteListener(env, l.release());
    return false;
  }
  *out = l.release();
  return true;
}

// Options from Java; `key` and `peer` must outlive their use. False (exception pending) for a
// bad key.
bool Options(JNIEnv* env, const JBytes& key, bool has_key, const JBytes& peer, bool has_peer,
             jint idle, jint max_sessions, jint interval, estelik_sync_options* out) {
  *out = estelik_sync_options ESTELIK_SYNC_OPTIONS_INIT;
  if (has_key) {
    if (key.size() != 32) {
      ThrowMessage(env, ESTELIK_INVALID_ARGUMENT, "estelik", "a network key is 32 bytes");
      return false;
    }
    out->network_key = key.data();
  }
  if (has_peer) {
    if (peer.size() != ESTELIK_PUBLIC_KEY_SIZE) {
      ThrowMessage(env, ESTELIK_INVALID_ARGUMENT, "estelik", "a peer key is 32 bytes");
      return false;
    }
    out->peer_key = peer.data();
  }
  out->idle_timeout_ms = idle > 0 ? static_cast<uint32_t>(idle) : 0;
  out->max_sessions = max_sessions > 0 ? static_cast<uint32_t>(max_sessions) : 0;
  out->interval_ms = interval > 0 ? static_cast<uint32_t>(interval) : 0;
  return true;
}

estelik_sync* S(jlong h) { return reinterpret_cast<estelik_sync*>(static_cast<intptr_t>(h)); }

// syncListen / syncDial: {estelik_sync*, Listener*, port}.
jlongArray StartSync(JNIEnv* env, jclass cls, jlong vault, jbyteArray host_port,
                     jbyteArray network_key, jbyteArray peer_key, jint idle, jint max_sessions,
                     jint interval, jobject listener, bool listen) {
  JBytes address(env, host_port), key(env, network_key), peer(env, peer_key);
  estelik_sync_options options;
  if (!Options(env, key, network_key != nullptr, peer, peer_key != nullptr, idle, max_sessions,
               interval, &options)) {
    return nullptr;
  }
  Listener* l = nullptr;
  if (!NewListener(env, cls, listener, &l)) return nullptr;
  estelik_sync_callbacks callbacks{l != nullptr ? OnSyncEvent : nullptr, l};
  Error err;
  estelik_sync* sync = nullptr;
  estelik_status status =
      listen ? estelik_sync_listen(V(vault), address.c_str(), &options, &callbacks, &sync, &err.e)
             : estelik_sync_dial(V(vault), address.c_str(), &options, &callbacks, &sync, &err.e);
  if (Throw(env, status, err)) {
    DeleteListener(env, l);
    return nullptr;
  }
  const jlong values[3] = {Handle(sync), Handle(l), static_cast<jlong>(estelik_sync_port(sync))};
  jlongArray out = env->NewLongArray(3);
  if (out == nullptr) {
    estelik_sync_free(sync);
    DeleteListener(env, l);
    return nullptr;
  }
  env->SetLongArrayRegion(out, 0, 3, values);
  return out;
}

}  // namespace

JNI_FN(jlongArray, syncListen)
(JNIEnv* env, jclass cls, jlong vault, jbyteArray host_port, jbyteArray network_key, jint idle,
 jint max_sessions, jint interval, jobject listener) {
  return StartSync(env, cls, vault, host_port, network_key, nullptr, idle, max_sessions, interval,
                   listener, true);
}

JNI_FN(jlongArray, syncDial)
(JNIEnv* env, jclass cls, jlong vault, jbyteArray host_port, jbyteArray network_key,
 jbyteArray peer_key, jint idle, jint max_sessions, jint interval, jobject listener) {
  return StartSync(env, cls, vault, host_port, network_key, peer_key, idle, max_sessions, interval,
                   listener, false);
}

JNI_FN(jlongArray, syncOnce)
(JNIEnv* env, jclass cls, jlong vault, jbyteArray host_port, jbyteArray network_key,
 jbyteArray peer_key, jint idle, jint max_sessions, jobject listener, jbyteArray out_peer_key) {
  JBytes address(env, host_port), key(env, network_key), peer(env, peer_key);
  estelik_sync_options options;
  if (!Options(env, key, network_key != nullptr, peer, peer_key != nullptr, idle, max_sessions, 0,
               &options)) {
    return nullptr;
  }
  Listener* l = nullptr;
  if (!NewListener(env, cls, listener, &l)) return nullptr;
  estelik_sync_callbacks callbacks{l != nullptr ? OnSyncEvent : nullptr, l};
  Error err;
  estelik_sync_stats stats{};
  estelik_status status =
      estelik_sync_once(V(vault), address.c_str(), &options, &callbacks, &stats, &err.e);
  DeleteListener(env, l);  // the sync's network thread is gone: no callback can follow
  if (Throw(env, status, err)) return nullptr;
  if (out_peer_key != nullptr && env->GetArrayLength(out_peer_key) == ESTELIK_PUBLIC_KEY_SIZE) {
    env->SetByteArrayRegion(out_peer_key, 0, ESTELIK_PUBLIC_KEY_SIZE,
                            reinterpret_cast<const jbyte*>(stats.peer_key));
  }
  return StatsArray(env, stats);
}

JNI_FN(void, syncStop)(JNIEnv* env, jclass, jlong sync) {
  Error err;
  Throw(env, estelik_sync_stop(S(sync), &err.e), err);
}

JNI_FN(void, syncFree)(JNIEnv* env, jclass, jlong sync, jlong listener) {
  auto* l = reinterpret_cast<Listener*>(static_cast<intptr_t>(listener));
  if (l != nullptr && tls_dispatching == l) {
    // The listener is running on this very thread: freeing it here would pull the ground from
    // under it. Java's Sync.close() documents this; stop() is the call for inside a listener.
    jclass cls = env->FindClass("java/lang/IllegalStateException");
    if (cls != nullptr) env->ThrowNew(cls, "Sync.close() called from its own SyncListener");
    return;
  }
  estelik_sync_free(S(sync));  // returns once no callback runs any more
  DeleteListener(env, l);
}

// --------------------------------------------------------------------- evidence

JNI_FN(jbyteArray, evidenceExport)
(JNIEnv* env, jclass, jlong vault, jobjectArray ids, jbyteArray out_path) {
  JBytes path(env, out_path);
  const jsize n = ids == nullptr ? 0 : env->GetArrayLength(ids);
  std::vector<std::unique_ptr<JBytes>> owned;
  std::vector<const char*> pointers;
  for (jsize i = 0; i < n; ++i) {
    auto element = static_cast<jbyteArray>(env->GetObjectArrayElement(ids, i));
    owned.push_back(std::make_unique<JBytes>(env, element));
    pointers.push_back(owned.back()->c_str());
    env->DeleteLocalRef(element);
  }
  Error err;
  estelik_buffer report{nullptr, 0};
  if (Throw(env,
            estelik_evidence_export(V(vault), pointers.data(), pointers.size(), path.c_str(),
                                    nullptr, &report, &err.e),
            err)) {
    return nullptr;
  }
  return Take(env, &report);
}

JNI_FN(jobjectArray, evidenceVerify)
(JNIEnv* env, jclass, jbyteArray bundle_path, jbyteArray expected_exporter) {
  JBytes path(env, bundle_path);
  uint8_t exporter[ESTELIK_PUBLIC_KEY_SIZE];
  if (expected_exporter != nullptr && !Fixed32(env, expected_exporter, "exporter key", exporter)) {
    return nullptr;
  }
  Error err;
  estelik_buffer verdict{nullptr, 0};
  estelik_status status = estelik_evidence_verify(
      path.c_str(), expected_exporter != nullptr ? exporter : nullptr, &verdict, &err.e);
  if (status != ESTELIK_OK && verdict.data == nullptr) {
    Throw(env, status, err);  // nothing could be read: not a bundle
    return nullptr;
  }
  jclass bytes_class = env->FindClass("[B");
  if (bytes_class == nullptr) return nullptr;
  jobjectArray out = env->NewObjectArray(2, bytes_class, nullptr);
  if (out == nullptr) {
    estelik_buffer_free(&verdict);
    return nullptr;
  }
  env->SetObjectArrayElement(out, 0, Take(env, &verdict));
  env->SetObjectArrayElement(
      out, 1, TextToJava(env, status == ESTELIK_OK ? "" : (err.e.message ? err.e.message : "")));
  return out;
}
