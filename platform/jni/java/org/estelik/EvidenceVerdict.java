package org.estelik;

/**
 * The outcome of Vault.verify: ok() if every check passed; json() is the full verdict (every
 * problem and the facts that could be read; keys in docs/C_API.md "Evidence").
 */
public final class EvidenceVerdict {
  private final boolean ok;
  private final String json;
  private final String headline;

  EvidenceVerdict(boolean ok, String json, String headline) {
    this.ok = ok;
    this.json = json;
    this.headline = headline;
  }

  public boolean ok() {
    return ok;
  }

  public String json() {
    return json;
  }

  /** Empty if ok(); otherwise the first problem, for a person. */
  public String headline() {
    return headline;
  }
}
