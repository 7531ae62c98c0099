package io.taskmaster.cli.command;

import picocli.CommandLine;

/** Whether the failing command was run with {@code --verbose}. */
public final class Verbosity {
  private Verbosity() {}

  public static boolean of(CommandLine commandLine) {
    return commandLine.getCommand() instanceof LoggedCommand command && command.verbose();
  }
}
