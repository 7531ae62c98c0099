package io.taskmaster.broker;

import io.taskmaster.task.TaskError;
import java.time.Instant;
import java.util.List;

/**
 * A task that used up its attempts, kept in its queue's dead letters until retried or purged.
 *
 * @param task the task as it was put
 * @param attempts the errors of its attempts, oldest first (a lost worker or an expired lease counts too)
 * @param deadAt when it was dead-lettered
 */
public record DeadLetter(TaskMessage task, List<TaskError> attempts, Instant deadAt) {
  public DeadLetter {
    attempts = List.copyOf(attempts);
  }

  /** The error of the last attempt. */
  public TaskError lastError() {
    return attempts.get(attempts.size() - 1);
  }
}
