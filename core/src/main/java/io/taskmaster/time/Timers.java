package io.taskmaster.time;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;

/** The timers behind the library's own deadlines. */
public final class Timers {
  private Timers() {}

  /**
   * A timer on one thread from {@code threads}, whose cancelled tasks leave its queue at once. Most of the library's
   * deadlines are cancelled long before they are due (a task's time limit when it finishes, a lease's wait when
   * tasks come), and the JDK's default keeps each one, with all it refers to, until it would have been due: at
   * 10,000 tasks per second with a time limit of an hour, tens of millions of them.
   */
  public static ScheduledExecutorService singleThread(ThreadFactory threads) {
    ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1, threads);
    timer.setRemoveOnCancelPolicy(true);
    return timer;
  }
}
