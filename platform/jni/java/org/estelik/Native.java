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
  static native long attachmentSize(long reader) throws EstelikException;
  /** Bytes read at {@code position}, or -1 at or past the end; never checks the content hash. */
  static native int attachmentReadAt(long reader, long position, byte[] out, int offset,
      int length) throws EstelikException;
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

  static native void vaultSetAutoLock(long vault, int seconds) throws EstelikException;
  static native int vaultGetAutoLock(long vault) throws EstelikException;
  static native boolean vaultTick(long vault);

  /** {estelik_sync*, listener context, port}. */
  static native long[] syncListen(long vault, byte[] hostPort, byte[] networkKey, int idleTimeoutMs,
      int maxSessions, int intervalMs, SyncListener listener) throws EstelikException;
  static native long[] syncDial(long vault, byte[] hostPort, byte[] networkKey, byte[] peerKey,
      int idleTimeoutMs, int maxSessions, int intervalMs, SyncListener listener)
      throws EstelikException;
  /** The 12 counters of SyncStats; the peer key goes into outPeerKey (32 bytes). */
  static native long[] syncOnce(long vault, byte[] hostPort, byte[] networkKey, byte[] peerKey,
      int idleTimeoutMs, int maxSessions, SyncListener listener, byte[] outPeerKey)
      throws EstelikException;
  static native void syncStop(long sync) throws EstelikException;
  static native void syncFree(long sync, long listener);

  /** estelik.pb.ExportReport bytes. */
  static native byte[] evidenceExport(long vault, byte[][] ids, byte[] outPath)
      throws EstelikException;
  /**
   * {estelik.pb.Verdict bytes, headline (empty when it verified)}; throws only if nothing was
   * readable.
   */
  static native byte[][] evidenceVerify(byte[] bundlePath, byte[] expectedExporter)
      throws EstelikException;

  /** Called by the glue on a sync's network thread; never lets an exception escape. */
  static void dispatch(SyncListener listener, int kind, long sessionId, byte[] peer,
      boolean inbound, boolean succeeded, byte[] reason, long[] stats, byte[] peerKey) {
    try {
      listener.onEvent(new SyncEvent(SyncEvent.Kind.values()[kind], sessionId,
          new String(peer, java.nio.charset.StandardCharsets.UTF_8), inbound, succeeded,
          new String(reason, java.nio.charset.StandardCharsets.UTF_8),
          new SyncStats(stats, peerKey)));
    } catch (Throwable ignored) {
      // A listener's failure must not unwind into the network thread.
    }
  }
}
