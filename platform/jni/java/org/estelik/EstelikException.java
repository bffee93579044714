package org.estelik;

import java.io.IOException;

/**
 * An error from the Estelik engine: a code (the estelik_status values of estelik.h, mirrored by
 * the constants below), the domain that code belongs to ("estelik", "sqlite" or "os") and a
 * message a person can act on ("wrong passphrase"). A call that throws changed nothing.
 */
public final class EstelikException extends IOException {
  public static final int INVALID_ARGUMENT = 1;
  public static final int NOT_FOUND = 2;
  public static final int ALREADY_EXISTS = 3;
  public static final int WRONG_PASSPHRASE = 4;
  public static final int CORRUPT = 5;
  public static final int IO = 6;
  public static final int LOCKED = 7;
  public static final int PERMISSION_DENIED = 8;
  public static final int PROTOCOL = 9;
  public static final int LIMIT_EXCEEDED = 10;
  public static final int UNSUPPORTED = 11;
  public static final int ABORTED = 12;
  public static final int INTERNAL = 13;

  private static final long serialVersionUID = 1L;
  private final int code;
  private final String domain;

  /** Called by the JNI glue. */
  public EstelikException(int code, String domain, String message) {
    super(message);
    this.code = code;
    this.domain = domain;
  }

  /** The estelik_status code (when domain() is "estelik"). */
  public int code() {
    return code;
  }

  public String domain() {
    return domain;
  }
}
