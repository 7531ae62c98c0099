package io.taskmaster.producer;

import io.taskmaster.broker.Names;
import io.taskmaster.broker.TaskOptions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where and how a task is submitted. Immutable: each method returns a new instance.
 *
 * <pre>{@code
 * producer.submit(REPORT, args, SubmitOptions.queue("reports").priority(7).delay(Duration.ofMinutes(5)));
 * }</pre>
 *
 * @param queue the queue to put on; default {@value #DEFAULT_QUEUE}
 * @param headers string metadata that travels with the task
 * @param task priority, attempts and start time
 */
public record SubmitOptions(String queue, Map<String, String> headers, TaskOptions task) {
  public static final String DEFAULT_QUEUE = "tasks";

  public SubmitOptions {
    Names.requireValid("queue name", queue);
    headers = Map.copyOf(headers);
  }

  public static SubmitOptions defaults() {
    return new SubmitOptions(DEFAULT_QUEUE, Map.of(), TaskOptions.DEFAULTS);
  }

  public static SubmitOptions queue(String queue) {
    return defaults().onQueue(queue);
  }

  public SubmitOptions onQueue(String name) {
    return new SubmitOptions(name, headers, task);
  }

  public SubmitOptions header(String name, String value) {
    Map<String, String> copy = new LinkedHashMap<>(headers);
    copy.put(name, value);
    return new SubmitOptions(queue, copy, task);
  }

  /** 0 (default) to 9: higher priorities are leased first. */
  public SubmitOptions priority(int priority) {
    return new SubmitOptions(queue, headers, task.withPriority(priority));
  }

  /** Attempts before the dead letters, overriding the master's default. */
  public SubmitOptions maxAttempts(int attempts) {
    if (attempts < 1) {
      throw new IllegalArgumentException("maxAttempts must be at least 1, was " + attempts);
    }
    return new SubmitOptions(queue, headers, task.withMaxAttempts(attempts));
  }

  /** How long one attempt may run before the worker interrupts it and fails the attempt. */
  public SubmitOptions timeout(Duration timeout) {
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("a task timeout must be positive, was " + timeout);
    }
    return new SubmitOptions(queue, headers, task.withTimeoutMillis(timeout.toMillis()));
  }

  /** Refuses the put while another pending task holds {@code key} (a "do this once" job, say "nightly-report"). */
  public SubmitOptions uniqueKey(String key) {
    return new SubmitOptions(queue, headers, task.withUniqueKey(key));
  }

  /** Not delivered before {@code time}. */
  public SubmitOptions runAt(Instant time) {
    return new SubmitOptions(queue, headers, task.withRunAt(time));
  }

  /** Not delivered before {@code delay} from now. */
  public SubmitOptions delay(Duration delay) {
    if (delay.isNegative()) {
      throw new IllegalArgumentException("a delay must not be negative, was " + delay);
    }
    return runAt(Instant.now(Clock.systemUTC()).plus(delay));
  }
}
