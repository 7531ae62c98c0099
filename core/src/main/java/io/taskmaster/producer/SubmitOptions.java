package io.taskmaster.producer;

import io.taskmaster.broker.Names;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where and how a task is submitted. Immutable: each method returns a new instance.
 *
 * @param queue the queue to put on; default {@value #DEFAULT_QUEUE}
 * @param headers string metadata that travels with the task
 */
public record SubmitOptions(String queue, Map<String, String> headers) {
  public static final String DEFAULT_QUEUE = "tasks";

  public SubmitOptions {
    Names.requireValid("queue name", queue);
    headers = Map.copyOf(headers);
  }

  public static SubmitOptions defaults() {
    return new SubmitOptions(DEFAULT_QUEUE, Map.of());
  }

  public static SubmitOptions queue(String queue) {
    return defaults().onQueue(queue);
  }

  public SubmitOptions onQueue(String name) {
    return new SubmitOptions(name, headers);
  }

  public SubmitOptions header(String name, String value) {
    Map<String, String> copy = new LinkedHashMap<>(headers);
    copy.put(name, value);
    return new SubmitOptions(queue, copy);
  }
}
