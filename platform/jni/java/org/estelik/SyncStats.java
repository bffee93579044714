package org.estelik;

/** What one sync session did (estelik_sync_stats). Counts are of that session only. */
public final class SyncStats {
  public final long opsReceived; // ops in batches from the peer
  public final long opsAccepted; // of those, new here and applied
  public final long opsSent;
  public final long chunksWanted; // attachment chunks we lacked and asked for
  public final long chunksReceived;
  public final long chunksSent;
  public final long attachmentBytesReceived; // sealed attachment bytes
  public final long attachmentBytesSent;
  public final long bytesIn; // on the wire
  public final long bytesOut;
  public final int circles; // circles replicated with this peer
  /** The peer's 32-byte public key once the handshake authenticated it, else null. */
  public final byte[] peerKey;

  /** From the JNI glue: the 12 counters in declaration order (the last is has_peer). */
  SyncStats(long[] c, byte[] peerKey) {
    opsReceived = c[0];
    opsAccepted = c[1];
    opsSent = c[2];
    chunksWanted = c[3];
    chunksReceived = c[4];
    chunksSent = c[5];
    attachmentBytesReceived = c[6];
    attachmentBytesSent = c[7];
    bytesIn = c[8];
    bytesOut = c[9];
    circles = (int) c[10];
    this.peerKey = c[11] != 0 ? peerKey : null;
  }
}
