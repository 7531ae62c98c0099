package io.taskmaster.pool;

import io.taskmaster.task.RemoteTaskException;

/**
 * A task whose every attempt ended with its worker process dying (System.exit, OutOfMemoryError, kill -9): the
 * pool replaced the process each time, and gave up after the last attempt. Names the last crash seen.
 */
public final class WorkerCrashedException extends RuntimeException {
  private final String taskId;
  private final String crash;

  WorkerCrashedException(String taskId, String crash, RemoteTaskException cause) {
    super("task " + taskId + " failed after its last attempt: its worker process died (" + crash + ")", cause);
    this.taskId = taskId;
    this.crash = crash;
  }

  public String taskId() {
    return taskId;
  }

  /** How the last worker process died, such as {@code worker-2 (pid 1234) killed by SIGKILL}. */
  public String crash() {
    return crash;
  }
}
