package org.estelik;

/** Options of a sync (estelik_sync_options); the defaults suit most shells. */
public final class SyncOptions {
  /** The community's 32-byte network key, or null for the public default. */
  public byte[] networkKey;
  /** Cut a session when nothing moved this long; 0 = 60 000 ms. */
  public int idleTimeoutMs;
  /** Open sessions at once; 0 = 64. */
  public int maxSessions;
  /** Continuous dial: pause between rounds; 0 = 60 000 ms. */
  public int intervalMs;
  /**
   * Dials: the 32-byte public key of the contact whose device is at the address, or null when
   * unknown (then every contact is tried in turn, one connection each). Ignored by listen.
   */
  public byte[] peerKey;

  public SyncOptions networkKey(byte[] key) {
    this.networkKey = key;
    return this;
  }

  public SyncOptions peerKey(byte[] key) {
    this.peerKey = key;
    return this;
  }

  public SyncOptions intervalMs(int ms) {
    this.intervalMs = ms;
    return this;
  }
}
