package io.taskmaster.server.journal;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Reads the fields of one record's payload. A record whose checksum matched can still be undecodable (written by a
 * newer version, or a bug): every read is bounds-checked and fails with {@link IllegalArgumentException}.
 */
final class RecordInput {
  private final ByteBuffer buffer;

  RecordInput(ByteBuffer buffer) {
    this.buffer = buffer;
  }

  private void need(int count) {
    if (count < 0 || buffer.remaining() < count) {
      throw new IllegalArgumentException("record ends early: " + count + " more bytes needed, "
          + buffer.remaining() + " left");
    }
  }

  int getByte() {
    need(1);
    return buffer.get() & 0xFF;
  }

  int getInt() {
    need(4);
    return buffer.getInt();
  }

  long getLong() {
    need(8);
    return buffer.getLong();
  }

  byte[] getBytes() {
    return getRaw(getInt());
  }

  /** {@code length} bytes with no length prefix of their own. */
  byte[] getRaw(int length) {
    need(length);
    byte[] value = new byte[length];
    buffer.get(value);
    return value;
  }

  String getString() {
    int length = getInt();
    if (length == -1) {
      return null;
    }
    need(length);
    String value = new String(buffer.array(), buffer.arrayOffset() + buffer.position(), length, StandardCharsets.UTF_8);
    buffer.position(buffer.position() + length);
    return value;
  }

  boolean exhausted() {
    return !buffer.hasRemaining();
  }
}
