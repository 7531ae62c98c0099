package io.taskmaster.cli.command;

import io.taskmaster.cli.options.LoggingOptions;
import picocli.CommandLine;

/** Whether the failing command was run with {@code --verbose}. */
public final class Verbosity {
  private Verbosity() {}

  public static boolean of(CommandLine commandLine) {
    Object command = commandLine.getCommand();
    return command instanceof HasLogging logged && logged.logging().verbose;
  }

  /** A command with the logging options. */
  public interface HasLogging {
    LoggingOptions logging();
  }
}
