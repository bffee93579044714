package org.estelik;

import java.io.IOException;
import java.io.InputStream;
import org.estelik.proto.AttachmentInfo;

/**
 * Reads an attachment (Vault.openAttachment), authenticating every chunk; at the end of the
 * stream the whole content hash has been checked. An altered byte throws EstelikException with
 * code CORRUPT. Not for concurrent use by several threads.
 */
public final class AttachmentInputStream extends InputStream {
  private final AttachmentHandle handle;

  AttachmentInputStream(long reader) {
    this.handle = new AttachmentHandle(reader, "attachment stream is closed");
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    int n = read(one, 0, 1);
    return n < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] out, int offset, int length) throws IOException {
    if (offset < 0 || length < 0 || offset + length > out.length) {
      throw new IndexOutOfBoundsException();
    }
    long reader = handle.get();
    if (length == 0) return 0;
    return Native.attachmentRead(reader, out, offset, length);
  }

  /** The attachment's name, media type, size and content hash. */
  public AttachmentInfo info() throws IOException {
    return handle.info();
  }

  /** Reads the whole attachment independently of this stream's position and checks it all. */
  public void verify() throws IOException {
    handle.verify();
  }

  @Override
  public void close() {
    handle.close();
  }
}
