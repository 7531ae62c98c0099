package io.taskmaster.worker;

import io.taskmaster.backoff.Backoff;
import io.taskmaster.broker.Broker;
import io.taskmaster.broker.BrokerException;
import io.taskmaster.broker.BrokerUnavailableException;
import io.taskmaster.broker.Delivery;
import io.taskmaster.broker.Names;
import io.taskmaster.broker.NonBlockingThread;
import io.taskmaster.broker.SettleStatus;
import io.taskmaster.broker.Settlement;
import io.taskmaster.broker.TaskIds;
import io.taskmaster.task.TaskError;
import io.taskmaster.task.TaskType;
import io.taskmaster.time.Timers;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Takes tasks from queues, runs their handlers and settles them.
 *
 * <p>Concurrency is bounded by one visible semaphore: a permit per task in hand. A lease asks the broker for as many
 * tasks as there are free permits (so a worker with concurrency 1 leases one task, settles it, leases the next), and
 * each finished task returns its permit. A worker serving several queues has one permit more per further queue, so
 * that a long poll on a quiet queue never takes the last one from a busy queue. CPU-bound, tasks run at most
 * {@code concurrency} at once on a fixed pool; IO-bound, where each run of tasks gets a thread of its own, up to as
 * many as the worker holds. A handler that throws fails its task and the worker goes on.
 *
 * <p>Shutdown ({@link #shutdown(Duration)}) stops leasing, lets the tasks in hand finish within a grace period, and
 * releases the ones that did not so that another worker gets them at once.
 */
public final class Worker implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Worker.class);
  private static final AtomicInteger SEQUENCE = new AtomicInteger();
  /** Time limits, lease extensions and lease retries of every worker in the JVM: it must not block on a socket. */
  private static final ScheduledExecutorService TIMER = Timers.singleThread(runnable -> {
    Thread thread = new NonBlockingThread(runnable, "taskmaster-worker-timer");
    thread.setDaemon(true);
    return thread;
  });
  /** How often leases in hand are checked for extension. */
  private static final Duration EXTEND_CHECK = Duration.ofMillis(200);
  /** Outcomes settled in one request at most. */
  private static final int SETTLE_BATCH = 64;
  /** The longest a finished task's outcome waits for others to share its settle request. */
  private static final long SETTLE_LINGER_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
  /** With adaptive prefetch: about how much work a worker leases ahead, per task it runs at once. */
  private static final long PREFETCH_BUDGET_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
  /** With adaptive prefetch: how long a task leased ahead may wait behind others before it is given back. */
  private static final long GIVE_BACK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
  /** With adaptive prefetch: the most tasks leased ahead, per task run at once (up to eight). */
  static final int MAX_ADAPTIVE_PREFETCH = 256;
  /** How long one lease request waits on the broker before it comes back empty and is sent again. */
  private static final Duration LEASE_POLL = Duration.ofSeconds(2);
  /**
   * How long a task thread that sent a lease waits for its answer before it goes back to its pool (see {@link
   * Leaser#awaitLease}): about a busy queue's round trip, well under anything a stop would notice.
   */
  private static final long LEASE_ANSWER_WAIT_MILLIS = 20;
  /** The code of a broker's refusal of a request too large for one frame (docs/protocol.md, section 3.3). */
  private static final String FRAME_TOO_LARGE = "FRAME_TOO_LARGE";
  /** The error type of a task whose result is too large for the broker to carry. */
  private static final String RESULT_TOO_LARGE = "io.taskmaster.ResultTooLarge";
  /**
   * How much of a failure's message is kept when its error is too large to send (its stack trace is dropped): enough
   * to say what went wrong, and at most 3,000 bytes, which fit any frame limit but the smallest few a master allows.
   */
  private static final int CUT_ERROR_CHARS = 1000;

  private final Broker broker;
  private final String id;
  private final List<String> queues;
  private final Handlers handlers;
  private final Concurrency mode;
  private final int concurrency;
  /** Tasks in hand at most: running, prefetched, and one more per further queue (see {@link Leaser}). */
  private final int slots;
  private final Semaphore permits;
  /** Tasks leased ahead: fixed, or adaptive (see {@link Builder#adaptivePrefetch()}). */
  private final int prefetch;
  private final boolean adaptivePrefetch;
  /** Counts the times finished tasks gave their permits back, so that a lease is never left unsent. */
  private final AtomicLong freed = new AtomicLong();
  /** A moving average of how long handlers run (ns); 0 until the first has run. */
  private volatile long averageRunNanos;
  private final ExecutorService executor;
  /** Leased tasks not yet settled, by lease id, with when their lease was last renewed. */
  private final Map<Long, Held> inHand = new ConcurrentHashMap<>();
  private ScheduledFuture<?> extender;
  private final List<Leaser> leasers;
  private final Set<CompletableFuture<?>> settling = ConcurrentHashMap.newKeySet();
  private final AtomicLong succeeded = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  /** Grace after an interrupt before a handler that ignores it counts as stuck; and what is done then. */
  private final Duration stuckGrace;
  private final java.util.function.Consumer<Delivery> onStuck;
  private volatile boolean running;

  private Worker(Builder builder) {
    this.broker = builder.broker;
    this.id = builder.id != null ? builder.id : defaultId();
    this.queues = List.copyOf(builder.queues.isEmpty() ? List.of("tasks") : builder.queues);
    this.handlers = new Handlers().add(new BuiltinTasks()).addAll(builder.handlers);
    this.mode = builder.mode;
    this.stuckGrace = builder.stuckGrace;
    this.onStuck = builder.onStuck;
    this.concurrency = builder.concurrency > 0 ? builder.concurrency : defaultConcurrency(mode);
    this.adaptivePrefetch = builder.adaptivePrefetch;
    // Thousands of IO threads need no more tasks in hand than eight busy cores would.
    this.prefetch = adaptivePrefetch ? MAX_ADAPTIVE_PREFETCH * Math.min(concurrency, 8) : builder.prefetch;
    this.slots = concurrency + prefetch + queues.size() - 1;
    this.permits = new Semaphore(slots);
    this.executor = TaskExecutors.create(mode, concurrency, id);
    this.leasers = queues.stream().map(Leaser::new).toList();
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

  /** Starts leasing from every queue and returns at once. */
  public Worker start() {
    if (running) {
      throw new IllegalStateException("worker " + id + " is already running");
    }
    if (executor.isShutdown()) {
      throw new IllegalStateException("worker " + id + " was shut down and cannot start again; build a new one");
    }
    running = true;
    log.info("worker {} serving {} on {} with concurrency {} ({}), handlers {}", id, queues, broker.describe(),
        concurrency, describeMode(), handlers.names());
    extender = TIMER.scheduleWithFixedDelay(this::checkLeases, EXTEND_CHECK.toMillis(), EXTEND_CHECK.toMillis(),
        TimeUnit.MILLISECONDS);
    broker.onCancelRequested(this::stop);
    offerSlots(null);
    return this;
  }

  /** A task in hand. */
  private static final class Held {
    final Delivery delivery;
    /** When this worker got the task (System.nanoTime). */
    final long receivedNanos;
    /** When the lease was granted or last extended (System.nanoTime). */
    volatile long renewedNanos;
    /** Taken by whoever deals with the task first: the thread that runs it, or a give-back of a waiting one. */
    private final AtomicBoolean claimed = new AtomicBoolean();
    /** Set when an extension was refused: another worker has the task; its handler may stop early. */
    volatile boolean lost;
    /** Set when its producer cancelled it: the handler is interrupted, or never starts. */
    volatile boolean cancelled;
    /** The thread running the handler, while it runs; guarded by this. */
    private Thread runner;
    /** When the handler started (System.nanoTime), while it runs; 0 otherwise. */
    volatile long startedNanos;

    Held(Delivery delivery, long renewedNanos) {
      this.delivery = delivery;
      this.receivedNanos = renewedNanos;
      this.renewedNanos = renewedNanos;
    }

    boolean claim() {
      return claimed.compareAndSet(false, true);
    }

    boolean waiting() {
      return !claimed.get();
    }

    /** Returns when it started (System.nanoTime). */
    synchronized long started() {
      runner = Thread.currentThread();
      startedNanos = System.nanoTime();
      return startedNanos;
    }

    /** Ends the run on this thread; an interrupt meant for this task must not reach the next one. */
    void finished() {
      synchronized (this) {
        runner = null;
        startedNanos = 0;
      }
      if (cancelled) {
        Thread.interrupted();
      }
    }

    /** Marks the task cancelled and interrupts its handler if it runs; returns the thread it runs on, or null. */
    synchronized Thread cancel() {
      cancelled = true;
      if (runner != null) {
        runner.interrupt();
      }
      return runner;
    }

    synchronized boolean runsOn(Thread thread) {
      return runner == thread;
    }

    boolean stopSignalled() {
      return lost || cancelled;
    }

    boolean due(long now) {
      long timeoutNanos = TimeUnit.MILLISECONDS.toNanos(delivery.leaseTimeoutMillis());
      // A third of the timeout leaves two more chances before the lease runs out.
      return timeoutNanos > 0 && now - renewedNanos > timeoutNanos / 3;
    }
  }

  /**
   * Keeps the leases of long tasks alive: every lease past a third of its timeout is extended, all in one request.
   * A lease that could not be extended has expired; its task goes to another worker, and this one's outcome will be
   * refused.
   */
  private void checkLeases() {
    try {
      extendLeases();
    } catch (RuntimeException | Error e) {
      // A periodic task that throws is never run again: the leases in hand would expire under running handlers.
      log.error("worker {}: checking the leases in hand failed; checking again in {} ms", id, EXTEND_CHECK.toMillis(),
          e);
    }
  }

  private void extendLeases() {
    long now = System.nanoTime();
    if (adaptivePrefetch) {
      giveBackStale(now);
    }
    List<Held> due = inHand.values().stream().filter(held -> held.due(now)).toList();
    if (due.isEmpty()) {
      return;
    }
    List<Long> leaseIds = due.stream().map(held -> held.delivery.leaseId()).toList();
    request(() -> broker.extend(leaseIds)).whenComplete((statuses, error) -> {
      if (error != null) {
        log.debug("worker {}: extending {} lease(s) failed: {}", id, leaseIds.size(), rootMessage(error));
        return;
      }
      for (int i = 0; i < due.size(); i++) {
        Held held = due.get(i);
        if (statuses.get(i) == SettleStatus.OK) {
          held.renewedNanos = now;
        } else if (inHand.remove(held.delivery.leaseId()) != null) {
          held.lost = true;
          if (held.claim()) {
            // It waited behind others and will not start here, so nothing else gives its permit back.
            log.warn("task {} ({}): its lease expired while it waited in this worker; another worker gets it",
                held.delivery.taskId(), held.delivery.type());
            free(1);
            offerSlots(null);
          } else {
            log.warn("task {} ({}): its lease expired before it could be extended; another worker gets the task and "
                + "this worker's outcome will be refused", held.delivery.taskId(), held.delivery.type());
          }
        }
      }
    });
  }

  /**
   * Its producer cancelled a task this worker holds: a running handler is interrupted (and one that ignores that for
   * the stuck grace is handed to the stuck handler, as past a time limit); a task not started yet never starts.
   */
  private void stop(long leaseId) {
    Held held = inHand.get(leaseId);
    if (held == null) {
      return;
    }
    Thread thread = held.cancel();
    Delivery delivery = held.delivery;
    log.info("task {} ({}) was cancelled by its producer{}", delivery.taskId(), delivery.type(),
        thread == null ? " before it started" : "; interrupting its handler");
    if (thread != null) {
      TIMER.schedule(() -> {
        if (held.runsOn(thread)) {
          log.warn("task {} ({}) ignores its cancellation: still running {} ms after its handler was interrupted",
              delivery.taskId(), delivery.type(), stuckGrace.toMillis());
          onStuck.accept(delivery);
        }
      }, stuckGrace.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  private String describeMode() {
    if (mode == Concurrency.CPU_BOUND) {
      return "CPU-bound, platform threads";
    }
    return TaskExecutors.virtualThreadsAvailable() ? "IO-bound, virtual threads" : "IO-bound, platform threads";
  }

  /**
   * Leases from one queue, event-driven: at most one lease request is in flight, asking for every free permit. It
   * is sent again when a task finishes (so the settle and the next lease leave in the same write), when a long poll
   * comes back empty, or after a backoff when the broker could not be reached.
   *
   * <p>A worker serving several queues has one slot more per further queue, and a leaser whose queue was empty last
   * time long-polls with one slot: so a quiet queue's poll never holds the slots a busy queue could use. When tasks
   * finish, or a lease brings fewer than it asked for, every queue is offered the slots, in turn
   * ({@link #offerSlots}).
   */
  /** A lease request, completed once its answer has been handled, and the thread that sent it. */
  private record SentLease(CompletableFuture<Void> handled, Thread by) {}

  private final class Leaser {
    private final String queue;
    private final AtomicBoolean inFlight = new AtomicBoolean();
    private final Backoff backoff = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(5));
    /** Whether the last lease came back empty (or none was answered yet). */
    private volatile boolean quiet = true;
    /** Set for a backoff after a thread could not be started. */
    private volatile boolean paused;
    /** The last lease sent, and by whom (see {@link #awaitLease}). */
    private volatile SentLease sent;
    /**
     * Touched by lease callbacks; with a broker that completes leases on the calling thread two may overlap, which
     * at worst repeats or skips a log line or a backoff step.
     */
    private boolean saidUnavailable;

    Leaser(String queue) {
      this.queue = queue;
    }

    void pump() {
      while (running && !paused && inFlight.compareAndSet(false, true)) {
        long freedBefore = freed.get();
        int wanted = limitPrefetch(takeSlots());
        if (wanted > 0) {
          Lease lease = new Lease(this, wanted);
          CompletableFuture<Void> handled = request(() -> broker.lease(queue, wanted, LEASE_POLL))
              .handle((leased, error) -> {
                try {
                  onLeased(lease, leased, error);
                } catch (RuntimeException | Error bug) {
                  onLeaseHandlingFailed(lease, bug);
                }
                return null;
              });
          sent = new SentLease(handled, Thread.currentThread());
          return;
        }
        inFlight.set(false);
        // A task that finished between the drain and the reset saw inFlight set and left the lease to us.
        if (freed.get() == freedBefore) {
          return;
        }
      }
    }

    /**
     * Called by a task thread that has settled its run: if it sent the lease now in flight, it waits a little for the
     * answer, so that a broker whose waiting callers read their own answers (the remote one) lets this thread read
     * the LEASED itself, and the task it brings, queued to the pool meanwhile, is taken by this thread when it gets
     * back there, with no thread woken to hand it over.
     */
    void awaitLease() {
      SentLease last = sent;
      if (last == null || last.handled.isDone() || last.by != Thread.currentThread() || mode != Concurrency.CPU_BOUND
          || quiet || leasers.size() > 1
          || executor instanceof ThreadPoolExecutor pool && !pool.getQueue().isEmpty()) {
        // Only the CPU-bound mode's fixed pool takes the task from its queue on this thread (the IO-bound mode hands
        // each task to a fresh or idle thread, and a virtual thread would only park). Not when the queue was empty
        // last time (the lease is a long poll), nor when another queue's tasks could be queued for the pool while
        // this thread waits; and tasks queued already are this thread's to take now.
        return;
      }
      try {
        last.handled.get(LEASE_ANSWER_WAIT_MILLIS, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt(); // the pool's: it is shutting down
      } catch (ExecutionException | TimeoutException e) {
        // handled where the lease completes; a long poll's answer is left to whoever reads it
      }
    }

    private int takeSlots() {
      if (quiet && leasers.size() > 1) {
        return permits.tryAcquire() ? 1 : 0;
      }
      return permits.drainPermits();
    }

    /**
     * A bug in handling a lease would otherwise vanish into the future and leave this leaser in flight for good: a
     * worker that silently stops taking tasks. It is logged; the slots the lease still held come back, its tasks
     * not yet handed to a thread go back to the queue, and leasing resumes after a pause.
     */
    private void onLeaseHandlingFailed(Lease lease, Throwable bug) {
      permits.release(lease.slots);
      retryLater(lease);
      log.error("worker {}: handling a lease from queue '{}' failed; leasing again after a pause", id, queue, bug);
      try {
        releaseAll(lease.unplaced());
      } catch (RuntimeException | Error again) {
        log.error("worker {}: the tasks of that lease not yet started stay leased until their lease expires", id,
            again);
      }
    }

    private void retryLater(Lease lease) {
      TIMER.schedule(() -> {
        lease.done();
        pump();
      }, backoff.next().toNanos(), TimeUnit.NANOSECONDS);
    }

    private void onLeased(Lease lease, List<Delivery> leased, Throwable error) {
      if (error != null) {
        lease.giveBack(lease.slots);
        if (running && !saidUnavailable) {
          log.warn("worker {} cannot lease from queue '{}' on {}: {}; retrying with backoff", id, queue,
              broker.describe(), rootMessage(error));
          saidUnavailable = true;
        }
        retryLater(lease);
        return;
      }
      if (saidUnavailable) {
        log.info("worker {} is leasing from queue '{}' again", id, queue);
        saidUnavailable = false;
      }
      backoff.reset();
      quiet = leased.isEmpty();
      lease.tasks = leased;
      if (leased.size() > lease.wanted) {
        List<Delivery> extra = leased.subList(lease.wanted, leased.size());
        log.warn("worker {}: {} answered a lease of {} task(s) with {}; the extra ones go back to queue '{}': {}", id,
            broker.describe(), lease.wanted, leased.size(), queue, taskIds(extra));
        lease.tasks = leased.subList(0, lease.wanted);
        releaseAll(extra);
      }
      lease.giveBack(lease.wanted - lease.tasks.size());
      int keep = tasksToKeep(lease.tasks.size());
      if (keep < lease.tasks.size()) {
        List<Delivery> excess = lease.tasks.subList(keep, lease.tasks.size());
        lease.tasks = lease.tasks.subList(0, keep);
        releaseAll(excess);
        lease.giveBack(excess.size()); // the lease sent next asks only for what fits then
      }
      // Free before the tasks start, so that the thread that finishes one sends the next lease along with its
      // settlement; this callback runs on the connection's reader, which cannot write without a hand-off.
      lease.done();
      // Up to `concurrency` tasks run side by side; prefetched ones beyond that run in turn behind them, in runs
      // whose outcomes are settled together.
      lease.runs = Math.min(concurrency, lease.tasks.size());
      while (lease.placed < lease.runs) {
        List<Delivery> batch = lease.run(lease.placed);
        dispatch(batch);
        lease.placed++;
        lease.slots -= batch.size();
      }
      if (permits.availablePermits() > 0) {
        offerSlots(this); // slots this lease did not fill
      }
    }

    /** Hands a run of tasks to a thread, or back to the queue when the worker stops or no thread can be had. */
    private void dispatch(List<Delivery> batch) {
      if (running) {
        long now = System.nanoTime();
        batch.forEach(delivery -> inHand.put(delivery.leaseId(), new Held(delivery, now)));
        try {
          executor.execute(() -> run(batch, this));
          return;
        } catch (RuntimeException | Error refused) {
          batch.forEach(delivery -> inHand.remove(delivery.leaseId()));
          if (running) { // rejected while stopping is expected; anything else (no native thread left) is not
            log.error("worker {}: cannot start a thread for {} task(s); they go back to queue '{}' and leasing "
                + "pauses: {}", id, batch.size(), queue, taskIds(batch), refused);
            pause(); // leasing again at once would get the same tasks and fail the same way, in a tight loop
          }
        }
      }
      releaseAll(batch);
      free(batch.size());
    }

    /** Stops this leaser for a backoff, then offers it the slots again. */
    private void pause() {
      paused = true;
      TIMER.schedule(() -> {
        paused = false;
        offerSlots(null);
      }, backoff.next().toNanos(), TimeUnit.NANOSECONDS);
    }
  }

  /**
   * One lease request, from the leaser's point of view: the slots it took and has not yet handed to a thread or
   * given back, and the tasks it brought. Only the thread that handles its answer touches the counts.
   */
  private final class Lease {
    final int wanted;
    private final AtomicBoolean holdsInFlight = new AtomicBoolean(true);
    private final Leaser leaser;
    int slots;
    List<Delivery> tasks = List.of();
    /** Runs the tasks are split into once they are handed out (0 before), and how many were handed out. */
    int runs;
    int placed;

    Lease(Leaser leaser, int wanted) {
      this.leaser = leaser;
      this.wanted = wanted;
      this.slots = wanted;
    }

    void giveBack(int count) {
      permits.release(count);
      slots -= count;
    }

    /** The tasks of one run: every {@code runs}-th, so that runs of prefetched tasks are even. */
    List<Delivery> run(int run) {
      List<Delivery> batch = new ArrayList<>();
      for (int i = run; i < tasks.size(); i += runs) {
        batch.add(tasks.get(i));
      }
      return batch;
    }

    /** The tasks no thread has: all of them before they were handed out, else those of the runs not handed out. */
    List<Delivery> unplaced() {
      if (runs == 0) {
        return tasks;
      }
      List<Delivery> unplaced = new ArrayList<>();
      for (int run = placed; run < runs; run++) {
        unplaced.addAll(run(run));
      }
      return unplaced;
    }

    /** Lets the leaser's next lease go, once. */
    void done() {
      if (holdsInFlight.compareAndSet(true, false)) {
        leaser.inFlight.set(false);
      }
    }
  }

  /**
   * Offers slots that came back to every queue's leaser, starting after {@code after} (null: from the first), so
   * that with several queues none always comes last.
   */
  private void offerSlots(Leaser after) {
    int count = leasers.size();
    int first = after == null ? 0 : leasers.indexOf(after) + 1;
    for (int i = 0; i < count; i++) {
      leasers.get((first + i) % count).pump();
    }
  }

  /**
   * With adaptive prefetch, of the {@code free} permits just taken keeps those that bring the tasks in hand up to
   * what the worker runs in about {@link #PREFETCH_BUDGET_NANOS} per thread (and no fewer than it runs at once,
   * plus the one slot per further queue that a quiet queue's poll may hold), and gives the rest back. So many short
   * tasks come a batch per round trip, while long ones (or ones not yet timed) are leased only as threads free up
   * and are left to other workers meanwhile.
   */
  private int limitPrefetch(int free) {
    if (!adaptivePrefetch || free == 0) {
      return free;
    }
    long held = slots - free - permits.availablePermits();
    int wanted = (int) Math.max(0, Math.min(free, concurrency + leasers.size() - 1 + ahead() - held));
    permits.release(free - wanted);
    return wanted;
  }

  /**
   * How many tasks to hold beyond those running: a millisecond of work per thread at the average run time, or at
   * the time the longest handler in hand has run so far if that is longer (a long task after short ones: nothing).
   */
  private long ahead() {
    if (averageRunNanos == 0 || averageRunNanos > PREFETCH_BUDGET_NANOS) {
      return 0; // not timed yet, or too long to lease ahead: no need to look at the tasks in hand
    }
    long now = System.nanoTime();
    long longest = 0;
    for (Held held : inHand.values()) {
      long started = held.startedNanos;
      if (started != 0) {
        longest = Math.max(longest, now - started);
      }
    }
    long average = Math.max(averageRunNanos, longest);
    return average == 0 ? 0 : Math.min(prefetch, concurrency * (PREFETCH_BUDGET_NANOS / Math.max(1, average)));
  }

  /**
   * With adaptive prefetch, how many of the {@code leased} tasks a lease brought fit what {@link #ahead()} allows
   * now; the rest are released untried: a lease asked for while handlers were short may arrive once a long one runs.
   */
  private int tasksToKeep(int leased) {
    if (!adaptivePrefetch || leased <= concurrency) {
      return leased;
    }
    long keep = Math.max(concurrency - inHand.size(), Math.max(0, concurrency + ahead() - inHand.size()));
    return (int) Math.min(leased, keep);
  }

  /**
   * Adaptive prefetch guessed from short tasks, and a long one came: the tasks leased ahead that still wait behind
   * it are released, untried, for idle workers to take. The worker takes no more until a task finishes and its
   * time has corrected the guess.
   */
  private void giveBackStale(long now) {
    List<Delivery> stale = new ArrayList<>();
    for (Held held : inHand.values()) {
      if (held.waiting() && now - held.receivedNanos > GIVE_BACK_NANOS && held.claim()) {
        stale.add(held.delivery);
      }
    }
    if (stale.isEmpty()) {
      return;
    }
    stale.forEach(delivery -> inHand.remove(delivery.leaseId()));
    log.debug("worker {}: {} task(s) leased ahead waited over {} ms behind longer ones; released to other workers",
        id, stale.size(), TimeUnit.NANOSECONDS.toMillis(GIVE_BACK_NANOS));
    releaseAll(stale);
    permits.release(stale.size()); // not counted as freed: no lease is sent for them until a task finishes
  }

  /** Gives back the permits of tasks that are done here, counted as freed so that a lease in flight re-checks. */
  private void free(int count) {
    permits.release(count);
    freed.incrementAndGet();
  }

  /** Folds a handler's run time into the moving average that adaptive prefetch reads. */
  private void timed(long nanos) {
    long average = averageRunNanos;
    averageRunNanos = average == 0 ? Math.max(1, nanos) : Math.max(1, average + (nanos - average) / 8);
  }

  /**
   * Runs tasks one after the other and settles their outcomes in batches: when the run ends, when a batch holds
   * {@value #SETTLE_BATCH} outcomes, or when its oldest outcome has waited {@link #SETTLE_LINGER_NANOS}, so that a
   * long task never holds back the result of a short one before it for long.
   */
  private void run(List<Delivery> batch, Leaser leaser) {
    List<Delivery> done = new ArrayList<>();
    List<Settlement> outcomes = new ArrayList<>();
    long oldest = 0;
    for (int position = 0; position < batch.size(); position++) {
      Delivery delivery = batch.get(position);
      Held held = inHand.get(delivery.leaseId());
      if (held == null || !held.claim()) {
        continue; // given back, or its lease expired, while it waited: another worker has it
      }
      if (held.lost) {
        // Its lease expired just now and the refusal lost the race to claim it: its permit is ours to give back.
        free(1);
        offerSlots(leaser);
        continue;
      }
      MDC.put("taskId", delivery.taskId());
      long started = held.started();
      TaskContext.enter(delivery, id, held::stopSignalled, (count, total, message) ->
          request(() -> broker.progress(delivery.leaseId(), count, total, message)).whenComplete((status, error) -> {
            if (error != null) {
              log.debug("task {}: a progress report was not delivered: {}", delivery.taskId(), rootMessage(error));
            }
          }));
      try {
        Settlement outcome;
        if (held.cancelled) {
          outcome = cancelled(delivery); // cancelled while it waited behind others: it never starts
        } else {
          outcome = delivery.timeoutMillis() > 0 ? executeWithin(delivery) : execute(delivery);
          timed(System.nanoTime() - started);
        }
        if (held.cancelled && outcome instanceof Settlement.Fail) {
          outcome = cancelled(delivery);
        }
        outcomes.add(outcome);
        done.add(delivery);
      } catch (RuntimeException | Error fatal) {
        // A VirtualMachineError from the handler (execute passes those on), or a bug: this task fails with it, the
        // outcomes before it are settled and the tasks behind it go back, then the thread ends with the error.
        outcomes.add(Settlement.fail(delivery.leaseId(), TaskError.of(fatal, id)));
        done.add(delivery);
        abandon(batch.subList(position + 1, batch.size()), done, outcomes, leaser);
        throw fatal;
      } finally {
        held.finished();
        TaskContext.exit();
        MDC.remove("taskId");
      }
      long now = System.nanoTime();
      if (outcomes.size() == 1) {
        oldest = now;
      }
      if (outcomes.size() >= SETTLE_BATCH || now - oldest > SETTLE_LINGER_NANOS) {
        settle(done, outcomes, leaser);
        done = new ArrayList<>();
        outcomes = new ArrayList<>();
      }
    }
    if (!outcomes.isEmpty()) {
      settle(done, outcomes, leaser);
      leaser.awaitLease();
    }
  }

  /** Settles what a run finished and gives back the tasks it will not start. */
  private void abandon(List<Delivery> rest, List<Delivery> done, List<Settlement> outcomes, Leaser leaser) {
    settle(done, outcomes, leaser);
    List<Delivery> released = new ArrayList<>();
    for (Delivery delivery : rest) {
      Held held = inHand.get(delivery.leaseId());
      if (held != null && held.claim()) {
        inHand.remove(delivery.leaseId());
        released.add(delivery);
      }
    }
    releaseAll(released);
    free(released.size());
    offerSlots(leaser);
  }

  private Settlement cancelled(Delivery delivery) {
    return Settlement.fail(delivery.leaseId(), TaskError.of("io.taskmaster.TaskCancelled",
        "the task was cancelled by its producer (attempt " + delivery.attempt() + ")", id));
  }

  private void settle(List<Delivery> done, List<Settlement> outcomes, Leaser leaser) {
    // The settlement and the lease that takes the freed slots leave in one write.
    AtomicBoolean ran = new AtomicBoolean();
    try {
      broker.pipelined(() -> {
        ran.set(true);
        settleThenLease(done, outcomes, leaser);
      });
    } catch (RuntimeException | Error e) {
      // Sending them failed; the requests' futures have heard so.
      log.warn("worker {}: sending {} outcome(s) failed: {}", id, outcomes.size(), e.toString());
      if (!ran.get()) {
        settleThenLease(done, outcomes, leaser); // the tasks' slots must come back either way
      }
    }
  }

  private void settleThenLease(List<Delivery> done, List<Settlement> outcomes, Leaser leaser) {
    track(settleFitting(done, outcomes)).whenComplete((statuses, error) -> {
      for (int i = 0; i < done.size(); i++) {
        Delivery delivery = done.get(i);
        if (error != null) {
          log.warn("task {} ({}): its outcome could not be reported ({}); it will be delivered again",
              delivery.taskId(), delivery.type(), rootMessage(error));
        } else if (statuses.get(i) == SettleStatus.UNKNOWN_LEASE) {
          log.warn("task {} ({}): the lease was lost before the outcome arrived; the task is delivered again",
              delivery.taskId(), delivery.type());
        }
      }
    });
    done.forEach(delivery -> inHand.remove(delivery.leaseId()));
    free(done.size());
    offerSlots(leaser);
  }

  /**
   * Settles outcomes. A broker that cannot carry one of them (a result or an error longer than the master takes in
   * a frame, {@code --max-frame}) refuses them all with FRAME_TOO_LARGE and sends none: each is then settled on its
   * own, and the one too large fails its task with an error that says so, or, a failure already, with its error cut
   * short. The task's attempt ends like any failed one (retried, or dead-lettered after its last); the connection,
   * and the other tasks in hand, carry on.
   */
  private CompletableFuture<List<SettleStatus>> settleFitting(List<Delivery> done, List<Settlement> outcomes) {
    return request(() -> broker.settle(outcomes)).exceptionallyCompose(error -> {
      Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
      if (!(cause instanceof BrokerException refused) || !FRAME_TOO_LARGE.equals(refused.code())) {
        return CompletableFuture.failedFuture(cause);
      }
      if (outcomes.size() > 1) {
        List<CompletableFuture<List<SettleStatus>>> each = new ArrayList<>();
        for (int i = 0; i < outcomes.size(); i++) {
          each.add(settleFitting(done.subList(i, i + 1), outcomes.subList(i, i + 1)));
        }
        return CompletableFuture.allOf(each.toArray(CompletableFuture[]::new))
            .thenApply(all -> each.stream().map(one -> one.join().get(0)).toList());
      }
      Settlement smaller = smaller(done.get(0), outcomes.get(0), refused.getMessage());
      return smaller == null ? CompletableFuture.failedFuture(cause) : request(() -> broker.settle(List.of(smaller)));
    });
  }

  /** What settles a task whose outcome is too large to send: a fail saying so; null when nothing smaller will do. */
  private Settlement smaller(Delivery delivery, Settlement outcome, String why) {
    if (outcome instanceof Settlement.Ack) {
      log.warn("task {} ({}) cannot be acked: {}; it fails instead", delivery.taskId(), delivery.type(), why);
      succeeded.decrementAndGet();
      failed.incrementAndGet();
      return Settlement.fail(delivery.leaseId(), TaskError.of(RESULT_TOO_LARGE, why, id));
    }
    if (outcome instanceof Settlement.Fail fail && fail.error().message().length() + fail.error().stackTrace()
        .length() > CUT_ERROR_CHARS) {
      TaskError error = fail.error();
      log.warn("task {} ({}) failed with an error too large to send ({}); it is sent cut short", delivery.taskId(),
          delivery.type(), why);
      boolean cut = error.message().length() > CUT_ERROR_CHARS;
      String message = (cut ? error.message().substring(0, CUT_ERROR_CHARS) + "..." : error.message()) + " (sent "
          + "without its stack trace" + (cut ? " and cut to " + CUT_ERROR_CHARS + " characters" : "") + ": " + why
          + ")";
      return Settlement.fail(delivery.leaseId(), new TaskError(error.type(), message, "", error.workerId()));
    }
    return null;
  }

  /**
   * Runs a task with a time limit: past it the handler's thread is interrupted, and a handler that then gives up
   * fails its attempt with a TaskTimeout error. A handler that ignores interruption runs on (a process pool can kill
   * it); one that finishes anyway keeps its result.
   */
  private Settlement executeWithin(Delivery delivery) {
    Thread runner = Thread.currentThread();
    Object guard = new Object();
    boolean[] finished = {false};
    boolean[] fired = {false};
    ScheduledFuture<?> alarm = TIMER.schedule(() -> {
      synchronized (guard) {
        if (!finished[0]) {
          fired[0] = true;
          runner.interrupt();
        }
      }
    }, delivery.timeoutMillis(), TimeUnit.MILLISECONDS);
    ScheduledFuture<?> stuck = TIMER.schedule(() -> {
      synchronized (guard) {
        if (finished[0]) {
          return;
        }
      }
      log.warn("task {} ({}) ignores its interruption: still running {} ms past its time limit of {} ms",
          delivery.taskId(), delivery.type(), stuckGrace.toMillis(), delivery.timeoutMillis());
      onStuck.accept(delivery);
    }, delivery.timeoutMillis() + stuckGrace.toMillis(), TimeUnit.MILLISECONDS);
    Settlement settlement;
    try {
      settlement = execute(delivery);
    } finally {
      synchronized (guard) {
        finished[0] = true;
      }
      alarm.cancel(false);
      stuck.cancel(false);
      Thread.interrupted(); // an alarm must not leak into the next task on this thread
    }
    if (fired[0] && settlement instanceof Settlement.Fail) {
      log.warn("task {} ({}) ran past its timeout of {} ms and was interrupted", delivery.taskId(), delivery.type(),
          delivery.timeoutMillis());
      return Settlement.fail(delivery.leaseId(), TaskError.of("io.taskmaster.TaskTimeout", "the task ran longer than "
          + "its timeout of " + delivery.timeoutMillis() + " ms and was interrupted (attempt " + delivery.attempt()
          + ")", id));
    }
    return settlement;
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
    long started = log.isDebugEnabled() ? System.nanoTime() : 0;
    try {
      byte[] result = registered.run(delivery.payload());
      succeeded.incrementAndGet();
      if (log.isDebugEnabled()) {
        log.debug("task {} ({}) done in {} us", delivery.taskId(), delivery.type(),
            (System.nanoTime() - started) / 1000);
      }
      return Settlement.ack(delivery.leaseId(), result);
    } catch (Throwable thrown) {
      if (!running && (thrown instanceof InterruptedException || Thread.currentThread().isInterrupted())) {
        // Interrupted because the worker stops past its grace period: the task is given back, not failed, so it
        // costs no attempt and another worker starts it at once.
        log.info("task {} ({}) interrupted by the shutdown; released", delivery.taskId(), delivery.type());
        return Settlement.release(delivery.leaseId());
      }
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
    track(request(() -> broker.settle(releases)));
  }

  /**
   * Sends a request; one that throws instead of failing its future (a broker's bug, an Error while writing) fails
   * the future, so that the worker's bookkeeping after it still runs.
   */
  private static <T> CompletableFuture<T> request(Supplier<CompletableFuture<T>> send) {
    try {
      CompletableFuture<T> sent = send.get();
      return sent != null ? sent : CompletableFuture.failedFuture(new IllegalStateException("the broker answered a "
          + "request with no future"));
    } catch (RuntimeException | Error e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** Remembers a settle until its answer arrives, so that shutdown can wait for it before the broker closes. */
  private <T> CompletableFuture<T> track(CompletableFuture<T> settle) {
    settling.add(settle);
    settle.whenComplete((result, error) -> settling.remove(settle));
    return settle;
  }

  /** The ids of these tasks for a log line (the first few, and how many more). */
  private static String taskIds(List<Delivery> deliveries) {
    return TaskIds.sample(deliveries.stream().map(Delivery::taskId).toList());
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
    extender.cancel(false);
    executor.shutdown();
    boolean drained;
    try {
      drained = executor.awaitTermination(grace.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      drained = false;
    }
    if (!drained) {
      List<Delivery> unfinished = inHand.values().stream().map(held -> held.delivery).toList();
      log.warn("worker {}: {} task(s) still running after the {} ms grace period; releasing them to other workers: "
          + "{}", id, unfinished.size(), grace.toMillis(), taskIds(unfinished));
      executor.shutdownNow();
      releaseAll(unfinished);
    }
    try {
      CompletableFuture.allOf(settling.toArray(CompletableFuture[]::new)).get(grace.toMillis() + 1,
          TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      log.warn("worker {}: not every outcome reached the broker before shutdown ({}); those tasks will be delivered "
          + "again", id, e.getMessage());
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
    private Duration stuckGrace = Duration.ofSeconds(5);
    private java.util.function.Consumer<Delivery> onStuck = delivery -> { };
    private final List<String> queues = new ArrayList<>();
    private String id;
    private Concurrency mode = Concurrency.CPU_BOUND;
    private int concurrency;
    private int prefetch;
    private boolean adaptivePrefetch;

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

    /**
     * Tasks leased ahead, beyond those running (default 0): they wait in this worker, invisible to others, and spare
     * a round trip each. Worth it for many short tasks; keep 0 for long ones, which other workers could start.
     */
    public Builder prefetch(int prefetch) {
      if (prefetch < 0) {
        throw new IllegalArgumentException("prefetch must not be negative, was " + prefetch);
      }
      this.prefetch = prefetch;
      this.adaptivePrefetch = false;
      return this;
    }

    /**
     * Leases ahead as many tasks as this worker runs in about a millisecond per thread, judged from a moving
     * average of its handlers' run times (none until it has timed one; at most 256 per thread, for up to eight
     * threads): tiny tasks come a batch per round trip, tasks of a millisecond or more one per free thread, so they
     * are not held back from other workers. What a process pool's workers do.
     */
    public Builder adaptivePrefetch() {
      this.adaptivePrefetch = true;
      return this;
    }

    /**
     * What to do with a handler still running {@code grace} after it was interrupted at its time limit (it ignores
     * interruption): by default only a warning, since a thread cannot be killed; a worker process of a pool exits,
     * so that its supervisor replaces it.
     */
    public Builder onStuckHandler(Duration grace, java.util.function.Consumer<Delivery> action) {
      this.stuckGrace = grace;
      this.onStuck = action;
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
