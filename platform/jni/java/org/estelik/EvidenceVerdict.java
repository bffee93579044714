package org.estelik;

import org.estelik.proto.Verdict;

/**
 * The outcome of Vault.verify: ok() if every check passed; verdict() is the full estelik.pb.Verdict
 * (every problem and the facts that could be read).
 */
public final class EvidenceVerdict {
  private final Verdict verdict;
  private final String headline;

  EvidenceVerdict(Verdict verdict, String headline) {
    this.verdict = verdict;
    this.headline = headline;
  }

  public boolean ok() {
    return verdict.getOk();
  }

  public Verdict verdict() {
    return verdict;
  }

  /** Empty if ok(); otherwise the first problem, for a person. */
  public String headline() {
    return headline;
  }
}
