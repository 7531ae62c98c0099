package io.taskmaster.broker;

import java.time.Instant;
import java.util.Objects;

/**
 * How one task is to be delivered, beyond its queue's rules.
 *
 * @param priority 0 (default) to 9; higher priorities are leased first, FIFO within a priority
 * @param maxAttempts attempts before the dead letters; 0 means the master's default (3 unless configured)
 * @param runAtEpochMillis not delivered before this time (epoch milliseconds); 0 means at once
 * @param timeoutMillis how long one attempt may run before the worker interrupts it and fails the attempt; 0 means
 *     no limit
 * @param uniqueKey while a task with this key is pending (not yet settled for good), a put of another task with
 *     the same key is refused; empty means none
 */
public record TaskOptions(int priority, int maxAttempts, long runAtEpochMillis, long timeoutMillis, String uniqueKey) {
  public static final int MAX_PRIORITY = 9;
  /** The wire carries the attempts in 16 bits; more than this is a mistake rather than a need. */
  public static final int MAX_ATTEMPTS = 1000;
  /** The wire carries the timeout in 32 bits of milliseconds: about 49 days. */
  public static final long MAX_TIMEOUT_MILLIS = 0xFFFF_FFFFL;
  public static final TaskOptions DEFAULTS = new TaskOptions(0, 0, 0, 0, "");

  public TaskOptions {
    if (priority < 0 || priority > MAX_PRIORITY) {
      throw new IllegalArgumentException("priority must be 0 to " + MAX_PRIORITY + ", was " + priority);
    }
    if (maxAttempts < 0 || maxAttempts > MAX_ATTEMPTS) {
      throw new IllegalArgumentException("maxAttempts must be 1 to " + MAX_ATTEMPTS + " (or 0 for the default), was "
          + maxAttempts);
    }
    if (runAtEpochMillis < 0) {
      throw new IllegalArgumentException("runAt must not be before 1970, was " + runAtEpochMillis);
    }
    if (timeoutMillis < 0 || timeoutMillis > MAX_TIMEOUT_MILLIS) {
      throw new IllegalArgumentException("a task timeout must be 1 ms to about 49 days (or 0 for none), was "
          + timeoutMillis + " ms");
    }
    Objects.requireNonNull(uniqueKey, "uniqueKey");
    if (!uniqueKey.isEmpty()) {
      Names.requireValid("unique key", uniqueKey);
    }
  }

  public TaskOptions withPriority(int value) {
    return new TaskOptions(value, maxAttempts, runAtEpochMillis, timeoutMillis, uniqueKey);
  }

  public TaskOptions withMaxAttempts(int value) {
    return new TaskOptions(priority, value, runAtEpochMillis, timeoutMillis, uniqueKey);
  }

  public TaskOptions withRunAt(Instant time) {
    return new TaskOptions(priority, maxAttempts, time.toEpochMilli(), timeoutMillis, uniqueKey);
  }

  public TaskOptions withTimeoutMillis(long value) {
    return new TaskOptions(priority, maxAttempts, runAtEpochMillis, value, uniqueKey);
  }

  public TaskOptions withUniqueKey(String value) {
    return new TaskOptions(priority, maxAttempts, runAtEpochMillis, timeoutMillis, value);
  }
}
