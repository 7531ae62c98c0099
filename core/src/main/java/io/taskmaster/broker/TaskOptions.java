package io.taskmaster.broker;

import java.time.Instant;

/**
 * How one task is to be delivered, beyond its queue's rules.
 *
 * @param priority 0 (default) to 9; higher priorities are leased first, FIFO within a priority
 * @param maxAttempts attempts before the dead letters; 0 means the master's default (3 unless configured)
 * @param runAtEpochMillis not delivered before this time (epoch milliseconds); 0 means at once
 */
public record TaskOptions(int priority, int maxAttempts, long runAtEpochMillis) {
  public static final int MAX_PRIORITY = 9;
  /** The wire carries the attempts in 16 bits; more than this is a mistake rather than a need. */
  public static final int MAX_ATTEMPTS = 1000;
  public static final TaskOptions DEFAULTS = new TaskOptions(0, 0, 0);

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
  }

  public TaskOptions withPriority(int value) {
    return new TaskOptions(value, maxAttempts, runAtEpochMillis);
  }

  public TaskOptions withMaxAttempts(int value) {
    return new TaskOptions(priority, value, runAtEpochMillis);
  }

  public TaskOptions withRunAt(Instant time) {
    return new TaskOptions(priority, maxAttempts, time.toEpochMilli());
  }
}
