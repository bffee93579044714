package org.estelik;

import java.io.Closeable;
import java.io.IOException;
import org.estelik.proto.AttachmentInfo;

/**
 * Random access to an attachment (Vault.openAttachmentDataSource), shaped like Android's
 * {@code android.media.MediaDataSource} so a player can seek in a long recording: an Android app
 * subclasses MediaDataSource and forwards {@code readAt}, {@code getSize} and {@code close} here
 * (platform/jni/README.md). Every read authenticates only the 64 KiB chunks it touches: altered
 * bytes throw EstelikException with code CORRUPT. The whole-content hash is checked only by
 * {@link #verify()}. Not for concurrent use by several threads.
 */
public final class AttachmentDataSource implements Closeable {
  private final AttachmentHandle handle;

  AttachmentDataSource(long reader) {
    this.handle = new AttachmentHandle(reader, "attachment data source is closed");
  }

  /**
   * Copies up to {@code size} bytes at byte {@code position} of the attachment into {@code
   * buffer[offset..]}. Returns how many (fewer only at the end), or -1 when {@code position} is
   * at or past the end (MediaDataSource's end of stream); 0 when {@code size} is 0.
   */
  public int readAt(long position, byte[] buffer, int offset, int size) throws IOException {
    if (position < 0 || offset < 0 || size < 0 || offset > buffer.length - size) {
      throw new IndexOutOfBoundsException();
    }
    long reader = handle.get();
    if (size == 0) return 0;
    return Native.attachmentReadAt(reader, position, buffer, offset, size);
  }

  /** The attachment's size in bytes. */
  public long getSize() throws IOException {
    return Native.attachmentSize(handle.get());
  }

  /** The attachment's name, media type, size and content hash. */
  public AttachmentInfo info() throws IOException {
    return handle.info();
  }

  /** Reads the whole attachment and checks every chunk, their count and the content hash. */
  public void verify() throws IOException {
    handle.verify();
  }

  @Override
  public void close() {
    handle.close();
  }
}
