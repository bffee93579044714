package org.estelik;

import com.google.protobuf.InvalidProtocolBufferException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.estelik.proto.AttachmentKind;
import org.estelik.proto.CircleInfo;
import org.estelik.proto.CircleList;
import org.estelik.proto.ContactList;
import org.estelik.proto.ExportReport;
import org.estelik.proto.History;
import org.estelik.proto.ListFilter;
import org.estelik.proto.PageRequest;
import org.estelik.proto.SearchPage;
import org.estelik.proto.SearchQuery;
import org.estelik.proto.Testimony;
import org.estelik.proto.TestimonyFields;
import org.estelik.proto.TestimonyPage;
import org.estelik.proto.Verdict;

/**
 * An open Estelik vault: the Java face of estelik_vault (platform/c/estelik.h), with the same
 * contracts. Records are the protobuf-java classes of proto/ (org.estelik.proto).
 *
 * <p>Threading: methods may be called from any thread; the engine serializes them. close() waits
 * for calls in progress. Errors: EstelikException (code, domain, message); a failed call changes
 * nothing. Passphrases are char arrays, encoded to UTF-8 in a buffer that is zeroed after use;
 * the caller should zero its own array too.
 */
public final class Vault implements AutoCloseable {
  /** Argon2id cost of a new vault. */
  public enum Kdf {
    MODERATE(0), // desktops
    INTERACTIVE(1), // phones
    TEST_ONLY(2); // tests only, never a real vault

    final int value;

    Kdf(int value) {
      this.value = value;
    }
  }

  private final ReadWriteLock lifetime = new ReentrantReadWriteLock();
  private long handle;

  private Vault(long handle) {
    this.handle = handle;
  }

  /** Creates a new vault in directory {@code dir} and opens it. ALREADY_EXISTS if there is one. */
  public static Vault create(String dir, char[] passphrase, Kdf kdf) throws EstelikException {
    byte[] pass = utf8(passphrase);
    try {
      return new Vault(Native.vaultCreate(utf8(dir), pass, kdf.value));
    } finally {
      Arrays.fill(pass, (byte) 0);
    }
  }

  /** Opens the vault in {@code dir}. WRONG_PASSPHRASE (nothing changes) or NOT_FOUND. */
  public static Vault open(String dir, char[] passphrase) throws EstelikException {
    byte[] pass = utf8(passphrase);
    try {
      return new Vault(Native.vaultOpen(utf8(dir), pass));
    } finally {
      Arrays.fill(pass, (byte) 0);
    }
  }

  /** Panic-wipe of the vault in {@code dir}, no passphrase: close every Vault on it first. */
  public static void wipe(String dir) throws EstelikException {
    Native.vaultWipe(utf8(dir));
  }

  /** Parses a scanned QR payload into a 32-byte public key; INVALID_ARGUMENT if malformed. */
  public static byte[] parseQrPayload(String payload) throws EstelikException {
    return Native.identityParseQr(utf8(payload));
  }

  /** Closes the store and wipes every key; open streams stop working. Idempotent. */
  @Override
  public void close() {
    lifetime.writeLock().lock();
    try {
      if (handle != 0) Native.vaultClose(handle);
      handle = 0;
    } finally {
      lifetime.writeLock().unlock();
    }
  }

  /** Panic-lock: wipes every key now; every call throws LOCKED until unlock(). */
  public void lock() {
    lifetime.readLock().lock();
    try {
      if (handle != 0) Native.vaultLock(handle);
    } finally {
      lifetime.readLock().unlock();
    }
  }

  public void unlock(char[] passphrase) throws EstelikException {
    byte[] pass = utf8(passphrase);
    try {
      long h = acquire();
      try {
        Native.vaultUnlock(h, pass);
      } finally {
        release();
      }
    } finally {
      Arrays.fill(pass, (byte) 0);
    }
  }

  public boolean isLocked() {
    lifetime.readLock().lock();
    try {
      return handle == 0 || Native.vaultIsLocked(handle);
    } finally {
      lifetime.readLock().unlock();
    }
  }

  public void changePassphrase(char[] oldPassphrase, char[] newPassphrase)
      throws EstelikException {
    byte[] oldPass = utf8(oldPassphrase);
    byte[] newPass = utf8(newPassphrase);
    try {
      long h = acquire();
      try {
        Native.vaultChangePassphrase(h, oldPass, newPass);
      } finally {
        release();
      }
    } finally {
      Arrays.fill(oldPass, (byte) 0);
      Arrays.fill(newPass, (byte) 0);
    }
  }

  /** Opening with this passphrase will destroy every real testimony and show a decoy vault. */
  public void setDuressPassphrase(char[] duressPassphrase) throws EstelikException {
    byte[] pass = utf8(duressPassphrase);
    try {
      long h = acquire();
      try {
        Native.vaultSetDuressPassphrase(h, pass);
      } finally {
        release();
      }
    } finally {
      Arrays.fill(pass, (byte) 0);
    }
  }

  public void clearDuressPassphrase() throws EstelikException {
    long h = acquire();
    try {
      Native.vaultClearDuressPassphrase(h);
    } finally {
      release();
    }
  }

  // ------------------------------------------------------------------ Testimonies

  public Testimony addTestimony(TestimonyFields fields) throws EstelikException {
    return addTestimony(fields, 0);
  }

  /** recordedUnixMs: when the survivor spoke, 0 for now. */
  public Testimony addTestimony(TestimonyFields fields, long recordedUnixMs)
      throws EstelikException {
    long h = acquire();
    try {
      return Testimony.parseFrom(Native.testimonyAdd(h, fields.toByteArray(), recordedUnixMs));
    } catch (InvalidProtocolBufferException e) {
      throw internal(e);
    } finally {
      release();
    }
  }

  /** id: 32 hex digits or a unique prefix of at least 6 (see idOf). */
  public Testimony editTestimony(String id, TestimonyFields fields) throws EstelikException {
    long h = acquire();
    try {
      return Testimony.parseFrom(Native.testimonyEdit(h, utf8(id), fields.toByteArray()));
    } catch (InvalidProtocolBufferException e) {
      throw internal(e);
    } finally {
      release();
    }
  }

  public Testimony getTestimony(String id) throws EstelikException {
    long h = acquire();
    try {
      return Testimony.parseFrom(Native.testimonyGet(h, utf8(id)));
    } catch (InvalidProtocolBufferException e) {
      throw internal(e);
    } finally {
      release();
    }
  }

  public History history(String id) throws EstelikException {
    long h = acquire();
    try {
      return History.parseFrom(Native.testimonyHistory(h, utf8(id)));
    } catch (InvalidProtocolBufferException e) {
      throw internal(e);
    } finally {
      release();
    }
  }

  public void withdraw(String id) throws EstelikException {
    long h = acquire();
    try {
      Native.testimonyWithdraw(h, utf8(id));
    } finally {
      release();
    }
  }

  public TestimonyPage list(ListFilter filter, PageRequest page) throws EstelikException {
    long h = acquire();
    try {
      return TestimonyPage.parseFrom(
          Native.testimonyList(h, filter.toByteArray(), page.toByteArray()));
    } catch (InvalidProtocolBufferException e) {
      throw internal(e);
    } finally {
      release();
    }
  }

  public SearchPage search(SearchQuery query) throws EstelikException {
    long h = acquire();
    try {
      return SearchPage.parseFrom(Native.testimonySearch(h, query.toByteArray()));
    } catch (InvalidProtocolBufferException e) {
      throw internal(e);
    } finally {
      release();
    }
  }

  /** The 32 lower-case hex digits of a testimony's raw 16-byte id. */
  public static String idOf(Testimony testimony) {
    StringBuilder hex = new StringBuilder();
    for (byte b : testimony.getId().toByteArray()) hex.append(String.format("%02x", b & 0xff));
    return hex.toString();
  }

  // ------------------------------------------------------------------ Attachments

  /** A stream into a new attachment; visible once the stream is closed. */
  public AttachmentOutputStream newAttachment(
      String testimonyId, String name, String mediaType, AttachmentKind kind)
      throws EstelikException {
    long h = acquire();
    try {
      int k = kind == null || kind == AttachmentKind.UNRECOGNIZED ? 0 : kind.getNumber();
      return new AttachmentOutputStream(Native.attachmentBegin(
          h, utf8(testimonyId), utf8(name), utf8(mediaType == null ? "" : mediaType), k));
    } finally {
      release();
    }
  }

  /** A verifying stream over attachment {@code index} (0-based) of a testimony. */
  public AttachmentInputStream openAttachment(String testimonyId, int index)
      throws EstelikException {
    long h = acquire();
    try {
      return new AttachmentInputStream(Native.attachmentOpen(h, utf8(testimonyId), index));
    } finally {
      release();
    }
  }

  /**
   * Random access to attachment {@code index} (0-based) of a testimony, shaped like Android's
   * {@code MediaDataSource}, for media players that seek.
   */
  public AttachmentDataSource openAttachmentDataSource(String testimonyId, int index)
      throws EstelikException {
    long h = acquire();
    try {
      return new AttachmentDataSource(Native.attachmentOpen(h, utf8(testimonyId), index));
    } finally {
      release();
    }
  }

  // ------------------------------------------------------------------ Identity, contacts, circles

  public byte[] publicKey() throws EstelikException {
    long h = acquire();
    try {
      return Native.identityPublicKey(h);
    } finally {
      release();
    }
  }

  public String fingerprint() throws EstelikException {
    long h = acquire();
    try {
      return text(Native.identityFingerprint(h));
    } finally {
      release();
    }
  }

  public String qrPayload() throws EstelikException {
    long h = acquire();
    try {
      return text(Native.identityQrPayload(h));
    } finally {
      release();
    }
  }

  public String safetyNumber(byte[] peerKey) throws EstelikException {
    long h = acquire();
    try {
      return text(Native.identitySafetyNumber(h, peerKey));
    } finally {
      release();
    }
  }

  public void addContact(byte[] publicKey, String name) throws EstelikException {
    long h = acquire();
    try {
      Native.contactAdd(h, publicKey, utf8(name));
    } finally {
      release();
    }
  }

  public void removeContact(byte[] publicKey) throws EstelikException {
    long h = acquire();
    try {
      Native.contactRemove(h, publicKey);
    } finally {
      release();
    }
  }

  public ContactList contacts() throws EstelikException {
    long h = acquire();
    try {
      return ContactList.parseFrom(Native.contactList(h));
    } catch (InvalidProtocolBufferException e) {
      throw internal(e);
    } finally {
      release();
    }
  }

  /** Creates a circle with this identity as admin; returns its 32-byte id. */
  public byte[] createCircle(String name) throws EstelikException {
    long h = acquire();
    try {
      return Native.circleCreate(h, utf8(name));
    } finally {
      release();
    }
  }

  public void addCircleMember(byte[] circleId, byte[] member) throws EstelikException {
    long h = acquire();
    try {
      Native.circleAddMember(h, circleId, member);
    } finally {
      release();
    }
  }

  public void removeCircleMember(byte[] circleId, byte[] member) throws EstelikException {
    long h = acquire();
    try {
      Native.circleRemoveMember(h, circleId, member);
    } finally {
      release();
    }
  }

  public CircleInfo circle(byte[] circleId) throws EstelikException {
    long h = acquire();
    try {
      return CircleInfo.parseFrom(Native.circleGet(h, circleId));
    } catch (InvalidProtocolBufferException e) {
      throw internal(e);
    } finally {
      release();
    }
  }

  /** Every circle this device knows. */
  public CircleList circles() throws EstelikException {
    long h = acquire();
    try {
      return CircleList.parseFrom(Native.circleList(h));
    } catch (InvalidProtocolBufferException e) {
      throw internal(e);
    } finally {
      release();
    }
  }

  /** Shares our testimony into a circle we belong to; its members get it at the next sync. */
  public void share(String testimonyId, byte[] circleId) throws EstelikException {
    long h = acquire();
    try {
      Native.testimonyShare(h, utf8(testimonyId), circleId);
    } finally {
      release();
    }
  }

  // ------------------------------------------------------------------ Auto-lock

  /**
   * Locks the vault by itself after {@code seconds} without a call (0 = never; at most a week).
   * Stored in the vault, so later openings apply it too. The first call after the deadline throws
   * LOCKED; call tick() from a timer so the keys go even if the app makes no call.
   */
  public void setAutoLockSeconds(int seconds) throws EstelikException {
    long h = acquire();
    try {
      Native.vaultSetAutoLock(h, seconds);
    } finally {
      release();
    }
  }

  /** The auto-lock setting in seconds (0 = off). */
  public int autoLockSeconds() throws EstelikException {
    long h = acquire();
    try {
      return Native.vaultGetAutoLock(h);
    } finally {
      release();
    }
  }

  /** Applies auto-lock now if it is due; true if the vault is locked afterwards. */
  public boolean tick() {
    lifetime.readLock().lock();
    try {
      return handle == 0 || Native.vaultTick(handle);
    } finally {
      lifetime.readLock().unlock();
    }
  }

  // ------------------------------------------------------------------ Sync

  /**
   * Listens on {@code hostPort} ("127.0.0.1:0" picks a free port: see Sync.port()) and answers
   * every contact until the Sync is closed or the vault locked. {@code options} and {@code
   * listener} may be null.
   */
  public Sync listen(String hostPort, SyncOptions options, SyncListener listener)
      throws EstelikException {
    SyncOptions o = options != null ? options : new SyncOptions();
    long h = acquire();
    try {
      return new Sync(
          Native.syncListen(
              h, utf8(hostPort), o.networkKey, o.idleTimeoutMs, o.maxSessions, o.intervalMs,
              listener));
    } finally {
      release();
    }
  }

  /**
   * Continuous sync with the listener at {@code hostPort}: dials (retrying with backoff), waits
   * options.intervalMs after each completed session, and again, until the Sync is closed.
   */
  public Sync dial(String hostPort, SyncOptions options, SyncListener listener)
      throws EstelikException {
    SyncOptions o = options != null ? options : new SyncOptions();
    long h = acquire();
    try {
      return new Sync(
          Native.syncDial(
              h, utf8(hostPort), o.networkKey, o.peerKey, o.idleTimeoutMs, o.maxSessions,
              o.intervalMs, listener));
    } finally {
      release();
    }
  }

  /**
   * Syncs once with the listener at {@code hostPort}, blocking until the session is over. Dials
   * options.peerKey, or else each contact in turn (a device answers only a dialer that knows its
   * key). Throws IO (cannot connect), NOT_FOUND (no contact answered there), PROTOCOL (the
   * session failed, with the reason) or LOCKED (the vault was locked meanwhile).
   */
  public SyncStats syncOnce(String hostPort, SyncOptions options, SyncListener listener)
      throws EstelikException {
    SyncOptions o = options != null ? options : new SyncOptions();
    byte[] peerKey = new byte[32];
    long h = acquire();
    try {
      long[] counters =
          Native.syncOnce(
              h, utf8(hostPort), o.networkKey, o.peerKey, o.idleTimeoutMs, o.maxSessions,
              listener, peerKey);
      return new SyncStats(counters, peerKey);
    } finally {
      release();
    }
  }

  // ------------------------------------------------------------------ Evidence

  /**
   * Exports the testimonies (ids or unique prefixes) into the new directory {@code outPath};
   * returns what was written. A bundle is plaintext outside the vault (docs/C_API.md "Evidence").
   */
  public ExportReport export(String[] testimonyIds, String outPath) throws EstelikException {
    byte[][] ids = new byte[testimonyIds.length][];
    for (int i = 0; i < ids.length; i++) ids[i] = utf8(testimonyIds[i]);
    long h = acquire();
    try {
      return ExportReport.parseFrom(Native.evidenceExport(h, ids, utf8(outPath)));
    } catch (InvalidProtocolBufferException e) {
      throw internal(e);
    } finally {
      release();
    }
  }

  /**
   * Verifies the bundle at {@code bundlePath} with no vault. {@code expectedExporter}: the 32-byte
   * key that must have signed it, or null to require an author of a testimony in it. A bundle
   * that fails a check gives a verdict with ok() false; only a path that is not a readable
   * directory throws (NOT_FOUND, IO).
   */
  public static EvidenceVerdict verify(String bundlePath, byte[] expectedExporter)
      throws EstelikException {
    byte[][] out = Native.evidenceVerify(utf8(bundlePath), expectedExporter);
    String headline = text(out[1]);
    try {
      return new EvidenceVerdict(Verdict.parseFrom(out[0]), headline);
    } catch (InvalidProtocolBufferException e) {
      throw internal(e);
    }
  }

  // ------------------------------------------------------------------ Helpers

  // The handle, kept alive (close() waits) until release().
  private long acquire() throws EstelikException {
    lifetime.readLock().lock();
    if (handle == 0) {
      lifetime.readLock().unlock();
      throw new EstelikException(EstelikException.ABORTED, "estelik", "the vault is closed");
    }
    return handle;
  }

  private void release() {
    lifetime.readLock().unlock();
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] utf8(char[] chars) {
    java.nio.ByteBuffer bytes = StandardCharsets.UTF_8.encode(java.nio.CharBuffer.wrap(chars));
    byte[] out = new byte[bytes.remaining()];
    bytes.get(out);
    if (bytes.hasArray()) Arrays.fill(bytes.array(), (byte) 0);
    return out;
  }

  private static String text(byte[] utf8) {
    return new String(utf8, StandardCharsets.UTF_8);
  }

  private static EstelikException internal(InvalidProtocolBufferException e) {
    return new EstelikException(
        EstelikException.INTERNAL, "estelik", "engine returned unparsable bytes: " + e);
  }
}
