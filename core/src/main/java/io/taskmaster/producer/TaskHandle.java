package io.taskmaster.producer;

import io.taskmaster.broker.Broker;
import io.taskmaster.broker.CancelOutcome;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A submitted task: its id, the moment the broker accepted it, and its result.
 *
 * <p>{@link #result()} completes with the handler's value, or exceptionally with {@link
 * io.taskmaster.task.RemoteTaskException} when the task failed on a worker, or with a {@link
 * io.taskmaster.broker.BrokerException} when the broker refused it or could not be reached.
 */
public final class TaskHandle<R> {
  private final String id;
  private final String type;
  private final CompletableFuture<Void> accepted;
  private final CompletableFuture<R> result;
  private final Broker broker;
  private final ProgressFeed progress;

  TaskHandle(String id, String type, CompletableFuture<Void> accepted, CompletableFuture<R> result, Broker broker,
      ProgressFeed progress) {
    this.id = id;
    this.type = type;
    this.accepted = accepted;
    this.result = result;
    this.broker = broker;
    this.progress = progress;
  }

  /** The latest progress its handler reported ({@code TaskContext.progress}), if any yet. */
  public java.util.Optional<io.taskmaster.broker.TaskProgress> progress() {
    return progress.latest();
  }

  /** Calls {@code listener} with each progress report from now on (at once with the latest, if there is one). */
  public TaskHandle<R> onProgress(java.util.function.Consumer<io.taskmaster.broker.TaskProgress> listener) {
    progress.listen(listener);
    return this;
  }

  /**
   * Cancels the task. One that has not started never runs ({@link CancelOutcome#CANCELLED}); the worker running
   * one is asked to stop it and interrupts its handler ({@link CancelOutcome#STOPPING}). Either way {@link
   * #result()} then fails with a TaskCancelled error, unless a running handler finished first.
   */
  public CancelOutcome cancel() {
    accepted.join();
    return broker.cancel(id).join();
  }

  public String id() {
    return id;
  }

  public String type() {
    return type;
  }

  /** Completes once the broker acknowledged the put. */
  public CompletableFuture<Void> accepted() {
    return accepted;
  }

  /** Completes with the task's result. */
  public CompletableFuture<R> result() {
    return result;
  }

  /** Waits for the result; a failure is rethrown unwrapped (e.g. {@code RemoteTaskException}). */
  public R join() {
    try {
      return result.join();
    } catch (CompletionException e) {
      throw rethrowable(e.getCause());
    }
  }

  /** Waits at most {@code timeout} for the result. */
  public R get(Duration timeout) throws TimeoutException, InterruptedException {
    try {
      return result.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (ExecutionException e) {
      throw rethrowable(e.getCause());
    } catch (TimeoutException e) {
      TimeoutException timeoutException = new TimeoutException("task " + id + " (" + type
          + ") has no result after " + timeout.toMillis() + " ms; is a worker serving its queue?");
      timeoutException.initCause(e);
      throw timeoutException;
    }
  }

  private static RuntimeException rethrowable(Throwable cause) {
    return cause instanceof RuntimeException runtime ? runtime : new CompletionException(cause);
  }

  @Override
  public String toString() {
    return "TaskHandle[" + id + " " + type + (result.isDone() ? " done" : "") + "]";
  }
}
