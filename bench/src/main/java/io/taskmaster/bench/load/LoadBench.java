package io.taskmaster.bench.load;

import io.taskmaster.broker.AuthKey;
import io.taskmaster.broker.Broker;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.broker.Brokers;
import io.taskmaster.json.JsonCodec;
import io.taskmaster.producer.Producer;
import io.taskmaster.producer.SubmitOptions;
import io.taskmaster.producer.TaskHandle;
import io.taskmaster.protocol.auth.Handshake;
import io.taskmaster.server.master.Master;
import io.taskmaster.server.net.MasterSettings;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The end-to-end load tool behind {@code taskmaster bench}: starts a master (unless {@code --connect}) and worker
 * processes, runs the peer harness's workload, and prints one {@code RESULT} line.
 */
@Command(name = "taskmaster bench", mixinStandardHelpOptions = true,
    description = {
        "End-to-end throughput and latency of square tasks, the peer harness's workload.",
        "single: each put awaited, then the results collected; each worker leases one task at a time.",
        "batch: puts in batches of 1000 without waiting, workers lease many at once (prefetch).",
        "Ends with one line on stdout: RESULT tasks_per_s p50_us p99_us (round trip, with one worker), then CPU "
            + "microseconds and "
            + "context switches per task of this JVM (the master it starts, the producers) and of the workers."
    })
public final class LoadBench implements Callable<Integer> {
  private static final SubmitOptions QUEUE = SubmitOptions.queue("bench");
  private static final int BATCH = 1000;
  private static final int WINDOW = 20_000;

  @Option(names = "--connect", paramLabel = "URI",
      description = "Use this master (key from TASKMASTER_AUTHKEY) instead of starting one in this process.")
  String connect;

  @Option(names = "--tasks", defaultValue = "20000", description = "Timed tasks (default: ${DEFAULT-VALUE}).")
  int tasks;

  @Option(names = "--workers", defaultValue = "1", description = "Worker processes (default: ${DEFAULT-VALUE}).")
  int workers;

  @Option(names = "--producers", defaultValue = "1", description = "Producer threads, one connection each "
      + "(default: ${DEFAULT-VALUE}).")
  int producers;

  @Option(names = "--payload", defaultValue = "50", description = "Task JSON size in bytes (default: ${DEFAULT-VALUE}).")
  int payload;

  @Option(names = "--mode", defaultValue = "single", description = "single or batch (default: ${DEFAULT-VALUE}).")
  String mode;

  @Option(names = "--warmup", defaultValue = "20000",
      description = "Untimed tasks first, and untimed round trips before latency (default: ${DEFAULT-VALUE}).")
  int warmup;

  @Option(names = "--warmup-seconds", defaultValue = "10",
      description = "Repeat the untimed tasks for at least this long, and then until the JIT is done: a round in "
          + "which no JVM (this one, each worker) compiled for over 2%% of it. A figure taken before measures the "
          + "compiler (default: ${DEFAULT-VALUE}).")
  double warmupSeconds;

  @Option(names = "--warmup-max-seconds", defaultValue = "90",
      description = "Stop warming up after this long even if the JIT is still busy (default: ${DEFAULT-VALUE}).")
  double warmupMaxSeconds;

  @Option(names = "--rounds", defaultValue = "2000", description = "Timed latency round trips (default: ${DEFAULT-VALUE}).")
  int rounds;

  @Option(names = "--io-threads", defaultValue = "0",
      description = "Network threads of the master this tool starts; 0 picks one per four cores (default: ${DEFAULT-VALUE}).")
  int ioThreads;

  @Option(names = "--data-dir", paramLabel = "DIR",
      description = "Give the master this tool starts a journal in DIR (emptied first), and measure the disk's raw "
          + "fsync rate there.")
  Path dataDir;

  @Option(names = "--fsync", defaultValue = "always",
      description = "With --data-dir: always, batch or none (default: ${DEFAULT-VALUE}).")
  String fsync;

  @Option(names = "--json", description = "Also print the figures as one JSON line, in the peer harness's format.")
  boolean json;

  public static void main(String[] args) {
    System.exit(new CommandLine(new LoadBench()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    boolean batch = switch (mode.toLowerCase(Locale.ROOT)) {
      case "single" -> false;
      case "batch" -> true;
      default -> throw new CommandLine.ParameterException(new CommandLine(this), "--mode must be single or batch");
    };
    if (tasks < 1 || workers < 1 || producers < 1 || rounds < 1 || warmup < 0 || warmupSeconds < 0
        || warmupMaxSeconds < warmupSeconds) {
      throw new CommandLine.ParameterException(new CommandLine(this), "counts must be positive, and "
          + "--warmup-max-seconds at least --warmup-seconds");
    }
    String secret;
    Master master = null;
    String uri;
    if (connect == null) {
      secret = Base64.getEncoder().encodeToString(Handshake.nonce(32));
      io.taskmaster.server.journal.JournalSettings journal = null;
      if (dataDir != null) {
        FsyncRate.clear(dataDir);
        progress("raw fsync rate of %s: %.0f per second (write 64 bytes + fdatasync, 2 s)", dataDir,
            FsyncRate.measure(dataDir, java.time.Duration.ofSeconds(2)));
        journal = io.taskmaster.server.journal.JournalSettings.in(dataDir)
            .withFsync(io.taskmaster.server.journal.FsyncMode.parse(fsync));
      }
      master = Master.start(MasterSettings.of(0, AuthKey.of(secret)).withIoThreads(ioThreads),
          io.taskmaster.server.engine.EngineSettings.defaults(), journal);
      uri = master.uri();
    } else {
      AuthKey key = AuthKey.fromEnvironment();
      if (key == null) {
        throw new CommandLine.ParameterException(new CommandLine(this), "--connect needs TASKMASTER_AUTHKEY");
      }
      secret = System.getenv(AuthKey.ENV).strip();
      uri = connect;
    }
    List<WorkerProcess> children = new ArrayList<>();
    try {
      for (int i = 1; i <= workers; i++) {
        // single: lease one, settle it, lease the next. batch: a thread per core, 256 tasks leased ahead.
        children.add(WorkerProcess.start(uri, "w" + i, batch ? Runtime.getRuntime().availableProcessors() : 1,
            batch ? 256 : 0, secret));
      }
      List<Process> processes = children.stream().map(WorkerProcess::process).toList();
      AuthKey key = AuthKey.of(secret);
      List<Broker> brokers = new ArrayList<>();
      for (int p = 0; p < producers; p++) {
        brokers.add(Brokers.open(uri, BrokerOptions.withKey(key)));
      }
      try {
        warmUp(brokers, children, batch);
        progress("throughput: %d tasks, %d worker(s), %d producer(s), %s mode", tasks, workers, producers, mode);
        long cpuBefore = CpuTime.ofThisProcess();
        long workerCpuBefore = CpuTime.of(processes);
        long switchesBefore = ContextSwitches.ofThisProcess();
        long workerSwitchesBefore = ContextSwitches.of(processes);
        long started = System.nanoTime();
        run(brokers, tasks, batch, 1_000_000_000L);
        double seconds = (System.nanoTime() - started) / 1e9;
        double perSecond = tasks / seconds;
        // CPU per task: this process (the master it started, and the producers) and the worker processes.
        double cpuUs = CpuTime.perTaskMicros(cpuBefore, CpuTime.ofThisProcess(), tasks);
        double workerCpuUs = CpuTime.perTaskMicros(workerCpuBefore, CpuTime.of(processes), tasks);
        double switches = ContextSwitches.perTask(switchesBefore, ContextSwitches.ofThisProcess(), tasks);
        double workerSwitches = ContextSwitches.perTask(workerSwitchesBefore, ContextSwitches.of(processes), tasks);
        // Latency is the peers' one-worker figure whatever W is: the other workers stop first.
        for (WorkerProcess other : children.subList(1, children.size())) {
          other.stop();
        }
        for (WorkerProcess other : children.subList(1, children.size())) {
          other.close();
        }
        progress("latency: %d untimed then %d timed round trips, one worker", warmup, rounds);
        double[] latencies = latency(brokers.get(0), warmup, rounds);
        double p50 = percentile(latencies, 0.50);
        double p99 = percentile(latencies, 0.99);
        System.out.printf(Locale.ROOT, "RESULT tasks_per_s=%.1f p50_us=%.1f p99_us=%.1f cpu_us_per_task=%.1f "
            + "worker_cpu_us_per_task=%.1f switches_per_task=%.1f worker_switches_per_task=%.1f%n", perSecond, p50,
            p99, cpuUs, workerCpuUs, switches, workerSwitches);
        if (json) {
          Map<String, Object> figures = new LinkedHashMap<>();
          figures.put("system", "taskmaster|java|" + mode);
          figures.put("test", "throughput+latency");
          figures.put("workers", workers);
          figures.put("producers", producers);
          figures.put("n", tasks);
          figures.put("payload", payload);
          figures.put("wall_s", round(seconds, 3));
          figures.put("tasks_per_s", round(perSecond, 1));
          figures.put("p50_us", round(p50, 1));
          figures.put("p99_us", round(p99, 1));
          figures.put("cpu_us_per_task", round(cpuUs, 1));
          figures.put("worker_cpu_us_per_task", round(workerCpuUs, 1));
          figures.put("switches_per_task", round(switches, 1));
          figures.put("worker_switches_per_task", round(workerSwitches, 1));
          figures.put("java", Runtime.version().toString());
          System.out.println(JsonCodec.mapper().writeValueAsString(figures));
        }
      } finally {
        brokers.forEach(Broker::close);
      }
    } finally {
      for (WorkerProcess child : children) {
        child.stop(); // all at once: each takes a moment to drain
      }
      for (WorkerProcess child : children) {
        child.close();
      }
      if (master != null) {
        master.close();
      }
    }
    return 0;
  }

  /**
   * Rounds of {@code warmup} untimed tasks for at least {@code warmupSeconds}, then until a round in which no JVM of
   * the run compiled for over 2% of the round (or {@code warmupMaxSeconds} have passed): C2 goes on compiling for
   * tens of seconds under load, longer in workers that each see a share of the tasks.
   */
  private void warmUp(List<Broker> brokers, List<WorkerProcess> children, boolean batch) throws Exception {
    long started = System.nanoTime();
    long[] jitBefore = jitMillis(children);
    for (int round = 1; ; round++) {
      long roundStarted = System.nanoTime();
      run(brokers, warmup, batch, 0);
      long now = System.nanoTime();
      long[] jitAfter = jitMillis(children);
      long busiest = -1;
      for (int i = 0; i < jitAfter.length; i++) {
        if (jitAfter[i] >= 0 && jitBefore[i] >= 0) {
          busiest = Math.max(busiest, jitAfter[i] - jitBefore[i]);
        }
      }
      jitBefore = jitAfter;
      double roundMillis = (now - roundStarted) / 1e6;
      double elapsed = (now - started) / 1e9;
      progress("warm-up round %d: %d untimed tasks in %.0f ms, JIT %d ms in the busiest JVM (%.0f s)", round, warmup,
          roundMillis, busiest, elapsed);
      boolean jitDone = busiest <= roundMillis * 0.02; // unknown (-1) counts as done
      if (warmup == 0 || elapsed >= warmupMaxSeconds || (elapsed >= warmupSeconds && jitDone)) {
        if (!jitDone) {
          progress("the JIT was still busy after %.0f s of warm-up: the figures include some compiling", elapsed);
        }
        return;
      }
    }
  }

  /** This JVM's JIT time, then each worker's, in milliseconds (-1 where unknown). */
  private static long[] jitMillis(List<WorkerProcess> children) throws IOException {
    long[] millis = new long[children.size() + 1];
    millis[0] = JitTime.millis();
    for (int i = 0; i < children.size(); i++) {
      millis[i + 1] = children.get(i).jitMillis();
    }
    return millis;
  }

  /** Runs {@code count} tasks split over the producers; ids start at {@code firstId}. */
  private void run(List<Broker> brokers, int count, boolean batch, long firstId) throws Exception {
    if (count == 0) {
      return;
    }
    List<CompletableFuture<Void>> done = new ArrayList<>();
    int share = count / brokers.size();
    for (int p = 0; p < brokers.size(); p++) {
      int mine = p == brokers.size() - 1 ? count - share * p : share;
      long base = firstId + (long) p * share;
      Producer producer = Producer.on(brokers.get(p)).withDefaults(QUEUE);
      // A thread of its own, as a user's producer has, not one of the common pool: a pool thread that blocks in
      // join() may make the pool start a spare one, and the figures would measure that.
      String name = "bench-producer-" + p;
      done.add(CompletableFuture.runAsync(() -> produce(producer, base, mine, batch), runnable -> {
        Thread thread = new Thread(runnable, name);
        thread.setDaemon(true);
        thread.start();
      }));
    }
    CompletableFuture.allOf(done.toArray(CompletableFuture[]::new)).join();
  }

  private void produce(Producer producer, long base, int count, boolean batch) {
    // Handles are checked and dropped in order, so the tool itself holds only the tasks in flight.
    ArrayDeque<TaskHandle<BenchTasks.Squared>> inFlight = new ArrayDeque<>();
    long checked = base;
    if (batch) {
      for (int from = 0; from < count; from += BATCH) {
        List<BenchTasks.Square> chunk = new ArrayList<>(BATCH);
        for (int i = from; i < Math.min(count, from + BATCH); i++) {
          chunk.add(BenchTasks.task(base + i, payload));
        }
        inFlight.addAll(producer.submitAll(BenchTasks.SQUARE, chunk));
        // A bounded window of tasks in flight, as a real producer keeps: the master caps what one connection
        // may wait for.
        while (inFlight.size() > WINDOW) {
          check(inFlight.poll(), checked++);
        }
      }
    } else {
      for (int i = 0; i < count; i++) {
        TaskHandle<BenchTasks.Squared> handle = producer.submit(BenchTasks.SQUARE, BenchTasks.task(base + i, payload));
        handle.accepted().join();
        inFlight.add(handle);
      }
    }
    while (!inFlight.isEmpty()) {
      check(inFlight.poll(), checked++);
    }
  }

  private static void check(TaskHandle<BenchTasks.Squared> handle, long n) {
    BenchTasks.Squared result = handle.join();
    if (result.r() != n * n) {
      throw new IllegalStateException("task " + n + " came back as " + result.r());
    }
  }

  private double[] latency(Broker broker, int untimed, int timed) {
    Producer producer = Producer.on(broker).withDefaults(QUEUE);
    for (int i = 0; i < untimed; i++) {
      producer.submit(BenchTasks.SQUARE, BenchTasks.task(i, payload)).join();
    }
    double[] micros = new double[timed];
    for (int i = 0; i < timed; i++) {
      long started = System.nanoTime();
      producer.submit(BenchTasks.SQUARE, BenchTasks.task(i, payload)).join();
      micros[i] = (System.nanoTime() - started) / 1000.0;
    }
    return micros;
  }

  /** A figure for the JSON line: rounded, or null where the platform could not tell (JSON has no NaN). */
  private static Double round(double value, int decimals) {
    if (Double.isNaN(value)) {
      return null;
    }
    double scale = Math.pow(10, decimals);
    return Math.round(value * scale) / scale;
  }

  private static double percentile(double[] values, double fraction) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(fraction * sorted.length) - 1)];
  }

  private static void progress(String format, Object... args) {
    System.err.printf("bench: " + format + "%n", args);
  }
}
