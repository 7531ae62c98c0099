package io.taskmaster.queue;

import java.time.Duration;

/** A blocking take found no item within its timeout: the Java counterpart of Python's {@code queue.Empty}. */
public class QueueEmptyException extends RuntimeException {
  private final String queue;
  private final Duration timeout;

  public QueueEmptyException(String queue, Duration timeout) {
    super("queue '" + queue + "' is empty: no item arrived within " + timeout.toMillis() + " ms");
    this.queue = queue;
    this.timeout = timeout;
  }

  public String queue() {
    return queue;
  }

  public Duration timeout() {
    return timeout;
  }
}
