package org.estelik;

/**
 * Receives the events of a sync. onEvent runs on the sync's network thread (never the caller's),
 * one event at a time per sync, with no vault lock held: it may call the Vault, but should return
 * quickly, since the sync's sessions wait for it. An exception it throws is caught and ignored.
 */
public interface SyncListener {
  void onEvent(SyncEvent event);
}
