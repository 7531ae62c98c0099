package io.taskmaster.broker;

import java.util.Map;
import java.util.Objects;

/**
 * A task as it is put on a queue: the broker stores it as bytes and never looks inside the payload.
 *
 * @param id unique task id, chosen by the producer ({@link TaskIds#next()})
 * @param queue queue name; queues are created on first use
 * @param type task type name, which selects the handler at the worker ({@code ""} for raw queue items)
 * @param headers small string metadata travelling with the task
 * @param payload the argument, JSON by contract
 * @param options priority, attempts and start time
 */
public record TaskMessage(
    String id, String queue, String type, Map<String, String> headers, byte[] payload, TaskOptions options) {
  public TaskMessage {
    Names.requireValid("task id", id);
    Names.requireValid("queue name", queue);
    Objects.requireNonNull(type, "type");
    headers = Map.copyOf(headers);
    Objects.requireNonNull(payload, "payload");
    Objects.requireNonNull(options, "options");
  }

  /** A task with the default options. */
  public TaskMessage(String id, String queue, String type, Map<String, String> headers, byte[] payload) {
    this(id, queue, type, headers, payload, TaskOptions.DEFAULTS);
  }
}
