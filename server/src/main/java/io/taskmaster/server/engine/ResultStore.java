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
  private final long ttlNanos;
  private final int capacity;

  ResultStore(long ttlNanos, int capacity) {
    this.ttlNanos = ttlNanos;
    this.capacity = capacity;
  }

  void add(TaskResult result, long nowNanos) {
    expire(nowNanos);
    if (byTaskId.size() >= capacity) {
      Iterator<?> oldest = byTaskId.values().iterator();
      oldest.next();
      oldest.remove();
    }
    byTaskId.put(result.taskId(), new Stored(result, nowNanos + ttlNanos));
  }

  TaskResult get(String taskId, long nowNanos) {
    Stored stored = byTaskId.get(taskId);
    return stored == null || stored.expiresAtNanos - nowNanos < 0 ? null : stored.result;
  }

  boolean contains(String taskId, long nowNanos) {
    return get(taskId, nowNanos) != null;
  }

  void remove(String taskId) {
    byTaskId.remove(taskId);
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
    while (it.hasNext() && it.next().getValue().expiresAtNanos - nowNanos < 0) {
      it.remove();
    }
  }
}
