package org.estelik;

/**
 * The JNI entry points of libestelik_jni.so, one per estelik.h call. Handles are the C pointers
 * as longs; strings cross as UTF-8 bytes (JNI's own "modified UTF-8" mangles emoji and NUL).
 * Every method throws EstelikException on failure. Package-private: use Vault and the streams.
 */
final class Native {
  static {
    System.loadLibrary("estelik_jni");
  }

  private Native() {}

  static native long vaultCreate(byte[] dir, byte[] passphrase, int kdf) throws EstelikException;
  static native long vaultOpen(byte[] dir, byte[] passphrase) throws EstelikException;
  static native void vaultClose(long vault);
  static native void vaultLock(long vault);
  static native void vaultUnlock(long vault, byte[] passphrase) throws EstelikException;
  static native boolean vaultIsLocked(long vault);
  static native void vaultChangePassphrase(long vault, byte[] oldPassphrase, byte[] newPassphrase)
      throws EstelikException;
  static native void vaultSetDuressPassphrase(long vault, byte[] passphrase)
      throws EstelikException;
  static native void vaultClearDuressPassphrase(long vault) throws EstelikException;
  static native void vaultWipe(byte[] dir) throws EstelikException;

  static native byte[] testimonyAdd(long vault, byte[] fields, long recordedUnixMs)
      throws EstelikException;
  static native byte[] testimonyEdit(long vault, byte[] id, byte[] fields)
      throws EstelikException;
  static native byte[] testimonyGet(long vault, byte[] id) throws EstelikException;
  static native byte[] testimonyHistory(long vault, byte[] id) throws EstelikException;
  static native void testimonyWithdraw(long vault, byte[] id) throws EstelikException;
  static native byte[] testimonyList(long vault, byte[] filter, byte[] page)
      throws EstelikException;
  static native byte[] testimonySearch(long vault, byte[] query) throws EstelikException;
  static native byte[] testimonyResolveId(long vault, byte[] id) throws EstelikException;

  static native long attachmentBegin(long vault, byte[] id, byte[] name, byte[] mediaType,
      int kind) throws EstelikException;
  static native void attachmentWrite(long writer, byte[] data, int offset, int length)
      throws EstelikException;
  static native byte[] attachmentFinish(long writer) throws EstelikException;
  static native void attachmentAbort(long writer);
  static native long attachmentOpen(long vault, byte[] id, int index) throws EstelikException;
  static native byte[] attachmentInfo(long reader) throws EstelikException;
  /** Bytes read, or -1 at the end (where the content hash has been checked). */
  static native int attachmentRead(long reader, byte[] out, int offset, int length)
      throws EstelikException;
  static native void attachmentVerify(long reader) throws EstelikException;
  static native void attachmentClose(long reader);

  static native byte[] identityPublicKey(long vault) throws EstelikException;
  static native byte[] identityFingerprint(long vault) throws EstelikException;
  static native byte[] identityQrPayload(long vault) throws EstelikException;
  static native byte[] identitySafetyNumber(long vault, byte[] peerKey) throws EstelikException;
  static native byte[] identityParseQr(byte[] payload) throws EstelikException;

  static native void contactAdd(long vault, byte[] publicKey, byte[] name)
      throws EstelikException;
  static native void contactRemove(long vault, byte[] publicKey) throws EstelikException;
  static native byte[] contactList(long vault) throws EstelikException;

  static native byte[] circleCreate(long vault, byte[] name) throws EstelikException;
  static native void circleAddMember(long vault, byte[] circleId, byte[] member)
      throws EstelikException;
  static native void circleRemoveMember(long vault, byte[] circleId, byte[] member)
      throws EstelikException;
  static native byte[] circleGet(long vault, byte[] circleId) throws EstelikException;
  static native byte[] circleList(long vault) throws EstelikException;
  static native void testimonyShare(long vault, byte[] id, byte[] circleId)
      throws EstelikException;
}
