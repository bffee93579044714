package org.estelik;

import java.io.IOException;
import java.io.OutputStream;
import org.estelik.proto.AttachmentInfo;

/**
 * Streams a new attachment into a testimony (Vault.newAttachment). The attachment becomes
 * visible only when close() succeeds; abort() (or a failed close) leaves nothing. Memory stays
 * bounded whatever the size. Not for concurrent use by several threads.
 */
public final class AttachmentOutputStream extends OutputStream {
  private long writer;
  private AttachmentInfo info;

  AttachmentOutputStream(long writer) {
    this.writer = writer;
  }

  @Override
  public void write(int b) throws IOException {
    write(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public void write(byte[] data, int offset, int length) throws IOException {
    if (offset < 0 || length < 0 || offset + length > data.length) {
      throw new IndexOutOfBoundsException();
    }
    if (writer == 0) throw new IOException("attachment stream is closed");
    Native.attachmentWrite(writer, data, offset, length);
  }

  /** Finishes the attachment (idempotent). The writer is released even when this throws. */
  @Override
  public void close() throws IOException {
    if (writer == 0) return;
    long w = writer;
    writer = 0;
    info = AttachmentInfo.parseFrom(Native.attachmentFinish(w));
  }

  /** Discards everything written. Idempotent; does nothing after close(). */
  public void abort() {
    if (writer == 0) return;
    long w = writer;
    writer = 0;
    Native.attachmentAbort(w);
  }

  /** The stored attachment's description, after a successful close(); otherwise null. */
  public AttachmentInfo info() {
    return info;
  }
}
