package io.taskmaster.examples;

import io.taskmaster.pool.TaskPool;
import java.util.Collections;
import java.util.List;

/**
 * IO-bound work: 10,000 tasks that each wait one second (a stand-in for a slow web request). On virtual threads
 * (JDK 21+) they all wait at once and the whole takes about a second; a pool of 100 platform threads would take
 * 100 s.
 *
 * <pre>java -cp ... io.taskmaster.examples.IoBoundWaits [TASKS] [MILLIS]</pre>
 */
public final class IoBoundWaits {
  private IoBoundWaits() {}

  public static void main(String[] args) {
    int tasks = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
    long millis = args.length > 1 ? Long.parseLong(args[1]) : 1_000;
    long started = System.nanoTime();
    int done = run(tasks, millis);
    System.out.printf("%d waits of %d ms done in %d ms (JDK %d)%n", done, millis,
        (System.nanoTime() - started) / 1_000_000, Runtime.version().feature());
  }

  /** Runs {@code tasks} waits of {@code millis} at once; returns how many completed. */
  public static int run(int tasks, long millis) {
    try (TaskPool pool = TaskPool.ioThreads(tasks, new PrimeTasks())) {
      return pool.map(PrimeTasks.WAIT, Collections.nCopies(tasks, millis)).size();
    }
  }
}
