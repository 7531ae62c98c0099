package io.taskmaster.server.journal;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** A growable byte array that records are encoded into, big-endian like the wire protocol. Not thread-safe. */
final class RecordBuffer {
  private byte[] bytes;
  private int size;

  RecordBuffer(int capacity) {
    bytes = new byte[capacity];
  }

  int size() {
    return size;
  }

  byte[] array() {
    return bytes;
  }

  void clear() {
    size = 0;
  }

  /** Keeps the first {@code length} bytes: drops a record whose encoding failed half way. */
  void truncate(int length) {
    size = length;
  }

  private void ensure(int more) {
    if (size + more > bytes.length) {
      bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + more));
    }
  }

  void putByte(int value) {
    ensure(1);
    bytes[size++] = (byte) value;
  }

  void putInt(int value) {
    ensure(4);
    setInt(size, value);
    size += 4;
  }

  void setInt(int at, int value) {
    bytes[at] = (byte) (value >>> 24);
    bytes[at + 1] = (byte) (value >>> 16);
    bytes[at + 2] = (byte) (value >>> 8);
    bytes[at + 3] = (byte) value;
  }

  void putLong(long value) {
    putInt((int) (value >>> 32));
    putInt((int) value);
  }

  void putBytes(byte[] value) {
    putInt(value.length);
    ensure(value.length);
    System.arraycopy(value, 0, bytes, size, value.length);
    size += value.length;
  }

  /** A string as its UTF-8 length and bytes; null is written as length -1. */
  void putString(String value) {
    if (value == null) {
      putInt(-1);
      return;
    }
    putBytes(value.getBytes(StandardCharsets.UTF_8));
  }

  void skip(int count) {
    ensure(count);
    size += count;
  }
}
