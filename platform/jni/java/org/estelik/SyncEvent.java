package org.estelik;

/** One event of a sync (estelik_sync_event), delivered to a SyncListener. */
public final class SyncEvent {
  /** Mirrors estelik_sync_event_kind. */
  public enum Kind {
    SESSION_STARTED, // a connection is up; the handshake starts
    PROGRESS, // one step: a batch of ops sent or received, a chunk sent or stored
    SESSION_ENDED, // succeeded / reason / stats say how
    CONNECTION_REFUSED, // an inbound connection over a limit was closed
    DIAL_RETRY, // a dial failed (reason) and will be retried
    PEER_FOUND // a LAN browser heard a beacon (estelik_sync_browse; not bound in Java yet)
  }

  public final Kind kind;
  public final long sessionId;
  public final String peerAddress;
  public final boolean inbound;
  public final boolean succeeded; // SESSION_ENDED
  public final String reason; // SESSION_ENDED ("done" or why), CONNECTION_REFUSED, DIAL_RETRY
  public final SyncStats stats; // PROGRESS and SESSION_ENDED (zeros otherwise)

  SyncEvent(
      Kind kind,
      long sessionId,
      String peerAddress,
      boolean inbound,
      boolean succeeded,
      String reason,
      SyncStats stats) {
    this.kind = kind;
    this.sessionId = sessionId;
    this.peerAddress = peerAddress;
    this.inbound = inbound;
    this.succeeded = succeeded;
    this.reason = reason;
    this.stats = stats;
  }

  @Override
  public String toString() {
    return kind + " #" + sessionId + " " + peerAddress + (reason.isEmpty() ? "" : " (" + reason + ")");
  }
}
