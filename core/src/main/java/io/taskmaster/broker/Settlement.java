package io.taskmaster.broker;

import io.taskmaster.task.TaskError;
import java.util.Objects;

/** How a consumer ends its lease on a task. */
public sealed interface Settlement {

  long leaseId();

  /** The task succeeded; {@code result} (JSON, may be null for raw queue items) is kept for whoever waits on it. */
  record Ack(long leaseId, byte[] result) implements Settlement {}

  /** The task failed; the error travels to the producer. */
  record Fail(long leaseId, TaskError error) implements Settlement {
    public Fail {
      Objects.requireNonNull(error, "error");
    }
  }

  /** The consumer gives the task back unprocessed; it becomes ready again at the head of its queue. */
  record Release(long leaseId) implements Settlement {}

  static Settlement ack(long leaseId, byte[] result) {
    return new Ack(leaseId, result);
  }

  static Settlement fail(long leaseId, TaskError error) {
    return new Fail(leaseId, error);
  }

  static Settlement release(long leaseId) {
    return new Release(leaseId);
  }
}
