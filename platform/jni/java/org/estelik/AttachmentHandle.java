package org.estelik;

import java.io.IOException;
import org.estelik.proto.AttachmentInfo;

/**
 * The native attachment reader behind AttachmentInputStream and AttachmentDataSource: what both
 * do with it (info, verify, close) and the one closed check. Not for concurrent use.
 */
final class AttachmentHandle {
  private long reader;
  private final String closedMessage;

  AttachmentHandle(long reader, String closedMessage) {
    this.reader = reader;
    this.closedMessage = closedMessage;
  }

  /** The native reader; throws IOException once closed. */
  long get() throws IOException {
    if (reader == 0) throw new IOException(closedMessage);
    return reader;
  }

  AttachmentInfo info() throws IOException {
    return AttachmentInfo.parseFrom(Native.attachmentInfo(get()));
  }

  void verify() throws IOException {
    Native.attachmentVerify(get());
  }

  /** Idempotent. */
  void close() {
    if (reader == 0) return;
    long r = reader;
    reader = 0;
    Native.attachmentClose(r);
  }
}
