package io.taskmaster.worker;

import io.taskmaster.backoff.Backoff;
import io.taskmaster.broker.Broker;
import io.taskmaster.broker.BrokerUnavailableException;
import io.taskmaster.broker.Delivery;
import io.taskmaster.broker.Names;
import io.taskmaster.broker.SettleStatus;
import io.taskmaster.broker.Settlement;
import io.taskmaster.task.TaskError;
import io.taskmaster.task.TaskType;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Takes tasks from queues, runs their handlers and settles them.
 *
 * <p>Concurrency is bounded by one visible semaphore: a permit per task in hand. The leasing loop asks the broker for
 * as many tasks as there are free permits (so a worker with concurrency 1 leases one task, settles it, leases the
 * next), and each finished task returns its permit. A handler that throws fails its task and the worker goes on.
 *
 * <p>Shutdown ({@link #shutdown(Duration)}) stops leasing, lets the tasks in hand finish within a grace period, and
 * releases the ones that did not so that another worker gets them at once.
 */
public final class Worker implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Worker.class);
  private static final AtomicInteger SEQUENCE = new AtomicInteger();
  /** How long one lease request waits on the broker before the loop checks for shutdown and asks again. */
  private static final Duration LEASE_POLL = Duration.ofSeconds(2);

  private final Broker broker;
  private final String id;
  private final List<String> queues;
  private final Handlers handlers;
  private final Concurrency mode;
  private final int concurrency;
  private final Semaphore permits;
  private final ExecutorService executor;
  private final Map<Long, Delivery> inHand = new ConcurrentHashMap<>();
  private final List<Thread> leasers = new ArrayList<>();
  private final AtomicLong succeeded = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  private volatile boolean running;

  private Worker(Builder builder) {
    this.broker = builder.broker;
    this.id = builder.id != null ? builder.id : defaultId();
    this.queues = List.copyOf(builder.queues.isEmpty() ? List.of("tasks") : builder.queues);
    this.handlers = new Handlers().add(new BuiltinTasks()).addAll(builder.handlers);
    this.mode = builder.mode;
    this.concurrency = builder.concurrency > 0 ? builder.concurrency : defaultConcurrency(mode);
    this.permits = new Semaphore(concurrency);
    this.executor = TaskExecutors.create(mode, concurrency, id);
  }

  public static Builder builder(Broker broker) {
    return new Builder(broker);
  }

  private static String defaultId() {
    String host = System.getenv().getOrDefault("HOSTNAME", "worker");
    return host + "-" + ProcessHandle.current().pid() + "-" + SEQUENCE.incrementAndGet();
  }

  private static int defaultConcurrency(Concurrency mode) {
    return mode == Concurrency.CPU_BOUND ? Runtime.getRuntime().availableProcessors() : 1000;
  }

  /** Starts one leasing loop per queue and returns at once. */
  public Worker start() {
    if (running) {
      throw new IllegalStateException("worker " + id + " is already running");
    }
    running = true;
    for (String queue : queues) {
      Thread leaser = new Thread(() -> leaseLoop(queue), "taskmaster-leaser-" + id + "-" + queue);
      leasers.add(leaser);
      leaser.start();
    }
    log.info("worker {} serving {} on {} with concurrency {} ({}), handlers {}", id, queues, broker.describe(),
        concurrency, describeMode(), handlers.names());
    return this;
  }

  private String describeMode() {
    if (mode == Concurrency.CPU_BOUND) {
      return "CPU-bound, platform threads";
    }
    return TaskExecutors.virtualThreadsAvailable() ? "IO-bound, virtual threads" : "IO-bound, platform threads";
  }

  private void leaseLoop(String queue) {
    Backoff backoff = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(5));
    boolean saidUnavailable = false;
    while (running) {
      int wanted;
      try {
        permits.acquire();
        wanted = 1 + permits.drainPermits();
      } catch (InterruptedException e) {
        break;
      }
      List<Delivery> leased;
      var request = broker.lease(queue, wanted, LEASE_POLL);
      try {
        leased = request.get();
      } catch (InterruptedException e) {
        permits.release(wanted);
        request.thenAccept(this::releaseAll);
        break;
      } catch (ExecutionException e) {
        permits.release(wanted);
        if (!running) {
          break;
        }
        if (!saidUnavailable) {
          log.warn("worker {} cannot lease from queue '{}' on {}: {}; retrying with backoff", id, queue,
              broker.describe(), e.getCause().getMessage());
          saidUnavailable = true;
        }
        if (!pause(backoff.next())) {
          break;
        }
        continue;
      }
      if (saidUnavailable) {
        log.info("worker {} is leasing from queue '{}' again", id, queue);
        saidUnavailable = false;
      }
      backoff.reset();
      permits.release(wanted - leased.size());
      if (!running) {
        releaseAll(leased);
        permits.release(leased.size());
        break;
      }
      for (Delivery delivery : leased) {
        inHand.put(delivery.leaseId(), delivery);
        executor.execute(() -> run(delivery));
      }
    }
  }

  /** Waits {@code delay} unless the worker stops first; false when it stopped. */
  private synchronized boolean pause(Duration delay) {
    long deadline = System.nanoTime() + delay.toNanos();
    try {
      for (long left = delay.toNanos(); running && left > 0; left = deadline - System.nanoTime()) {
        TimeUnit.NANOSECONDS.timedWait(this, left);
      }
    } catch (InterruptedException e) {
      return false;
    }
    return running;
  }

  private void run(Delivery delivery) {
    MDC.put("taskId", delivery.taskId());
    try {
      Settlement settlement = execute(delivery);
      broker.settle(List.of(settlement)).whenComplete((statuses, error) -> {
        if (error != null) {
          log.warn("task {} ({}): its outcome could not be reported ({}); it will be delivered again",
              delivery.taskId(), delivery.type(), rootMessage(error));
        } else if (statuses.get(0) == SettleStatus.UNKNOWN_LEASE) {
          log.warn("task {} ({}): the lease was lost before the outcome arrived; the task is delivered again",
              delivery.taskId(), delivery.type());
        }
      });
    } finally {
      inHand.remove(delivery.leaseId());
      MDC.remove("taskId");
      permits.release();
    }
  }

  private Settlement execute(Delivery delivery) {
    Handlers.Registered<?, ?> registered = handlers.get(delivery.type());
    if (registered == null) {
      failed.incrementAndGet();
      String message = "no handler registered for '" + delivery.type() + "' on worker " + id
          + " (it knows " + handlers.names() + ")";
      log.warn("task {}: {}", delivery.taskId(), message);
      return Settlement.fail(delivery.leaseId(), TaskError.of("io.taskmaster.worker.NoHandlerException", message, id));
    }
    long started = System.nanoTime();
    try {
      byte[] result = registered.run(delivery.payload());
      succeeded.incrementAndGet();
      if (log.isDebugEnabled()) {
        log.debug("task {} ({}) done in {} us", delivery.taskId(), delivery.type(),
            (System.nanoTime() - started) / 1000);
      }
      return Settlement.ack(delivery.leaseId(), result);
    } catch (Throwable thrown) {
      failed.incrementAndGet();
      log.info("task {} ({}) failed: {}", delivery.taskId(), delivery.type(), thrown.toString());
      if (thrown instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      if (thrown instanceof VirtualMachineError error && !(thrown instanceof StackOverflowError)) {
        throw error;
      }
      return Settlement.fail(delivery.leaseId(), TaskError.of(thrown, id));
    }
  }

  private void releaseAll(List<Delivery> deliveries) {
    if (deliveries.isEmpty()) {
      return;
    }
    List<Settlement> releases = new ArrayList<>();
    for (Delivery delivery : deliveries) {
      releases.add(Settlement.release(delivery.leaseId()));
    }
    broker.settle(releases);
  }

  private static String rootMessage(Throwable error) {
    Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    return cause instanceof BrokerUnavailableException ? cause.getMessage() : cause.toString();
  }

  /**
   * Stops leasing, waits up to {@code grace} for the tasks in hand to finish, then interrupts and releases the rest
   * so that other workers take them at once. Returns true when every task in hand finished.
   */
  public boolean shutdown(Duration grace) {
    if (!running) {
      return inHand.isEmpty();
    }
    running = false;
    synchronized (this) {
      notifyAll();
    }
    leasers.forEach(Thread::interrupt);
    for (Thread leaser : leasers) {
      try {
        leaser.join(grace.toMillis() + 1);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    executor.shutdown();
    boolean drained;
    try {
      drained = executor.awaitTermination(grace.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      drained = false;
    }
    if (!drained) {
      List<Delivery> unfinished = new ArrayList<>(inHand.values());
      log.warn("worker {}: {} task(s) still running after the {} ms grace period; releasing them to other workers",
          id, unfinished.size(), grace.toMillis());
      executor.shutdownNow();
      releaseAll(unfinished);
    }
    log.info("worker {} stopped: {} succeeded, {} failed", id, succeeded.get(), failed.get());
    return drained;
  }

  /** Shuts down with a 30 s grace period. Does not close the broker, which the caller owns. */
  @Override
  public void close() {
    shutdown(Duration.ofSeconds(30));
  }

  public String id() {
    return id;
  }

  public int concurrency() {
    return concurrency;
  }

  public long succeeded() {
    return succeeded.get();
  }

  public long failed() {
    return failed.get();
  }

  public boolean isRunning() {
    return running;
  }

  /** Configures a worker. */
  public static final class Builder {
    private final Broker broker;
    private final Handlers handlers = new Handlers();
    private final List<String> queues = new ArrayList<>();
    private String id;
    private Concurrency mode = Concurrency.CPU_BOUND;
    private int concurrency;

    private Builder(Broker broker) {
      this.broker = Objects.requireNonNull(broker, "broker");
    }

    /** A name for logs and errors; default {@code <host>-<pid>-<n>}. */
    public Builder id(String id) {
      this.id = Names.requireValid("worker id", id);
      return this;
    }

    /** A queue to serve (repeatable); default {@code tasks}. */
    public Builder queue(String queue) {
      queues.add(Names.requireValid("queue name", queue));
      return this;
    }

    public <A, R> Builder handle(TaskType<A, R> type, TaskHandler<A, R> handler) {
      handlers.on(type, handler);
      return this;
    }

    public Builder register(TaskSet set) {
      handlers.add(set);
      return this;
    }

    /** Registers a {@link TaskSet} class by name, as {@code --tasks} does. */
    public Builder register(String taskSetClassName) {
      handlers.add(taskSetClassName);
      return this;
    }

    public Builder mode(Concurrency mode) {
      this.mode = Objects.requireNonNull(mode, "mode");
      return this;
    }

    /** How many tasks run at once; default: the number of cores (CPU-bound) or 1000 (IO-bound). */
    public Builder concurrency(int concurrency) {
      if (concurrency < 1) {
        throw new IllegalArgumentException("concurrency must be at least 1, was " + concurrency);
      }
      this.concurrency = concurrency;
      return this;
    }

    public Worker build() {
      return new Worker(this);
    }

    /** Builds and starts the worker. */
    public Worker start() {
      return build().start();
    }
  }
}
