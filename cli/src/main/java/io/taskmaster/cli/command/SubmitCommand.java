package io.taskmaster.cli.command;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskmaster.broker.Broker;
import io.taskmaster.cli.ExitCodes;
import io.taskmaster.cli.options.ConnectOptions;
import io.taskmaster.cli.options.DurationConverter;
import io.taskmaster.json.JsonCodec;
import io.taskmaster.producer.Producer;
import io.taskmaster.producer.SubmitOptions;
import io.taskmaster.producer.TaskHandle;
import io.taskmaster.task.TaskType;
import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeoutException;
import io.taskmaster.cli.options.ProgressLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "submit", mixinStandardHelpOptions = true,
    description = {
        "Submits one task. Prints its id, or with --wait its result as JSON (and, on stderr, the progress its "
            + "handler reports).",
        "Example: taskmaster submit --type square --arg 7 --wait"
    })
public final class SubmitCommand extends LoggedCommand {

  @Spec
  CommandSpec spec;

  @Mixin
  ConnectOptions connect;

  @Option(names = "--queue", defaultValue = "tasks", description = "Queue to put on (default: ${DEFAULT-VALUE}).")
  String queue;

  @Option(names = "--type", required = true, description = "Task type, e.g. square, sleep, fail.")
  String type;

  @Option(names = "--arg", defaultValue = "null",
      description = "The argument as JSON (7, \"text\", {\"a\":1}); text that is not JSON is sent as a string.")
  String arg;

  @Option(names = "--header", paramLabel = "NAME=VALUE", description = "A header for the task (repeatable).")
  Map<String, String> headers = new LinkedHashMap<>();

  @Option(names = "--priority", defaultValue = "0",
      description = "0 to 9; higher priorities are taken first (default: ${DEFAULT-VALUE}).")
  int priority;

  @Option(names = "--delay", paramLabel = "DURATION", converter = DurationConverter.class,
      description = "Do not run the task before this much time has passed, e.g. 30s or 2h.")
  Duration delay;

  @Option(names = "--max-attempts", paramLabel = "N",
      description = "Attempts before the dead letters (default: the master's).")
  Integer maxAttempts;

  @Option(names = "--task-timeout", paramLabel = "DURATION", converter = DurationConverter.class,
      description = "How long one attempt may run before the worker interrupts it and fails the attempt.")
  Duration taskTimeout;

  @Option(names = "--unique-key", paramLabel = "KEY",
      description = "Refuse the task while another pending task has this key.")
  String uniqueKey;

  @Option(names = "--wait", description = "Wait for the result and print it.")
  boolean await;

  @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "60s", converter = DurationConverter.class,
      description = "With --wait, how long to wait for the result (default: ${DEFAULT-VALUE}).")
  Duration timeout;

  @Override
  int execute() throws Exception {
    JsonNode argument = parseArgument();
    TaskType<JsonNode, JsonNode> taskType = TaskType.of(type, JsonNode.class, JsonNode.class);
    SubmitOptions options = SubmitOptions.queue(queue).priority(priority);
    if (delay != null) {
      options = options.delay(delay);
    }
    if (maxAttempts != null) {
      options = options.maxAttempts(maxAttempts);
    }
    if (taskTimeout != null) {
      options = options.timeout(taskTimeout);
    }
    if (uniqueKey != null) {
      options = options.uniqueKey(uniqueKey);
    }
    for (Map.Entry<String, String> header : headers.entrySet()) {
      options = options.header(header.getKey(), header.getValue());
    }
    try (Broker broker = connect.open()) {
      TaskHandle<JsonNode> handle = Producer.on(broker).submit(taskType, argument, options);
      if (!await) {
        handle.accepted().join();
        spec.commandLine().getOut().println(handle.id());
        return ExitCodes.OK;
      }
      JsonNode result;
      ProgressLine progress = new ProgressLine(spec.commandLine().getErr(), System.console() != null);
      handle.onProgress(progress::show);
      try {
        result = handle.get(timeout);
      } catch (TimeoutException e) {
        progress.finish();
        spec.commandLine().getErr().println("taskmaster submit: " + e.getMessage());
        return ExitCodes.FAILED;
      } finally {
        progress.finish();
      }
      spec.commandLine().getOut().println(JsonCodec.mapper().writeValueAsString(result));
      return ExitCodes.OK;
    }
  }

  private JsonNode parseArgument() {
    try {
      return JsonCodec.mapper().readTree(arg);
    } catch (IOException e) {
      return JsonCodec.mapper().getNodeFactory().textNode(arg);
    }
  }
}
