package io.taskmaster.cli.command;

import io.taskmaster.broker.Broker;
import io.taskmaster.broker.DeadLetter;
import io.taskmaster.broker.DeadLetters;
import io.taskmaster.cli.ExitCodes;
import io.taskmaster.cli.options.ConnectOptions;
import io.taskmaster.task.TaskError;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code taskmaster dead list|retry|purge}: the tasks that used up their attempts. */
@Command(name = "dead", mixinStandardHelpOptions = true,
    description = "Lists, retries or deletes a queue's dead letters: tasks that failed on every attempt.",
    subcommands = {DeadCommand.ListCommand.class, DeadCommand.RetryCommand.class, DeadCommand.PurgeCommand.class})
public final class DeadCommand implements Runnable {
  @Spec
  CommandSpec spec;

  @Override
  public void run() {
    throw new picocli.CommandLine.ParameterException(spec.commandLine(),
        "name a subcommand: list, retry or purge (see taskmaster dead --help)");
  }

  /** Options every subcommand shares. */
  abstract static class OnQueue extends LoggedCommand {
    @Spec
    CommandSpec spec;

    @Mixin
    ConnectOptions connect;

    @Option(names = "--queue", defaultValue = "tasks", description = "The queue (default: ${DEFAULT-VALUE}).")
    String queue;

    PrintWriter out() {
      return spec.commandLine().getOut();
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true,
      description = "Prints the dead letters, oldest first: id, type, attempts, when, last error.")
  static final class ListCommand extends OnQueue {
    @Option(names = "--offset", defaultValue = "0", description = "Skip this many (default: ${DEFAULT-VALUE}).")
    int offset;

    @Option(names = "--limit", defaultValue = "100", description = "Print at most this many, up to 1000 "
        + "(default: ${DEFAULT-VALUE}).")
    int limit;

    @Option(names = "--errors", description = "Also print every attempt's error and the last stack trace.")
    boolean errors;

    @Override
    int execute() {
      try (Broker broker = connect.open()) {
        DeadLetters dead = broker.deadLetters(queue, offset, limit).join();
        PrintWriter out = out();
        out.printf("%d dead letter(s) in queue '%s'%s%n", dead.total(), queue,
            dead.page().size() < dead.total() ? " (showing " + dead.page().size() + " from " + offset + ")" : "");
        for (DeadLetter letter : dead.page()) {
          TaskError last = letter.lastError();
          out.printf("%s  %s  %d attempt(s)  %s  %s: %s%n", letter.task().id(), letter.task().type(),
              letter.attempts().size(), letter.deadAt(), last.type(), last.message());
          if (errors) {
            out.printf("    argument: %s%n", new String(letter.task().payload(), StandardCharsets.UTF_8));
            for (int i = 0; i < letter.attempts().size(); i++) {
              TaskError error = letter.attempts().get(i);
              out.printf("    attempt %d on %s: %s: %s%n", i + 1, error.workerId().isEmpty() ? "?" : error.workerId(),
                  error.type(), error.message());
            }
            if (!last.stackTrace().isEmpty()) {
              last.stackTrace().lines().forEach(line -> out.printf("      %s%n", line));
            }
          }
        }
        out.flush();
      }
      return ExitCodes.OK;
    }
  }

  @Command(name = "retry", mixinStandardHelpOptions = true,
      description = "Puts dead letters back on their queue with fresh attempts: those given with --id, or all.")
  static final class RetryCommand extends OnQueue {
    @Option(names = "--id", paramLabel = "TASK_ID", description = "A dead letter to retry (repeatable).")
    List<String> ids = new ArrayList<>();

    @Option(names = "--all", description = "Retry every dead letter of the queue.")
    boolean all;

    @Override
    int execute() {
      if (ids.isEmpty() == !all) {
        throw new IllegalArgumentException("name the dead letters with --id TASK_ID, or give --all for every one");
      }
      try (Broker broker = connect.open()) {
        List<String> distinct = List.copyOf(new java.util.LinkedHashSet<>(ids));
        long retried = broker.retryDeadLetters(queue, all ? List.of() : distinct).join();
        out().printf("%d dead letter(s) of queue '%s' are queued again%n", retried, queue);
        out().flush();
        return !all && retried < distinct.size() ? ExitCodes.FAILED : ExitCodes.OK;
      }
    }
  }

  @Command(name = "purge", mixinStandardHelpOptions = true, description = "Deletes every dead letter of the queue.")
  static final class PurgeCommand extends OnQueue {
    @Option(names = "--yes", required = true, description = "Confirms: deleted dead letters are gone for good.")
    boolean confirmed;

    @Override
    int execute() {
      try (Broker broker = connect.open()) {
        long purged = broker.purgeDeadLetters(queue).join();
        out().printf("%d dead letter(s) of queue '%s' deleted%n", purged, queue);
        out().flush();
      }
      return ExitCodes.OK;
    }
  }
}
