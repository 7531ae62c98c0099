package io.taskmaster.examples;

import io.taskmaster.task.TaskType;
import io.taskmaster.worker.Handlers;
import io.taskmaster.worker.TaskSet;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * IO-bound work for the pool examples: a task that sleeps, a stand-in for a web request or a disk read. The set
 * counts the waits in flight, so that a run can show how many overlapped.
 */
public final class Waits implements TaskSet {
  /** Sleeps the given milliseconds, then answers them. */
  public static final TaskType<Long, Long> WAIT = TaskType.of("wait", Long.class, Long.class);

  private final AtomicInteger waiting = new AtomicInteger();
  private final AtomicInteger mostAtOnce = new AtomicInteger();

  @Override
  public void register(Handlers handlers) {
    handlers.on(WAIT, millis -> {
      mostAtOnce.accumulateAndGet(waiting.incrementAndGet(), Math::max);
      try {
        Thread.sleep(millis);
      } finally {
        waiting.decrementAndGet();
      }
      return millis;
    });
  }

  /** The most waits that were in flight at the same moment so far. */
  public int mostAtOnce() {
    return mostAtOnce.get();
  }
}
