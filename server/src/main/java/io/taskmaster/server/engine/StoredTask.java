package io.taskmaster.server.engine;

import io.taskmaster.broker.Delivery;
import io.taskmaster.broker.TaskMessage;

/** A task the engine holds: ready in its queue, or leased to one owner. Guarded by the engine's lock. */
final class StoredTask {
  final TaskMessage message;
  /** Deliveries so far; the next delivery's attempt number is this plus one. */
  int deliveries;
  /** 0 while ready; the current lease's id while leased. */
  long leaseId;
  long leaseOwner;
  long leaseDeadlineNanos;

  StoredTask(TaskMessage message) {
    this.message = message;
  }

  Delivery deliver(long leaseId, long owner, long deadlineNanos, long timeoutMillis) {
    this.deliveries++;
    this.leaseId = leaseId;
    this.leaseOwner = owner;
    this.leaseDeadlineNanos = deadlineNanos;
    return new Delivery(message.id(), leaseId, deliveries, message.queue(), message.type(), message.headers(),
        message.payload(), timeoutMillis);
  }

  void makeReady() {
    leaseId = 0;
    leaseOwner = 0;
    leaseDeadlineNanos = 0;
  }
}
