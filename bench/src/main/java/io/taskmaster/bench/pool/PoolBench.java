package io.taskmaster.bench.pool;

import io.taskmaster.pool.TaskPool;
import io.taskmaster.task.TaskType;
import io.taskmaster.worker.Handlers;
import io.taskmaster.worker.TaskSet;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import java.util.stream.IntStream;

/**
 * The process-pool figures of docs/benchmarks.md, beside bench/src/main/resources/pool_bench.py (Python's
 * multiprocessing.Pool on the same jobs): CPU-bound speed-up of 2 threads and 2 processes over 1 worker, 10,000
 * concurrent 1 s waits, tiny-task throughput of processes(2) by applyAsync and by map. Pools are started before the
 * clock runs; each job runs once untimed first.
 *
 * <pre>java -cp bench/target/taskmaster-bench.jar io.taskmaster.bench.pool.PoolBench [PRIME_LIMIT] [TINY_TASKS] [JOBS]</pre>
 *
 * JOBS is a comma-separated choice of {@code cpu,io,tiny} (default: all three).
 */
public final class PoolBench {
  static final TaskType<long[], Long> PRIMES = TaskType.of("bench-primes", long[].class, Long.class);
  static final TaskType<Long, Long> WAIT = TaskType.of("bench-wait", Long.class, Long.class);
  static final TaskType<Integer, Integer> TINY = TaskType.of("bench-tiny", Integer.class, Integer.class);

  /** The handlers, loaded by name in the worker processes. */
  public static final class Tasks implements TaskSet {
    @Override
    public void register(Handlers handlers) {
      handlers.on(PRIMES, range -> {
        long count = 0;
        for (long n = Math.max(2, range[0]); n < range[1]; n++) {
          boolean prime = true;
          for (long d = 2; d * d <= n; d++) {
            if (n % d == 0) {
              prime = false;
              break;
            }
          }
          count += prime ? 1 : 0;
        }
        return count;
      }).on(WAIT, millis -> {
        Thread.sleep(millis);
        return millis;
      }).on(TINY, n -> n * n);
    }
  }

  private PoolBench() {}

  public static void main(String[] args) {
    long limit = args.length > 0 ? Long.parseLong(args[0]) : 5_000_000;
    int tiny = args.length > 1 ? Integer.parseInt(args[1]) : 20_000;
    List<String> jobs = List.of((args.length > 2 ? args[2] : "cpu,io,tiny").split(","));
    if (jobs.contains("cpu")) {
      cpu(limit);
    }
    if (jobs.contains("io")) {
      io();
    }
    if (jobs.contains("tiny")) {
      tiny(tiny);
    }
  }

  private static void cpu(long limit) {
    List<long[]> ranges = IntStream.range(0, 16)
        .mapToObj(i -> new long[] {limit * i / 16, limit * (i + 1) / 16}).toList();

    System.out.printf(Locale.ROOT, "cpu: primes below %d in 16 ranges, %d cores%n", limit,
        Runtime.getRuntime().availableProcessors());
    double one = cpu("1 thread", TaskPool.threads(1, new Tasks()), ranges);
    double threads = cpu("2 threads", TaskPool.threads(2, new Tasks()), ranges);
    double processes = cpu("2 processes", TaskPool.processes(2, Tasks.class), ranges);
    System.out.printf(Locale.ROOT, "RESULT cpu speed-up: threads(2) %.2fx, processes(2) %.2fx%n", one / threads,
        one / processes);
  }

  private static void io() {
    try (TaskPool pool = TaskPool.ioThreads(10_000, new Tasks())) {
      double seconds = seconds(() -> pool.map(WAIT, Collections.nCopies(10_000, 1_000L)));
      System.out.printf(Locale.ROOT, "RESULT io: 10000 waits of 1 s in %.2f s (JDK %d, %s)%n", seconds,
          Runtime.version().feature(), Runtime.version().feature() >= 21 ? "virtual threads" : "platform threads");
    }
  }

  /**
   * Tiny tasks: the pool's own overhead. Each way runs 3 untimed rounds first (the JIT compiles the paths of both
   * ways, as in a pool that has run a while), then 3 timed rounds; the median is reported, like the Python script's
   * single timed run after one warm-up (CPython has no JIT to warm).
   */
  private static void tiny(int tiny) {
    try (TaskPool pool = TaskPool.processes(2, Tasks.class)) {
      List<Integer> inputs = IntStream.range(0, tiny).boxed().toList();
      Supplier<?> async = () -> {
        List<CompletableFuture<Integer>> futures = new ArrayList<>(tiny);
        for (int n : inputs) {
          futures.add(pool.applyAsync(TINY, n));
        }
        futures.forEach(CompletableFuture::join);
        return futures;
      };
      Supplier<?> map = () -> pool.map(TINY, inputs);
      for (int round = 0; round < 3; round++) {
        async.get();
        map.get();
      }
      double[] asyncSeconds = new double[3];
      double[] mapSeconds = new double[3];
      for (int round = 0; round < 3; round++) {
        asyncSeconds[round] = seconds(async);
        mapSeconds[round] = seconds(map);
      }
      java.util.Arrays.sort(asyncSeconds);
      java.util.Arrays.sort(mapSeconds);
      System.out.printf(Locale.ROOT, "RESULT tiny: processes(2) applyAsync %.0f tasks/s, map %.0f tasks/s "
          + "(median of 3 rounds of %d)%n", tiny / asyncSeconds[1], tiny / mapSeconds[1], tiny);
    }
  }


  private static double cpu(String what, TaskPool pool, List<long[]> ranges) {
    try (pool) {
      pool.map(PRIMES, ranges); // warm-up: JIT, and the processes up
      double seconds = seconds(() -> pool.map(PRIMES, ranges));
      System.out.printf(Locale.ROOT, "  %-12s %.3f s%n", what, seconds);
      return seconds;
    }
  }

  private static double seconds(Supplier<?> job) {
    long started = System.nanoTime();
    job.get();
    return (System.nanoTime() - started) / 1e9;
  }
}
