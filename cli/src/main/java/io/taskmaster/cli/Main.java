package io.taskmaster.cli;

import io.taskmaster.cli.command.TaskmasterCommand;
import picocli.CommandLine;

/** Entry point of the {@code taskmaster} command. */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs a command line and returns its exit code (see {@link ExitCodes}). */
  public static int run(String... args) {
    CommandLine commandLine = new CommandLine(new TaskmasterCommand());
    commandLine.setExecutionExceptionHandler(new ErrorReporter());
    commandLine.setParameterExceptionHandler(new UsageErrors());
    commandLine.setExitCodeExceptionMapper(ExitCodes::of);
    return commandLine.execute(args);
  }
}
