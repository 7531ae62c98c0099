package io.taskmaster.worker;

import io.taskmaster.broker.Delivery;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a handler knows about the task it runs, from anywhere in its call stack: {@code TaskContext.current()}. This
 * is what the study note's ThreadLocal is for (per-task state without passing it around), and it is one: each task
 * runs on one thread at a time, a virtual thread of its own in IO mode, and the context is cleared when the task
 * ends, so nothing leaks into the next task on a pooled thread.
 *
 * <pre>{@code
 * handlers.on(REPORT, month -> {
 *   TaskContext task = TaskContext.current();
 *   task.log().info("attempt {} of report {}", task.attempt(), month);   // the line carries the task id
 *   for (Page page : pages) {
 *     task.checkCancelled();                                              // stop early once the task is lost
 *     render(page);
 *   }
 *   ...
 * });
 * }</pre>
 */
public final class TaskContext {
  private static final ThreadLocal<TaskContext> CURRENT = new ThreadLocal<>();

  private final Delivery delivery;
  private final String workerId;
  private final Instant deadline;
  /** Whether the task was cancelled by its producer or its lease was lost. */
  private final BooleanSupplier stopSignalled;
  private final Reporter reporter;
  private long lastReportNanos;

  /** Sends a progress report for the task's lease. */
  @FunctionalInterface
  interface Reporter {
    void report(long done, long total, String message);
  }

  /** Reports closer together than this are dropped, except the last one ({@code done >= total}). */
  private static final long REPORT_INTERVAL_NANOS = 100_000_000L;

  private TaskContext(Delivery delivery, String workerId, Instant deadline, BooleanSupplier stopSignalled,
      Reporter reporter) {
    this.delivery = delivery;
    this.workerId = workerId;
    this.deadline = deadline;
    this.stopSignalled = stopSignalled;
    this.reporter = reporter;
  }

  /** The context of the task this thread runs; throws outside a handler. */
  public static TaskContext current() {
    TaskContext context = CURRENT.get();
    if (context == null) {
      throw new IllegalStateException("TaskContext.current() is only available while a task handler runs, on its "
          + "thread; pass what you need to other threads yourself");
    }
    return context;
  }

  /** The context of the task this thread runs, if it runs one. */
  public static Optional<TaskContext> find() {
    return Optional.ofNullable(CURRENT.get());
  }

  static TaskContext enter(Delivery delivery, String workerId, BooleanSupplier stopSignalled, Reporter reporter) {
    Instant deadline = delivery.timeoutMillis() > 0 ? Instant.now().plusMillis(delivery.timeoutMillis()) : null;
    TaskContext context = new TaskContext(delivery, workerId, deadline, stopSignalled, reporter);
    CURRENT.set(context);
    return context;
  }

  static void exit() {
    // Not remove(): the next task's set would then make a new entry and sweep the thread's map for stale ones.
    CURRENT.set(null);
  }

  public String taskId() {
    return delivery.taskId();
  }

  /** 1 for the first delivery; a retry, a lost worker or an expired lease make it higher. */
  public int attempt() {
    return delivery.attempt();
  }

  public String queue() {
    return delivery.queue();
  }

  public String type() {
    return delivery.type();
  }

  public Map<String, String> headers() {
    return delivery.headers();
  }

  /** The worker running the task. */
  public String workerId() {
    return workerId;
  }

  /** When the task's time limit runs out, if it has one (a submit's timeout). */
  public Optional<Instant> deadline() {
    return Optional.ofNullable(deadline);
  }

  /** Time left before the deadline (zero once past it), or empty without a time limit. */
  public Optional<Duration> remaining() {
    return deadline().map(end -> {
      Duration left = Duration.between(Instant.now(), end);
      return left.isNegative() ? Duration.ZERO : left;
    });
  }

  /**
   * Whether the handler should stop: its producer cancelled the task, its thread was interrupted (its time limit
   * passed, or the worker is stopping without time to finish), or its lease was lost (another worker has the task
   * now, and this outcome will be refused).
   */
  public boolean isCancelled() {
    return Thread.currentThread().isInterrupted() || stopSignalled.getAsBoolean();
  }

  /** Throws {@link CancellationException} when {@link #isCancelled()}: a cheap check to put in long loops. */
  public void checkCancelled() {
    if (isCancelled()) {
      throw new CancellationException("task " + taskId() + " was cancelled: " + (stopSignalled.getAsBoolean()
          ? "by its producer, or its lease was lost" : "its thread was interrupted"));
    }
  }

  /**
   * Tells the producer how far the task has come: {@code done} of {@code total} (0 for an unknown total), with a
   * short message. The producer sees it on its {@code TaskHandle} ({@code progress()}, {@code onProgress}) and
   * {@code taskmaster submit --wait} draws it. Reports are sent without waiting for an answer, at most every 100 ms
   * (the one with {@code done >= total} always); they are not durable. On a remote master the call blocks only
   * while the connection's send buffer is full.
   */
  public void progress(long done, long total, String message) {
    long now = System.nanoTime();
    boolean last = total > 0 && done >= total;
    if (!last && lastReportNanos != 0 && now - lastReportNanos < REPORT_INTERVAL_NANOS) {
      return;
    }
    lastReportNanos = now;
    reporter.report(done, total, message);
  }

  /** A logger named after the task type; its lines carry the task id (MDC key {@code taskId}). */
  public Logger log() {
    return LoggerFactory.getLogger("io.taskmaster.task." + delivery.type());
  }

  @Override
  public String toString() {
    return "TaskContext[" + taskId() + " " + type() + " attempt " + attempt() + " on " + workerId + "]";
  }
}
