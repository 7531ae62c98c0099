package io.taskmaster.examples;

import io.taskmaster.pool.TaskPool;
import java.util.List;

/**
 * The study note's point about CPU-bound work, in Java: count the primes below a limit in 16 ranges with one worker,
 * then with two threads and two processes. Java threads run in parallel (no GIL), so threads scale with cores as
 * processes do, without the cost of a process per worker.
 *
 * <pre>java -cp ... io.taskmaster.examples.CpuBoundPrimes [LIMIT]</pre>
 */
public final class CpuBoundPrimes {
  private CpuBoundPrimes() {}

  public static void main(String[] args) {
    long limit = args.length > 0 ? Long.parseLong(args[0]) : 3_000_000;
    List<long[]> ranges = PrimeTasks.ranges(limit, 16);
    long one = time("1 thread", () -> count(TaskPool.threads(1, new PrimeTasks()), ranges));
    long threads = time("2 threads", () -> count(TaskPool.threads(2, new PrimeTasks()), ranges));
    long processes = time("2 processes", () -> count(TaskPool.processes(2, PrimeTasks.class), ranges));
    System.out.printf("speed-up over 1 thread: 2 threads %.2fx, 2 processes %.2fx (%d cores)%n",
        (double) one / threads, (double) one / processes, Runtime.getRuntime().availableProcessors());
  }

  /** The number of primes in all ranges, on {@code pool}, which is closed afterwards. */
  public static long count(TaskPool pool, List<long[]> ranges) {
    try (pool) {
      return pool.map(PrimeTasks.COUNT_PRIMES, ranges).stream().mapToLong(Long::longValue).sum();
    }
  }

  private static long time(String what, java.util.function.LongSupplier run) {
    long started = System.nanoTime();
    long primes = run.getAsLong();
    long millis = (System.nanoTime() - started) / 1_000_000;
    System.out.printf("%-12s %d primes in %d ms%n", what, primes, millis);
    return millis;
  }
}
