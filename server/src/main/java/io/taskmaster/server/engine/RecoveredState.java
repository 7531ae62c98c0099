package io.taskmaster.server.engine;

import io.taskmaster.broker.DeadLetter;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.broker.TaskResult;
import io.taskmaster.task.TaskError;
import java.util.List;

/**
 * What a journal replay found, for {@link QueueEngine#restore}: pending tasks in queue order, dead letters oldest
 * first, and stored results with the time each was stored.
 */
public record RecoveredState(List<PendingTask> pending, List<DeadLetter> dead, List<StoredResult> results) {

  public static final RecoveredState EMPTY = new RecoveredState(List.of(), List.of(), List.of());

  /**
   * A task not yet settled. {@code leased}: it was out with a consumer when the master stopped, so that delivery
   * was lost and counts as an attempt.
   */
  public record PendingTask(
      TaskMessage task, int deliveries, List<TaskError> errors, long runAtEpochMillis, boolean leased,
      boolean cancelRequested) {}

  public record StoredResult(TaskResult result, long storedAtEpochMillis) {}

  public int size() {
    return pending.size() + dead.size() + results.size();
  }
}
