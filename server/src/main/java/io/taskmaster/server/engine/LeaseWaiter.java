package io.taskmaster.server.engine;

import io.taskmaster.broker.Delivery;
import java.util.List;
import java.util.function.Consumer;

/**
 * A consumer blocked in a lease request until tasks arrive: the engine's push path. The front end that created it
 * cancels it at its deadline with {@link QueueEngine#cancel(LeaseWaiter)}.
 */
public final class LeaseWaiter {
  final long owner;
  final String queue;
  final int max;
  final long maxBytes;
  final Consumer<List<Delivery>> callback;
  /** Guarded by the engine's lock; set once the waiter was answered or cancelled. */
  boolean done;

  LeaseWaiter(long owner, String queue, int max, long maxBytes, Consumer<List<Delivery>> callback) {
    this.owner = owner;
    this.queue = queue;
    this.max = max;
    this.maxBytes = maxBytes;
    this.callback = callback;
  }
}
