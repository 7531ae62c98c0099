package io.taskmaster.worker;

import io.taskmaster.task.TaskType;

/**
 * Task types every worker serves, for demos, benchmarks and smoke tests. User handlers of the same name take
 * precedence.
 */
public final class BuiltinTasks implements TaskSet {
  /** n -> n * n; fails on overflow rather than returning a wrapped number. */
  public static final TaskType<Long, Long> SQUARE = TaskType.of("square", Long.class, Long.class);

  /** Sleeps the given number of milliseconds, then returns it: an IO-bound stand-in. */
  public static final TaskType<Long, Long> SLEEP = TaskType.of("sleep", Long.class, Long.class);

  /** Always fails with the given message: shows how remote errors travel. */
  public static final TaskType<String, Void> FAIL = TaskType.of("fail", String.class, Void.class);

  @Override
  public void register(Handlers handlers) {
    handlers.on(SQUARE, n -> Math.multiplyExact(n, n));
    handlers.on(SLEEP, BuiltinTasks::sleep);
    handlers.on(FAIL, message -> {
      throw new IllegalStateException(message == null || message.isEmpty() ? "failed on purpose" : message);
    });
  }

  private static Long sleep(Long millis) throws InterruptedException {
    if (millis < 0) {
      throw new IllegalArgumentException("sleep needs a non-negative number of milliseconds, got " + millis);
    }
    Thread.sleep(millis);
    return millis;
  }
}
