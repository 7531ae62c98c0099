package io.taskmaster.pool;

import io.taskmaster.broker.AuthKey;
import io.taskmaster.broker.Broker;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.broker.Brokers;
import io.taskmaster.producer.Producer;
import io.taskmaster.producer.SubmitOptions;
import io.taskmaster.producer.TaskHandle;
import io.taskmaster.server.embedded.EmbeddedBroker;
import io.taskmaster.server.engine.EngineSettings;
import io.taskmaster.server.engine.QueueEngine;
import io.taskmaster.server.lease.LeaseReaper;
import io.taskmaster.server.master.Master;
import io.taskmaster.server.net.MasterSettings;
import io.taskmaster.server.retry.RetryPromoter;
import io.taskmaster.task.RemoteTaskException;
import io.taskmaster.task.TaskType;
import io.taskmaster.time.Ticker;
import io.taskmaster.worker.Concurrency;
import io.taskmaster.worker.TaskSet;
import io.taskmaster.worker.Worker;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Python's {@code multiprocessing.Pool}, over Taskmaster: one API whether the workers are threads of this JVM
 * ({@link #threads}), supervised child JVMs ({@link #processes}: a crashing handler takes down one process, which is
 * replaced, never the pool), or the workers of a remote master ({@link #connect}).
 *
 * <pre>{@code
 * try (TaskPool pool = TaskPool.processes(4, MyTasks.class)) {
 *   int one = pool.apply(SQUARE, 7);                       // 49
 *   List<Integer> all = pool.map(SQUARE, List.of(1, 2, 3)); // in order
 *   for (int r : pool.imapUnordered(SQUARE, inputs)) { ... } // as they complete
 * }                                                          // close(): the submitted tasks finish first
 * }</pre>
 *
 * <p>Python's {@code pool.close(); pool.join()} is {@link #close()}, which also releases the workers; {@link #join()}
 * waits for the tasks submitted so far, {@link #join(Duration)} at most so long; {@link #terminate()} stops
 * everything at once.
 */
public final class TaskPool implements AutoCloseable {
  private static final String QUEUE = "pool";
  private static final Duration STOP_GRACE = Duration.ofSeconds(10);

  private final Broker broker;
  private final Producer producer;
  private final List<AutoCloseable> resources;
  private final WorkerProcesses processes;
  /** The in-JVM worker of a thread pool, else null. */
  private final Worker localWorker;
  private final Set<CompletableFuture<?>> pending = ConcurrentHashMap.newKeySet();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final AtomicBoolean released = new AtomicBoolean();
  private final String describe;

  private TaskPool(Broker broker, List<AutoCloseable> resources, WorkerProcesses processes, Worker localWorker,
      String describe) {
    this.broker = broker;
    this.localWorker = localWorker;
    this.producer = Producer.on(broker).withDefaults(SubmitOptions.queue(QUEUE));
    this.resources = resources;
    this.processes = processes;
    this.describe = describe;
  }

  /**
   * A pool of {@code n} platform threads in this JVM, for CPU-bound handlers: as many as there are cores is usually
   * right ({@code Runtime.getRuntime().availableProcessors()}). Java threads run in parallel: no GIL.
   */
  public static TaskPool threads(int n, TaskSet... sets) {
    return inThisJvm(n, Concurrency.CPU_BOUND, sets);
  }

  /**
   * A pool for IO-bound handlers (waiting on the network, a disk, a sleep): up to {@code limit} tasks at once, each
   * on its own virtual thread on JDK 21+ (a growing platform-thread pool on 17), so thousands of waits cost little.
   */
  public static TaskPool ioThreads(int limit, TaskSet... sets) {
    return inThisJvm(limit, Concurrency.IO_BOUND, sets);
  }

  private static TaskPool inThisJvm(int n, Concurrency mode, TaskSet... sets) {
    requirePositive(n);
    QueueEngine engine = new QueueEngine(EngineSettings.defaults().withResultTtl(Duration.ZERO), Ticker.system());
    List<AutoCloseable> resources = new ArrayList<>();
    resources.add(LeaseReaper.start(engine, "pool"));
    resources.add(RetryPromoter.start(engine, "pool"));
    Broker workerBroker = new EmbeddedBroker(engine, "pool-workers");
    Worker.Builder builder = Worker.builder(workerBroker).queue(QUEUE).concurrency(n).mode(mode).id("pool-thread")
        .adaptivePrefetch();
    for (TaskSet set : sets) {
      builder.register(set);
    }
    Worker worker = builder.start();
    resources.add(0, workerBroker);
    return new TaskPool(new EmbeddedBroker(engine, "pool"), resources, null, worker,
        n + (mode == Concurrency.IO_BOUND ? " IO-bound thread(s)" : " thread(s)"));
  }

  /**
   * A pool of {@code n} worker processes: child JVMs on this JVM's classpath, each serving the handlers of {@code
   * sets} (classes with a public no-argument constructor), supervised by an embedded master on loopback with a
   * fresh random key. A process that dies (System.exit, OutOfMemoryError, kill -9) is replaced; its task is retried
   * on another, and fails with {@link WorkerCrashedException} after its last attempt.
   */
  @SafeVarargs
  public static TaskPool processes(int n, Class<? extends TaskSet>... sets) {
    return processes(n, Options.defaults(), sets);
  }

  @SafeVarargs
  public static TaskPool processes(int n, Options options, Class<? extends TaskSet>... sets) {
    requirePositive(n);
    byte[] secret = new byte[32];
    new SecureRandom().nextBytes(secret);
    String key = Base64.getEncoder().encodeToString(secret);
    // Only this pool uses its master, and its futures get every result: the master need not keep them.
    Master master = Master.start(MasterSettings.of(0, AuthKey.of(key)),
        EngineSettings.defaults().withMaxAttempts(options.maxAttempts()).withResultTtl(Duration.ZERO));
    List<String> args = new ArrayList<>(List.of(master.uri(), QUEUE, Integer.toString(options.threadsPerProcess()),
        options.ioBound() ? "io" : "cpu"));
    for (Class<? extends TaskSet> set : sets) {
      args.add(set.getName());
    }
    WorkerProcesses processes;
    try {
      processes = WorkerProcesses.start(n, new WorkerProcesses.Spec(PoolWorkerMain.class.getName(), args,
          Map.of(AuthKey.ENV, key), options.jvmOptions(), options.outputDirectory(), "worker"));
    } catch (RuntimeException e) {
      master.close();
      throw e;
    }
    // The caller's side is in the master's JVM: its tasks go straight to the engine, no socket between.
    Broker broker = new EmbeddedBroker(master.engine(), "pool");
    List<AutoCloseable> resources = new ArrayList<>();
    resources.add(master);
    return new TaskPool(broker, resources, processes, null, n + " process(es)");
  }

  /** A pool over the workers of a running master, serving queue {@code pool}. */
  public static TaskPool connect(String uri, AuthKey key) {
    return new TaskPool(Brokers.open(uri, BrokerOptions.withKey(key)), List.of(), null, null, uri);
  }

  /** How a process pool starts its workers. */
  public record Options(int threadsPerProcess, boolean ioBound, int maxAttempts, List<String> jvmOptions,
      java.nio.file.Path outputDirectory) {
    /** One task at a time per process, 3 attempts, children with 256 MiB of heap, output to this JVM's console. */
    public static Options defaults() {
      return new Options(1, false, 3, List.of("-Xmx256m"), null);
    }

    /** {@code n} tasks at once per process, on platform threads: for CPU-bound handlers (mode of {@link #threads}). */
    public Options withThreadsPerProcess(int n) {
      requirePositive(n, "threads per process");
      return new Options(n, false, maxAttempts, jvmOptions, outputDirectory);
    }

    /**
     * Up to {@code limit} tasks at once per process, for IO-bound handlers: each on a virtual thread on JDK 21+ (a
     * growing platform-thread pool on 17), as in {@link #ioThreads}.
     */
    public Options withIoThreadsPerProcess(int limit) {
      requirePositive(limit, "IO threads per process");
      return new Options(limit, true, maxAttempts, jvmOptions, outputDirectory);
    }

    public Options withMaxAttempts(int attempts) {
      return new Options(threadsPerProcess, ioBound, attempts, jvmOptions, outputDirectory);
    }

    public Options withJvmOptions(String... options) {
      return new Options(threadsPerProcess, ioBound, maxAttempts, List.of(options), outputDirectory);
    }

    /** Each worker's stdout and stderr go to {@code worker-N.out.log} / {@code .err.log} in this directory. */
    public Options withOutputDirectory(java.nio.file.Path directory) {
      return new Options(threadsPerProcess, ioBound, maxAttempts, jvmOptions, directory);
    }
  }

  private static void requirePositive(int n) {
    requirePositive(n, "a pool's worker count");
  }

  private static void requirePositive(int n, String what) {
    if (n < 1) {
      throw new IllegalArgumentException(what + " must be at least 1, was " + n);
    }
  }

  /** Runs one task and waits for its result; a failure is thrown as it came (RemoteTaskException, ...). */
  public <A, R> R apply(TaskType<A, R> type, A argument) {
    return join(applyAsync(type, argument));
  }

  /**
   * Submits one task; the future completes with its result or its failure, shows the progress its handler reports,
   * and cancels the task wherever it is.
   */
  public <A, R> TaskFuture<R> applyAsync(TaskType<A, R> type, A argument) {
    return submit(type, List.of(argument), SubmitOptions.queue(QUEUE)).get(0);
  }

  /**
   * Submits one task with a time limit per attempt: past it the handler is interrupted and the attempt fails with
   * {@code io.taskmaster.TaskTimeout}; in a process pool, a handler that ignores the interruption has its process
   * killed and replaced.
   */
  public <A, R> TaskFuture<R> applyAsync(TaskType<A, R> type, A argument, Duration timeout) {
    return submit(type, List.of(argument), SubmitOptions.queue(QUEUE).timeout(timeout)).get(0);
  }

  /**
   * Submits one task with its own options: attempts ({@code SubmitOptions.defaults().maxAttempts(1)} fails at the
   * first error, as Python's pools do), time limit, priority, delay, headers, unique key. The pool's own queue is
   * always used: a queue named in {@code options} is ignored.
   */
  public <A, R> TaskFuture<R> applyAsync(TaskType<A, R> type, A argument, SubmitOptions options) {
    return submit(type, List.of(argument), options.onQueue(QUEUE)).get(0);
  }

  /** Runs a task per argument, in one batch, and returns the results in the order of the arguments. */
  public <A, R> List<R> map(TaskType<A, R> type, List<? extends A> arguments) {
    List<TaskFuture<R>> futures = submit(type, arguments, SubmitOptions.queue(QUEUE));
    List<R> results = new ArrayList<>(futures.size());
    for (CompletableFuture<R> future : futures) {
      results.add(join(future));
    }
    return results;
  }

  /**
   * Runs a task per argument and yields the results as they complete, whatever their order. A failed task's error
   * is thrown when the iteration reaches it.
   */
  public <A, R> Iterable<R> imapUnordered(TaskType<A, R> type, List<? extends A> arguments) {
    List<TaskFuture<R>> futures = submit(type, arguments, SubmitOptions.queue(QUEUE));
    BlockingQueue<CompletableFuture<R>> done = new LinkedBlockingQueue<>();
    futures.forEach(future -> future.whenComplete((result, error) -> done.add(future)));
    return () -> new Iterator<>() {
      private int taken;

      @Override
      public boolean hasNext() {
        return taken < futures.size();
      }

      @Override
      public R next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        try {
          CompletableFuture<R> next = done.take();
          taken++;
          return join(next);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new CompletionException(e);
        }
      }
    };
  }

  private <A, R> List<TaskFuture<R>> submit(TaskType<A, R> type, List<? extends A> arguments,
      SubmitOptions options) {
    if (closed.get()) {
      throw new IllegalStateException("the pool (" + describe + ") is closed; create a new one");
    }
    List<TaskHandle<R>> handles = producer.submitAll(type, arguments, options);
    List<TaskFuture<R>> futures = new ArrayList<>(handles.size());
    for (TaskHandle<R> handle : handles) {
      TaskFuture<R> future = new TaskFuture<>(handle);
      pending.add(future); // before the outcome can arrive, so that its removal cannot come first
      handle.result().whenComplete((result, error) -> {
        Throwable failure = error == null ? null : unwrap(error);
        if (processes != null && failure instanceof RemoteTaskException remote
            && "io.taskmaster.WorkerLost".equals(remote.remoteType())) {
          // Its process died; say how, once the supervisor has seen the exit (it may see it after the master).
          processes.crashed(remote.workerId()).thenAccept(crash -> {
            future.completeExceptionally(new WorkerCrashedException(handle.id(),
                crash.isEmpty() ? "its connection closed" : crash, remote));
            pending.remove(future);
          });
          return;
        }
        if (error == null) {
          future.complete(result);
        } else if (failure instanceof RemoteTaskException remote
            && "io.taskmaster.TaskCancelled".equals(remote.remoteType())) {
          future.cancelLocally(); // cancelled on the master: the future reads as cancelled, as Java expects
        } else {
          future.completeExceptionally(failure);
        }
        pending.remove(future);
      });
      futures.add(future);
    }
    return futures;
  }

  private static Throwable unwrap(Throwable error) {
    return error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
  }

  private static <R> R join(CompletableFuture<R> future) {
    try {
      return future.join();
    } catch (CompletionException e) {
      if (e.getCause() instanceof RuntimeException runtime) {
        throw runtime;
      }
      throw e;
    }
  }

  /**
   * Waits until every task submitted so far has completed (successfully or not), however long that takes: in a
   * thread pool, a handler that ignores interruption and has no time limit keeps it waiting for ever. {@link
   * #join(Duration)} bounds the wait.
   */
  public void join() {
    allSettled().join();
  }

  /**
   * Waits at most {@code timeout} for every task submitted so far to complete, as {@code
   * ExecutorService.awaitTermination} does: true if they all did, false if some still run (or this thread was
   * interrupted, whose interrupt status is then set). {@code if (!pool.join(limit)) pool.terminate();} is a close
   * that cannot hang.
   */
  public boolean join(Duration timeout) {
    try {
      allSettled().get(timeout.toNanos(), TimeUnit.NANOSECONDS);
      return true;
    } catch (TimeoutException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } catch (ExecutionException e) {
      throw new IllegalStateException("unreachable: allSettled() never fails", e);
    }
  }

  /** Completes when every task submitted so far has completed, whatever its outcome. */
  private CompletableFuture<Void> allSettled() {
    return CompletableFuture.allOf(List.copyOf(pending).stream().map(future -> future.exceptionally(error -> null))
        .toArray(CompletableFuture[]::new));
  }

  /** The process ids of the worker processes running now (empty for other pools). */
  public List<Long> workerPids() {
    return processes == null ? List.of() : processes.pids();
  }

  /** Worker processes replaced so far after they died (0 for other pools). */
  public int crashes() {
    return processes == null ? 0 : processes.crashes();
  }

  /**
   * Accepts no more tasks, lets the submitted ones finish (as long as they take: see {@link #join()}), then stops the
   * workers and releases everything. Python's {@code close(); join()}. Idempotent.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    join();
    release(STOP_GRACE);
  }

  /** Stops at once: workers are stopped or killed, tasks not yet done fail. Idempotent. */
  public void terminate() {
    closed.set(true);
    IllegalStateException terminated = new IllegalStateException("the pool was terminated before the task ended");
    List.copyOf(pending).forEach(future -> future.completeExceptionally(terminated));
    release(Duration.ZERO);
  }

  /** Stops the workers (letting tasks in hand run for {@code grace}), then releases the rest. */
  private void release(Duration grace) {
    if (!released.compareAndSet(false, true)) {
      return;
    }
    if (localWorker != null) {
      localWorker.shutdown(grace);
    }
    if (processes != null) {
      if (grace.isZero()) {
        processes.close();
      } else {
        processes.stop(grace);
      }
    }
    broker.close();
    for (AutoCloseable resource : resources) {
      try {
        resource.close();
      } catch (Exception e) {
        // releasing the rest matters more
      }
    }
  }

  @Override
  public String toString() {
    return "TaskPool[" + describe + "]";
  }
}
