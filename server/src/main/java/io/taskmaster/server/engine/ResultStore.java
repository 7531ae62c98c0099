package io.taskmaster.server.engine;

import io.taskmaster.broker.TaskResult;
import io.taskmaster.task.TaskError;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Results of settled tasks, oldest first, each readable until its time to live runs out or the store is full.
 * Guarded by the engine's lock.
 *
 * <p>A master keeps up to a million results for an hour, so they are stored as bytes, not objects: each result is
 * appended to a ring of large byte arrays, and an open-addressing index of primitive arrays maps task ids to their
 * place in it. A stored result then costs the garbage collector nothing (no object to trace, no old-to-young pointer
 * written on insert); kept as objects, they made every young collection scan and copy them, which cost a third of a
 * busy master's CPU. Expiry and eviction move the ring's head past the oldest entries, in insertion order, and drop
 * each array once the head has passed it; so no background thread is needed and the cost is amortised O(1). A
 * removed or replaced result is only marked: its bytes stay (and are counted in {@link #bytes()}) until the head
 * passes it, at its expiry at the latest. Both are rare (a replayed retry, a dead letter's own failure): a put whose
 * id has a stored result is refused.
 *
 * <p>An entry: length (int, the whole entry), expiry (long, ticker nanos), id hash (int), flags (byte: removed,
 * has value, has error), then the id, the value and the error's four strings, each as a length (int; -1 for null)
 * and bytes (UTF-8 for strings).
 */
final class ResultStore {
  private static final int CHUNK_BYTES = 1 << 20;
  private static final int HEADER_BYTES = 4 + 8 + 4 + 1;
  private static final byte REMOVED = 1;
  private static final byte HAS_VALUE = 2;
  private static final byte HAS_ERROR = 4;
  private static final int MIN_INDEX_SLOTS = 1024;

  private final long ttlNanos;
  private final int capacity;

  /** The ring: chunk {@code firstChunk + i} is {@code chunks.get(i)}; positions are (chunk << 32 | offset). */
  private final List<byte[]> chunks = new ArrayList<>();
  private long firstChunk;
  /** Where the oldest entry starts, and where the next one goes. */
  private long head;
  private long tail;
  /** Bytes used in each chunk (a chunk's tail part is unused when the next entry did not fit). */
  private final List<Integer> chunkUsed = new ArrayList<>();

  /** Open addressing with linear probing: position + 1 of an entry (0 = free), and the id's hash beside it. */
  private long[] slots = new long[MIN_INDEX_SLOTS];
  private int[] hashes = new int[MIN_INDEX_SLOTS];
  private int live;
  /** Bytes of the entries between head and tail, removed ones included until the head passes them. */
  private long entryBytes;

  ResultStore(long ttlNanos, int capacity) {
    this.ttlNanos = ttlNanos;
    this.capacity = capacity;
  }

  void add(TaskResult result, long nowNanos) {
    if (ttlNanos == 0 || capacity <= 0) {
      return; // results only go to those waiting
    }
    expire(nowNanos);
    byte[] id = utf8(result.taskId());
    int hash = result.taskId().hashCode();
    int slot = find(hash, id);
    if (slot >= 0) {
      markRemoved(slot);
    }
    while (live >= capacity) {
      evictOldest();
    }
    long position = append(result, id, hash, nowNanos + ttlNanos);
    insert(hash, position);
    live++;
  }

  /** The memory the stored results take: their bytes in the ring, and the index past its fixed minimum. */
  long bytes() {
    return entryBytes + 12L * (slots.length - MIN_INDEX_SLOTS);
  }

  TaskResult get(String taskId, long nowNanos) {
    int slot = find(taskId.hashCode(), utf8(taskId));
    if (slot < 0) {
      return null;
    }
    long position = slots[slot] - 1;
    return expiresAt(position) - nowNanos < 0 ? null : read(position);
  }

  boolean contains(String taskId, long nowNanos) {
    int slot = find(taskId.hashCode(), utf8(taskId));
    return slot >= 0 && expiresAt(slots[slot] - 1) - nowNanos >= 0;
  }

  void remove(String taskId) {
    int slot = find(taskId.hashCode(), utf8(taskId));
    if (slot >= 0) {
      markRemoved(slot);
    }
  }

  /** The ids of the stored results, oldest first. */
  List<String> ids() {
    List<String> ids = new ArrayList<>(live);
    for (long position = head; position != tail; position = next(position)) {
      byte[] chunk = chunk(position);
      int offset = offset(position);
      if ((chunk[offset + 16] & REMOVED) == 0) {
        int length = readInt(chunk, offset + HEADER_BYTES);
        ids.add(new String(chunk, offset + HEADER_BYTES + 4, length, StandardCharsets.UTF_8));
      }
    }
    return ids;
  }

  /** How long ago a stored result was stored. */
  long ageNanos(String taskId, long nowNanos) {
    int slot = find(taskId.hashCode(), utf8(taskId));
    return slot < 0 ? 0 : Math.max(0, ttlNanos - (expiresAt(slots[slot] - 1) - nowNanos));
  }

  int size() {
    return live;
  }

  private void expire(long nowNanos) {
    while (head != tail && expiresAt(head) - nowNanos < 0) {
      evictOldest();
    }
  }

  /** Moves the head past the oldest entry, taking it out of the index unless it was removed before. */
  private void evictOldest() {
    byte[] chunk = chunk(head);
    int offset = offset(head);
    if ((chunk[offset + 16] & REMOVED) == 0) {
      int slot = slotOf(readInt(chunk, offset + 12), head);
      deleteSlot(slot);
      live--;
    }
    entryBytes -= readInt(chunk, offset);
    head = next(head);
    dropChunksBeforeHead();
  }

  private void dropChunksBeforeHead() {
    while (firstChunk < chunkOf(head)) {
      chunks.remove(0);
      chunkUsed.remove(0);
      firstChunk++;
    }
  }

  private void markRemoved(int slot) {
    long position = slots[slot] - 1;
    chunk(position)[offset(position) + 16] |= REMOVED;
    deleteSlot(slot);
    live--;
  }

  // ---- the ring

  private long append(TaskResult result, byte[] id, int hash, long expiresAt) {
    byte[] value = result.value();
    TaskError error = result.error();
    byte[][] strings = error == null ? null : new byte[][] {
        utf8(error.type()), utf8(error.message()), utf8(error.stackTrace()), utf8(error.workerId())};
    long length = HEADER_BYTES + 4L + id.length + 4L + (value == null ? 0 : value.length);
    if (strings != null) {
      for (byte[] string : strings) {
        length += 4L + (string == null ? 0 : string.length);
      }
    }
    if (length > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("a result of " + length + " bytes cannot be stored");
    }
    long position = reserve((int) length);
    byte[] chunk = chunk(position);
    int at = offset(position);
    at = writeInt(chunk, at, (int) length);
    at = writeLong(chunk, at, expiresAt);
    at = writeInt(chunk, at, hash);
    chunk[at++] = (byte) ((value != null ? HAS_VALUE : 0) | (error != null ? HAS_ERROR : 0));
    at = writeBytes(chunk, at, id);
    at = writeBytes(chunk, at, value);
    if (strings != null) {
      for (byte[] string : strings) {
        at = writeBytes(chunk, at, string);
      }
    }
    entryBytes += length;
    return position;
  }

  /** Room for an entry at the tail: in the last chunk if it fits, else in a new chunk (its own if it is large). */
  private long reserve(int length) {
    if (chunks.isEmpty() || offset(tail) + length > chunks.get(chunks.size() - 1).length) {
      long chunk = chunks.isEmpty() ? chunkOf(tail) + 1 : firstChunk + chunks.size();
      if (chunks.isEmpty()) {
        firstChunk = chunk;
      }
      chunks.add(new byte[Math.max(CHUNK_BYTES, length)]);
      chunkUsed.add(0);
      boolean empty = head == tail;
      tail = chunk << 32; // the rest of the previous chunk stays unused
      if (empty) {
        head = tail; // an empty ring: the head moves with the tail, and the chunks behind it go
        dropChunksBeforeHead();
      }
    }
    long position = tail;
    tail += length;
    chunkUsed.set(chunks.size() - 1, offset(tail));
    return position;
  }

  /** The entry after the one at {@code position}: further in its chunk, or at the start of the next. */
  private long next(long position) {
    int index = (int) (chunkOf(position) - firstChunk);
    int end = offset(position) + readInt(chunks.get(index), offset(position));
    if (end < chunkUsed.get(index) || index == chunks.size() - 1) {
      return (chunkOf(position) << 32) | end;
    }
    return (chunkOf(position) + 1) << 32;
  }

  private TaskResult read(long position) {
    byte[] chunk = chunk(position);
    int at = offset(position) + 16;
    byte flags = chunk[at++];
    int idLength = readInt(chunk, at);
    String taskId = new String(chunk, at + 4, idLength, StandardCharsets.UTF_8);
    at += 4 + idLength;
    byte[] value = null;
    int valueLength = readInt(chunk, at);
    if ((flags & HAS_VALUE) != 0) {
      value = Arrays.copyOfRange(chunk, at + 4, at + 4 + valueLength);
    }
    at += 4 + Math.max(0, valueLength);
    TaskError error = null;
    if ((flags & HAS_ERROR) != 0) {
      String[] strings = new String[4];
      for (int i = 0; i < 4; i++) {
        int length = readInt(chunk, at);
        strings[i] = length < 0 ? null : new String(chunk, at + 4, length, StandardCharsets.UTF_8);
        at += 4 + Math.max(0, length);
      }
      error = new TaskError(strings[0], strings[1], strings[2], strings[3]);
    }
    return new TaskResult(taskId, value, error);
  }

  private long expiresAt(long position) {
    return readLong(chunk(position), offset(position) + 4);
  }

  private boolean idEquals(long position, byte[] id) {
    byte[] chunk = chunk(position);
    int at = offset(position) + HEADER_BYTES;
    int length = readInt(chunk, at);
    return length == id.length && Arrays.equals(chunk, at + 4, at + 4 + length, id, 0, id.length);
  }

  private byte[] chunk(long position) {
    return chunks.get((int) (chunkOf(position) - firstChunk));
  }

  private static long chunkOf(long position) {
    return position >>> 32;
  }

  private static int offset(long position) {
    return (int) position;
  }

  // ---- the index

  /** The slot holding the entry with this id, or -1. */
  private int find(int hash, byte[] id) {
    int mask = slots.length - 1;
    for (int slot = spread(hash) & mask; slots[slot] != 0; slot = (slot + 1) & mask) {
      if (hashes[slot] == hash && idEquals(slots[slot] - 1, id)) {
        return slot;
      }
    }
    return -1;
  }

  /** The slot that points at {@code position}, which must be indexed. */
  private int slotOf(int hash, long position) {
    int mask = slots.length - 1;
    int slot = spread(hash) & mask;
    while (slots[slot] != position + 1) {
      slot = (slot + 1) & mask;
    }
    return slot;
  }

  private void insert(int hash, long position) {
    if ((live + 1) * 2L > slots.length) {
      resize(slots.length * 2);
    }
    int mask = slots.length - 1;
    int slot = spread(hash) & mask;
    while (slots[slot] != 0) {
      slot = (slot + 1) & mask;
    }
    slots[slot] = position + 1;
    hashes[slot] = hash;
  }

  /** Empties a slot and shifts back the entries after it that would no longer be found (no tombstones). */
  private void deleteSlot(int slot) {
    int mask = slots.length - 1;
    int gap = slot;
    for (int next = (gap + 1) & mask; slots[next] != 0; next = (next + 1) & mask) {
      int home = spread(hashes[next]) & mask;
      // The entry at `next` may move into the gap if its home is not cyclically within (gap, next].
      boolean stays = gap <= next ? (home > gap && home <= next) : (home > gap || home <= next);
      if (!stays) {
        slots[gap] = slots[next];
        hashes[gap] = hashes[next];
        gap = next;
      }
    }
    slots[gap] = 0;
    if (slots.length > MIN_INDEX_SLOTS && live * 8L < slots.length) {
      resize(slots.length / 2); // after a burst, the index shrinks back
    }
  }

  private void resize(int length) {
    long[] oldSlots = slots;
    int[] oldHashes = hashes;
    slots = new long[length];
    hashes = new int[length];
    int mask = length - 1;
    for (int i = 0; i < oldSlots.length; i++) {
      if (oldSlots[i] != 0) {
        int slot = spread(oldHashes[i]) & mask;
        while (slots[slot] != 0) {
          slot = (slot + 1) & mask;
        }
        slots[slot] = oldSlots[i];
        hashes[slot] = oldHashes[i];
      }
    }
  }

  /** Murmur3's finaliser: every bit of the id's hash reaches the low bits the mask keeps. */
  private static int spread(int hash) {
    hash ^= hash >>> 16;
    hash *= 0x85ebca6b;
    hash ^= hash >>> 13;
    hash *= 0xc2b2ae35;
    return hash ^ (hash >>> 16);
  }

  // ---- bytes

  private static byte[] utf8(String string) {
    return string == null ? null : string.getBytes(StandardCharsets.UTF_8);
  }

  private static int writeBytes(byte[] chunk, int at, byte[] bytes) {
    if (bytes == null) {
      return writeInt(chunk, at, -1);
    }
    at = writeInt(chunk, at, bytes.length);
    System.arraycopy(bytes, 0, chunk, at, bytes.length);
    return at + bytes.length;
  }

  private static int writeInt(byte[] chunk, int at, int value) {
    INT.set(chunk, at, value);
    return at + 4;
  }

  private static int writeLong(byte[] chunk, int at, long value) {
    LONG.set(chunk, at, value);
    return at + 8;
  }

  private static int readInt(byte[] chunk, int at) {
    return (int) INT.get(chunk, at);
  }

  private static long readLong(byte[] chunk, int at) {
    return (long) LONG.get(chunk, at);
  }

  private static final java.lang.invoke.VarHandle INT =
      java.lang.invoke.MethodHandles.byteArrayViewVarHandle(int[].class, java.nio.ByteOrder.LITTLE_ENDIAN);
  private static final java.lang.invoke.VarHandle LONG =
      java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);
}
