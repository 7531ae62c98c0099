package io.taskmaster.broker;

import io.taskmaster.task.TaskError;

/**
 * The final outcome of a task.
 *
 * @param value the handler's result as JSON when {@code error} is null
 * @param error why the task failed, or null when it succeeded
 */
public record TaskResult(String taskId, byte[] value, TaskError error) {

  public static TaskResult success(String taskId, byte[] value) {
    return new TaskResult(taskId, value, null);
  }

  public static TaskResult failure(String taskId, TaskError error) {
    return new TaskResult(taskId, null, error);
  }

  public boolean succeeded() {
    return error == null;
  }
}
