package io.taskmaster.task;

/**
 * A task failed on a worker. The message reads well in a log; the remote exception's class name, message and stack
 * trace, and the worker's id, are kept as values.
 */
public class RemoteTaskException extends RuntimeException {
  private final String taskId;
  private final TaskError error;

  public RemoteTaskException(String taskId, TaskError error) {
    super(describe(taskId, error));
    this.taskId = taskId;
    this.error = error;
  }

  private static String describe(String taskId, TaskError error) {
    String where = error.workerId().isEmpty() ? "" : " on worker " + error.workerId();
    String message = error.message().isEmpty() ? "" : ": " + error.message();
    return "task " + taskId + " failed" + where + " with " + error.type() + message;
  }

  public String taskId() {
    return taskId;
  }

  /** The remote exception's class name. */
  public String remoteType() {
    return error.type();
  }

  public String remoteMessage() {
    return error.message();
  }

  /** The remote stack trace as the worker printed it. */
  public String remoteStackTrace() {
    return error.stackTrace();
  }

  public String workerId() {
    return error.workerId();
  }

  public TaskError error() {
    return error;
  }
}
