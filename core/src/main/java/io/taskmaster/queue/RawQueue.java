package io.taskmaster.queue;

import io.taskmaster.broker.Broker;
import io.taskmaster.broker.Delivery;
import io.taskmaster.broker.Names;
import io.taskmaster.broker.Settlement;
import io.taskmaster.broker.TaskIds;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.json.JsonCodec;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * A named queue used directly, like the tutorial's queue proxies: put items, take them with a timeout. Items are
 * bytes (JSON by convention). A take removes the item for good: it is leased and acknowledged in one step, so an item
 * taken by a consumer that then crashes is not redelivered; use a worker for at-least-once processing.
 */
public final class RawQueue {
  private final Broker broker;
  private final String name;

  public RawQueue(Broker broker, String name) {
    this.broker = broker;
    this.name = Names.requireValid("queue name", name);
  }

  public String name() {
    return name;
  }

  /** Appends an item; returns once the broker acknowledged it. */
  public void put(byte[] item) {
    await(broker.put(List.of(new TaskMessage(TaskIds.next(), name, "", Map.of(), item))));
  }

  /** Appends {@code value} encoded as JSON. */
  public void putJson(Object value) {
    put(JsonCodec.encode(value));
  }

  /**
   * Takes the next item, waiting up to {@code timeout}; empty when none arrived in time. An interrupt ends the wait
   * at once: an item the broker hands out after that goes back to the queue, untaken.
   */
  public Optional<byte[]> take(Duration timeout) throws InterruptedException {
    CompletableFuture<List<Delivery>> lease = broker.lease(name, 1, timeout);
    List<Delivery> leased;
    try {
      leased = lease.get();
    } catch (InterruptedException e) {
      lease.cancel(false);
      throw e;
    } catch (ExecutionException e) {
      throw e.getCause() instanceof RuntimeException runtime ? runtime : new CompletionException(e.getCause());
    }
    if (leased.isEmpty()) {
      return Optional.empty();
    }
    Delivery delivery = leased.get(0);
    // Not interruptible: once leased, the item is this caller's and the acknowledgement must go through.
    await(broker.settle(List.of(Settlement.ack(delivery.leaseId(), null))));
    return Optional.of(delivery.payload());
  }

  /** Takes the next item or throws {@link QueueEmptyException} when none arrived within {@code timeout}. */
  public byte[] takeOrThrow(Duration timeout) throws InterruptedException {
    return take(timeout).orElseThrow(() -> new QueueEmptyException(name, timeout));
  }

  /** Takes the next item and decodes it from JSON. */
  public <T> Optional<T> takeJson(Duration timeout, Class<T> type) throws InterruptedException {
    return take(timeout).map(bytes -> JsonCodec.decode(bytes, JsonCodec.type(type), () -> "item of queue " + name));
  }

  /** The number of items ready to take. */
  public long size() {
    return await(broker.size(name));
  }

  private static <T> T await(CompletableFuture<T> future) {
    try {
      return future.join();
    } catch (CompletionException e) {
      throw e.getCause() instanceof RuntimeException runtime ? runtime : e;
    }
  }
}
