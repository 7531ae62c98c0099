package io.taskmaster.server.engine;

import java.time.Duration;
import java.util.Map;

/**
 * Limits and delivery rules of the queue engine.
 *
 * @param maxQueueLength ready tasks one queue may hold; puts beyond it are refused with BUSY, never dropped
 * @param resultTtl how long a settled task's result stays readable; zero: a result only goes to those already
 *     waiting for it (a private master whose producers all wait, such as a process pool's)
 * @param maxStoredResults results kept at most; the oldest go first when more arrive
 * @param visibilityTimeout how long a lease hides a task unless extended; then the lease reaper gives the task to
 *     another consumer
 * @param maxAttempts deliveries a task gets before it is dead-lettered, counting failures, expired leases and lost
 *     consumers (1 means no retry)
 * @param retryBackoff the delay before the first retry; each further retry doubles it, up to {@code
 *     maxRetryBackoff}, with jitter
 * @param maxRetryBackoff the longest delay between two attempts
 * @param maxHeldBytes memory the pending tasks and stored results may take (an estimate from their sizes); puts
 *     beyond it are refused with BUSY until workers drain the queues, so the master never runs out of memory
 * @param queueVisibilityTimeouts visibility timeouts of named queues, overriding {@code visibilityTimeout} for them
 */
public record EngineSettings(
    int maxQueueLength,
    Duration resultTtl,
    int maxStoredResults,
    Duration visibilityTimeout,
    int maxAttempts,
    Duration retryBackoff,
    Duration maxRetryBackoff,
    long maxHeldBytes,
    Map<String, Duration> queueVisibilityTimeouts) {

  public EngineSettings {
    if (maxQueueLength < 1) {
      throw new IllegalArgumentException("maxQueueLength must be at least 1, was " + maxQueueLength);
    }
    if (resultTtl.isNegative()) {
      throw new IllegalArgumentException("resultTtl must not be negative, was " + resultTtl);
    }
    if (maxStoredResults < 1) {
      throw new IllegalArgumentException("maxStoredResults must be at least 1, was " + maxStoredResults);
    }
    requirePositive("visibilityTimeout", visibilityTimeout);
    if (maxAttempts < 1) {
      throw new IllegalArgumentException("maxAttempts must be at least 1 (1: no retry), was " + maxAttempts);
    }
    requirePositive("retryBackoff", retryBackoff);
    if (maxRetryBackoff.compareTo(retryBackoff) < 0) {
      throw new IllegalArgumentException("maxRetryBackoff (" + maxRetryBackoff + ") must not be below retryBackoff ("
          + retryBackoff + ")");
    }
    if (maxHeldBytes < 1) {
      throw new IllegalArgumentException("maxHeldBytes must be positive, was " + maxHeldBytes);
    }
    queueVisibilityTimeouts = Map.copyOf(queueVisibilityTimeouts);
    queueVisibilityTimeouts.forEach((queue, timeout) -> requirePositive("the lease timeout of queue '" + queue + "'",
        timeout));
  }

  /** The visibility timeout of a queue: its own, or the default. */
  public Duration visibilityTimeout(String queue) {
    return queueVisibilityTimeouts.getOrDefault(queue, visibilityTimeout);
  }

  /** Gives {@code queue} its own visibility timeout. */
  public EngineSettings withQueueVisibilityTimeout(String queue, Duration timeout) {
    Map<String, Duration> timeouts = new java.util.HashMap<>(queueVisibilityTimeouts);
    timeouts.put(queue, timeout);
    return new EngineSettings(maxQueueLength, resultTtl, maxStoredResults, visibilityTimeout, maxAttempts,
        retryBackoff, maxRetryBackoff, maxHeldBytes, timeouts);
  }

  private static void requirePositive(String name, Duration value) {
    if (value.isNegative() || value.isZero()) {
      throw new IllegalArgumentException(name + " must be positive, was " + value);
    }
  }

  /**
   * 30 s leases, 3 attempts, retries after about 1 s, 2 s, ... up to 5 min, results kept 1 h, tasks and results
   * held in at most 40% of the heap.
   */
  public static EngineSettings defaults() {
    return new EngineSettings(1_000_000, Duration.ofHours(1), 1_000_000, Duration.ofSeconds(30), 3,
        Duration.ofSeconds(1), Duration.ofMinutes(5), defaultMaxHeldBytes(), Map.of());
  }

  /** 40% of the JVM's maximum heap: room for the rest of the master and for the garbage collector to work. */
  public static long defaultMaxHeldBytes() {
    return Runtime.getRuntime().maxMemory() / 5 * 2;
  }

  public EngineSettings withMaxHeldBytes(long bytes) {
    return new EngineSettings(maxQueueLength, resultTtl, maxStoredResults, visibilityTimeout, maxAttempts,
        retryBackoff, maxRetryBackoff, bytes, queueVisibilityTimeouts);
  }

  /** Keeps results readable for {@code ttl} after their task is settled; zero keeps none. */
  public EngineSettings withResultTtl(Duration ttl) {
    return new EngineSettings(maxQueueLength, ttl, maxStoredResults, visibilityTimeout, maxAttempts, retryBackoff,
        maxRetryBackoff, maxHeldBytes, queueVisibilityTimeouts);
  }

  public EngineSettings withVisibilityTimeout(Duration timeout) {
    return new EngineSettings(maxQueueLength, resultTtl, maxStoredResults, timeout, maxAttempts, retryBackoff,
        maxRetryBackoff, maxHeldBytes, queueVisibilityTimeouts);
  }

  public EngineSettings withMaxAttempts(int attempts) {
    return new EngineSettings(maxQueueLength, resultTtl, maxStoredResults, visibilityTimeout, attempts, retryBackoff,
        maxRetryBackoff, maxHeldBytes, queueVisibilityTimeouts);
  }

  public EngineSettings withRetryBackoff(Duration first, Duration max) {
    return new EngineSettings(maxQueueLength, resultTtl, maxStoredResults, visibilityTimeout, maxAttempts, first, max,
        maxHeldBytes, queueVisibilityTimeouts);
  }
}
