package io.taskmaster.examples;

import io.taskmaster.pool.TaskPool;
import java.util.Collections;

/**
 * IO-bound work: 10,000 tasks that each wait one second (a stand-in for a slow web request). On virtual threads
 * (JDK 21+) they all wait at once and the whole takes about a second; a pool of 100 platform threads would take
 * 100 s.
 *
 * <pre>java -cp ... io.taskmaster.examples.IoBoundWaits [TASKS] [MILLIS]</pre>
 */
public final class IoBoundWaits {
  private IoBoundWaits() {}

  /** How a run went: the waits that completed, and the most that were waiting at the same moment. */
  public record Outcome(int done, int mostAtOnce) {}

  public static void main(String[] args) {
    int tasks = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
    long millis = args.length > 1 ? Long.parseLong(args[1]) : 1_000;
    long started = System.nanoTime();
    Outcome outcome = run(tasks, millis);
    System.out.printf("%d waits of %d ms done in %d ms, at most %d at once (JDK %d)%n", outcome.done(), millis,
        (System.nanoTime() - started) / 1_000_000, outcome.mostAtOnce(), Runtime.version().feature());
  }

  /** Runs {@code tasks} waits of {@code millis}, all allowed at once. */
  public static Outcome run(int tasks, long millis) {
    Waits waits = new Waits();
    try (TaskPool pool = TaskPool.ioThreads(tasks, waits)) {
      int done = pool.map(Waits.WAIT, Collections.nCopies(tasks, millis)).size();
      return new Outcome(done, waits.mostAtOnce());
    }
  }
}
