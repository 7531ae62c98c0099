package io.taskmaster.pool;

import io.taskmaster.broker.CancelOutcome;
import io.taskmaster.broker.TaskProgress;
import io.taskmaster.producer.TaskHandle;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * The future of a pool task: its result or its failure, the progress its handler reports ({@link
 * io.taskmaster.worker.TaskContext#progress}), and cancellation that reaches the task wherever it is.
 */
public final class TaskFuture<R> extends CompletableFuture<R> {
  private final TaskHandle<R> handle;

  TaskFuture(TaskHandle<R> handle) {
    this.handle = handle;
  }

  /** The task's id, as logs and the master know it. */
  public String taskId() {
    return handle.id();
  }

  /** The latest progress report of the task's handler, if it sent one. */
  public Optional<TaskProgress> progress() {
    return handle.progress();
  }

  /** Calls {@code listener} with each progress report from now on (at once with the latest, if there is one). */
  public TaskFuture<R> onProgress(Consumer<TaskProgress> listener) {
    handle.onProgress(listener);
    return this;
  }

  /**
   * Cancels the task wherever it is: one that has not started never runs; a running one has its handler
   * interrupted (in a process pool, a handler that ignores that for 2 s has its process killed and replaced). The
   * future reads as cancelled at once. Returns false when the task had already ended.
   */
  @Override
  public boolean cancel(boolean mayInterruptIfRunning) {
    if (isDone()) {
      return false;
    }
    CancelOutcome outcome;
    try {
      outcome = handle.cancel();
    } catch (RuntimeException e) {
      return false;
    }
    boolean stopped = outcome == CancelOutcome.CANCELLED || outcome == CancelOutcome.STOPPING;
    return stopped && (isCancelled() || cancelLocally());
  }

  boolean cancelLocally() {
    return super.cancel(false);
  }
}
