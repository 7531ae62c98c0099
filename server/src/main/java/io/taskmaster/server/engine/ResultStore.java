package io.taskmaster.server.engine;

import io.taskmaster.broker.TaskResult;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Results of settled tasks, oldest first, each readable until its time to live runs out or the store is full.
 * Expired entries are dropped on each insert from the head of the insertion order, so no background thread is
 * needed and the cost is amortised O(1). Guarded by the engine's lock.
 */
final class ResultStore {
  private record Stored(TaskResult result, long expiresAtNanos) {}

  private final LinkedHashMap<String, Stored> byTaskId = new LinkedHashMap<>();
  private long bytes;
  private final long ttlNanos;
  private final int capacity;

  ResultStore(long ttlNanos, int capacity) {
    this.ttlNanos = ttlNanos;
    this.capacity = capacity;
  }

  void add(TaskResult result, long nowNanos) {
    if (ttlNanos == 0) {
      return; // results only go to those waiting
    }
    expire(nowNanos);
    if (byTaskId.size() >= capacity) {
      Iterator<Stored> oldest = byTaskId.values().iterator();
      bytes -= size(oldest.next().result);
      oldest.remove();
    }
    Stored replaced = byTaskId.put(result.taskId(), new Stored(result, nowNanos + ttlNanos));
    bytes += size(result) - (replaced == null ? 0 : size(replaced.result));
  }

  /** An estimate of the memory a result takes. */
  static long size(TaskResult result) {
    long size = 64L + 2L * result.taskId().length() + (result.value() == null ? 0 : result.value().length);
    if (result.error() != null) {
      size += 2L * (result.error().type().length() + result.error().message().length()
          + result.error().stackTrace().length() + result.error().workerId().length());
    }
    return size;
  }

  /** The estimated memory of every stored result. */
  long bytes() {
    return bytes;
  }

  TaskResult get(String taskId, long nowNanos) {
    Stored stored = byTaskId.get(taskId);
    return stored == null || stored.expiresAtNanos - nowNanos < 0 ? null : stored.result;
  }

  boolean contains(String taskId, long nowNanos) {
    return get(taskId, nowNanos) != null;
  }

  void remove(String taskId) {
    Stored removed = byTaskId.remove(taskId);
    if (removed != null) {
      bytes -= size(removed.result);
    }
  }

  /** The ids of the stored results, oldest first. */
  java.util.List<String> ids() {
    return new java.util.ArrayList<>(byTaskId.keySet());
  }

  /** How long ago a stored result was stored. */
  long ageNanos(String taskId, long nowNanos) {
    Stored stored = byTaskId.get(taskId);
    return stored == null ? 0 : Math.max(0, ttlNanos - (stored.expiresAtNanos - nowNanos));
  }

  int size() {
    return byTaskId.size();
  }

  private void expire(long nowNanos) {
    Iterator<Map.Entry<String, Stored>> it = byTaskId.entrySet().iterator();
    while (it.hasNext()) {
      Stored oldest = it.next().getValue();
      if (oldest.expiresAtNanos - nowNanos >= 0) {
        return;
      }
      bytes -= size(oldest.result);
      it.remove();
    }
  }
}
