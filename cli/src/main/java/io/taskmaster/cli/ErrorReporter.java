package io.taskmaster.cli;

import io.taskmaster.cli.command.Verbosity;
import io.taskmaster.task.RemoteTaskException;
import java.util.concurrent.CompletionException;
import picocli.CommandLine;

/** Prints an error as one line on stderr (stack traces only with --verbose) and maps it to an exit code. */
final class ErrorReporter implements CommandLine.IExecutionExceptionHandler {
  @Override
  public int handleExecutionException(Exception thrown, CommandLine commandLine, CommandLine.ParseResult parsed) {
    Throwable error = thrown instanceof CompletionException && thrown.getCause() != null ? thrown.getCause() : thrown;
    var err = commandLine.getErr();
    err.println("taskmaster " + commandLine.getCommandName() + ": " + message(error));
    if (error instanceof RemoteTaskException remote && !remote.remoteStackTrace().isEmpty()) {
      err.println(Verbosity.of(commandLine) ? "remote stack trace:\n" + remote.remoteStackTrace().stripTrailing()
          : "(add --verbose for the remote stack trace)");
    } else if (Verbosity.of(commandLine)) {
      error.printStackTrace(err);
    }
    err.flush();
    return ExitCodes.of(error);
  }

  private static String message(Throwable error) {
    String message = error.getMessage();
    return message == null || message.isEmpty() ? error.toString() : message;
  }
}
