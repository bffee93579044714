package org.estelik;

/**
 * A running listener or continuous dial (estelik_sync). close() stops it (sessions end, its keys
 * are wiped) and frees it; a panic-lock or auto-lock of its vault stops it too (the object then
 * only needs closing). Thread-safe.
 */
public final class Sync implements AutoCloseable {
  private long handle; // estelik_sync*, 0 once closing
  private long listener; // the glue's listener context, freed with the handle
  private int stopping; // stop() calls in progress on `handle`
  private final int port;

  Sync(long[] handles) {
    this.handle = handles[0];
    this.listener = handles[1];
    this.port = (int) handles[2];
  }

  /** The port a listener is bound to (0 for a dial). */
  public int port() {
    return port;
  }

  /**
   * Stops without freeing: no new connections, open sessions end. Returns once the network thread
   * is gone (when called from this sync's own listener: at once, the rest follows). Idempotent.
   */
  public void stop() throws EstelikException {
    long h;
    synchronized (this) {
      if (handle == 0) return;
      h = handle;
      ++stopping;
    }
    // Not under the monitor: stopping waits for the network thread, whose listener may call us.
    try {
      Native.syncStop(h);
    } finally {
      synchronized (this) {
        --stopping;
        notifyAll();
      }
    }
  }

  /**
   * Stops and frees. Idempotent. Must not be called from this sync's own listener (that throws
   * IllegalStateException; call stop() there and close() later).
   */
  @Override
  public void close() {
    long h;
    long l;
    synchronized (this) {
      if (handle == 0) return;
      h = handle;
      l = listener;
    }
    try {
      Native.syncStop(h);
    } catch (EstelikException ignored) {
      // stop never fails on a valid handle
    }
    synchronized (this) {
      if (handle == 0) return; // closed meanwhile by another thread
      boolean interrupted = false;
      while (stopping > 0) {
        try {
          wait();
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      if (interrupted) Thread.currentThread().interrupt();
      Native.syncFree(h, l); // throws IllegalStateException from the own listener
      handle = 0;
      listener = 0;
    }
  }
}
