package io.taskmaster.server.engine;

import java.time.Duration;

/**
 * Limits of the queue engine.
 *
 * @param maxQueueLength ready tasks one queue may hold; puts beyond it are refused with BUSY, never dropped
 * @param resultTtl how long a settled task's result stays readable
 * @param maxStoredResults results kept at most; the oldest go first when more arrive
 * @param visibilityTimeout how long a lease hides a task unless extended; then the lease reaper gives the task to
 *     another consumer
 */
public record EngineSettings(int maxQueueLength, Duration resultTtl, int maxStoredResults, Duration visibilityTimeout) {
  public EngineSettings {
    if (maxQueueLength < 1) {
      throw new IllegalArgumentException("maxQueueLength must be at least 1, was " + maxQueueLength);
    }
    if (resultTtl.isNegative() || resultTtl.isZero()) {
      throw new IllegalArgumentException("resultTtl must be positive, was " + resultTtl);
    }
    if (maxStoredResults < 1) {
      throw new IllegalArgumentException("maxStoredResults must be at least 1, was " + maxStoredResults);
    }
    if (visibilityTimeout.isNegative() || visibilityTimeout.isZero()) {
      throw new IllegalArgumentException("visibilityTimeout must be positive, was " + visibilityTimeout);
    }
  }

  public EngineSettings withVisibilityTimeout(Duration timeout) {
    return new EngineSettings(maxQueueLength, resultTtl, maxStoredResults, timeout);
  }

  public static EngineSettings defaults() {
    return new EngineSettings(1_000_000, Duration.ofHours(1), 1_000_000, Duration.ofSeconds(30));
  }
}
