// JNI glue: org.estelik.Native over the C API (estelik.h), and nothing else. Every string
// crosses as a UTF-8 byte[] (JNI's "modified UTF-8" would mangle emoji and NUL); records cross
// as protobuf byte[]; a failed call throws org.estelik.EstelikException(code, domain, message).
// Handles are C pointers stored in Java longs. No engine logic lives here.
#include <jni.h>

#include <cstdint>
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
            estelik_testimony_add(V(vault), f.data(), f.size(), static_cast<uint64_t>(recorded_ms),
                                  &out, &err.e),
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
  if (Throw(env, estelik_testimony_history(V(vault), i.c_str(), &out, &err.e), err)) {
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
  if (Throw(env, estelik_attachment_info(R(reader), &out, &err.e), err)) return nullptr;
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
