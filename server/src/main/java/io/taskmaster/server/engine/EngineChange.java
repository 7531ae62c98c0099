package io.taskmaster.server.engine;

import io.taskmaster.broker.DeadLetter;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.broker.TaskResult;
import io.taskmaster.task.TaskError;
import java.util.List;

/**
 * A change of the engine's state, as the engine hands it to its {@link EngineLog}. Each change carries its outcome
 * (the attempt count, the retry time, the stored result), never a rule to re-apply, so that replaying the log
 * rebuilds the same state whatever the settings or the random jitter of the replaying master. Times are
 * wall-clock epoch milliseconds: they must mean the same after a restart.
 */
public sealed interface EngineChange {

  /** A task was put; its options say whether it waits for a start time. */
  record Put(TaskMessage task) implements EngineChange {}

  /** A task was delivered to a consumer; {@code deliveries} counts this one. */
  record Leased(String taskId, int deliveries) implements EngineChange {}

  /**
   * A leased task is pending again: given back ({@code error} null, the delivery not counted), or failed, lost or
   * expired with attempts left. It runs again at once, or not before {@code runAtEpochMillis} when that is not 0.
   */
  record Returned(String taskId, int deliveries, TaskError error, long runAtEpochMillis) implements EngineChange {}

  /** A task failed its last attempt with {@code error} and became a dead letter, its failure stored as result. */
  record Dead(String taskId, TaskError error, long atEpochMillis) implements EngineChange {}

  /** A task is settled for good: acknowledged or cancelled. {@code result} is null when nothing is kept. */
  record Done(String taskId, TaskResult result, long atEpochMillis) implements EngineChange {}

  /**
   * The producer cancelled a task while a worker held it: whatever becomes of that delivery, the task does not run
   * again (its worker may still finish it, with its result).
   */
  record CancelRequested(String taskId) implements EngineChange {}

  /** A dead letter went back to its queue with fresh attempts. */
  record DeadRetried(String taskId) implements EngineChange {}

  /** A queue's dead letters were deleted. */
  record DeadPurged(String queue) implements EngineChange {}

  /**
   * The whole state of a pending task, written by a checkpoint: replaces whatever came before it for that task.
   * {@code leased} tells that it was out with a consumer when the checkpoint saw it; {@code cancelRequested} that its
   * producer cancelled it meanwhile.
   */
  record TaskSnapshot(TaskMessage task, int deliveries, List<TaskError> errors, long runAtEpochMillis, boolean leased,
      boolean cancelRequested) implements EngineChange {}

  /** A dead letter, written by a checkpoint. */
  record DeadSnapshot(DeadLetter dead) implements EngineChange {}

  /** A stored result, written by a checkpoint. */
  record ResultSnapshot(TaskResult result, long storedAtEpochMillis) implements EngineChange {}
}
