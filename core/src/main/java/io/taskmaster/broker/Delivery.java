package io.taskmaster.broker;

import java.util.Map;

/**
 * A leased task handed to a consumer.
 *
 * @param leaseId identifies this delivery; settling needs it, and a stale lease id is refused
 * @param attempt 1 for the first delivery, 2 after a redelivery, ...
 * @param leaseTimeoutMillis how long the lease lasts unless extended ({@link Broker#extend}); past it the task is
 *     given to another consumer and this one's settlement is refused
 * @param timeoutMillis how long this attempt may run (the task's own timeout); 0 means no limit
 */
public record Delivery(
    String taskId,
    long leaseId,
    int attempt,
    String queue,
    String type,
    Map<String, String> headers,
    byte[] payload,
    long leaseTimeoutMillis,
    long timeoutMillis) {

  /** A delivery without a run time limit. */
  public Delivery(String taskId, long leaseId, int attempt, String queue, String type, Map<String, String> headers,
      byte[] payload, long leaseTimeoutMillis) {
    this(taskId, leaseId, attempt, queue, type, headers, payload, leaseTimeoutMillis, 0);
  }
}
