package io.taskmaster.examples;

import io.taskmaster.task.TaskType;
import io.taskmaster.worker.Handlers;
import io.taskmaster.worker.TaskSet;
import java.util.List;

/** CPU-bound work for the pool examples: count the primes in a range, by trial division on purpose. */
public final class PrimeTasks implements TaskSet {
  /** {@code [from, to)} -> how many primes it holds. */
  public static final TaskType<long[], Long> COUNT_PRIMES = TaskType.of("count-primes", long[].class, Long.class);

  @Override
  public void register(Handlers handlers) {
    handlers.on(COUNT_PRIMES, range -> countPrimes(range[0], range[1]));
  }

  static long countPrimes(long from, long to) {
    long count = 0;
    for (long n = Math.max(2, from); n < to; n++) {
      boolean prime = true;
      for (long d = 2; d * d <= n; d++) {
        if (n % d == 0) {
          prime = false;
          break;
        }
      }
      if (prime) {
        count++;
      }
    }
    return count;
  }

  /** {@code [0, limit)} cut into {@code parts} ranges. */
  public static List<long[]> ranges(long limit, int parts) {
    return java.util.stream.IntStream.range(0, parts)
        .mapToObj(i -> new long[] {limit * i / parts, limit * (i + 1) / parts}).toList();
  }
}
