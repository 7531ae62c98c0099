package io.taskmaster.server.engine;

import io.taskmaster.broker.Delivery;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.task.TaskError;
import java.util.ArrayList;
import java.util.List;

/** A task the engine holds: ready in its queue, or leased to one owner. Guarded by the engine's lock. */
final class StoredTask {
  final TaskMessage message;
  /** Deliveries so far; the next delivery's attempt number is this plus one. */
  int deliveries;
  /** 0 while ready; the current lease's id while leased. */
  long leaseId;
  long leaseOwner;
  long leaseDeadlineNanos;
  /** While waiting for a retry: when it may run again. */
  long notBeforeNanos;
  /** In the engine's delayed queue: waiting for its start time or the end of a retry backoff. */
  boolean delayed;
  /** The errors of failed attempts, oldest first; null until the first. */
  List<TaskError> errors;
  /** Its producer cancelled it while it was leased: it is not tried again, whatever becomes of that delivery. */
  boolean cancelRequested;

  StoredTask(TaskMessage message) {
    this.message = message;
  }

  Delivery deliver(long leaseId, long owner, long deadlineNanos, long timeoutMillis) {
    this.deliveries++;
    this.leaseId = leaseId;
    this.leaseOwner = owner;
    this.leaseDeadlineNanos = deadlineNanos;
    return new Delivery(message.id(), leaseId, deliveries, message.queue(), message.type(), message.headers(),
        message.payload(), timeoutMillis, message.options().timeoutMillis());
  }

  void recordError(TaskError error) {
    if (errors == null) {
      errors = new ArrayList<>(2);
    }
    errors.add(error);
  }

  void makeReady() {
    leaseId = 0;
    leaseOwner = 0;
    leaseDeadlineNanos = 0;
  }
}
