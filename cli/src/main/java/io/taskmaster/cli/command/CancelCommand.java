package io.taskmaster.cli.command;

import io.taskmaster.broker.Broker;
import io.taskmaster.broker.CancelOutcome;
import io.taskmaster.cli.ExitCodes;
import io.taskmaster.cli.options.ConnectOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "cancel", mixinStandardHelpOptions = true,
    description = {
        "Cancels a task that has not started.",
        "Exit 0 when cancelled, 1 when a worker already runs it or it is unknown (finished, dead-lettered or",
        "never put)."
    })
public final class CancelCommand extends LoggedCommand {
  @Spec
  CommandSpec spec;

  @Mixin
  ConnectOptions connect;

  @Option(names = "--id", paramLabel = "TASK_ID", required = true, description = "The task, as submit printed it.")
  String taskId;

  @Override
  int execute() {
    try (Broker broker = connect.open()) {
      CancelOutcome outcome = broker.cancel(taskId).join();
      String message = switch (outcome) {
        case CANCELLED -> "task " + taskId + " cancelled";
        case STOPPING -> "task " + taskId + " is running; its worker was asked to stop it";
        case RUNNING -> "task " + taskId + " is running on a client that cannot be asked to stop it (a Python "
            + "managers client)";
        case NOT_FOUND -> "no pending task " + taskId + " (finished, dead-lettered or never put)";
      };
      boolean done = outcome == CancelOutcome.CANCELLED || outcome == CancelOutcome.STOPPING;
      (done ? spec.commandLine().getOut() : spec.commandLine().getErr()).println(message);
      return done ? ExitCodes.OK : ExitCodes.FAILED;
    }
  }
}
