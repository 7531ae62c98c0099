package io.taskmaster.cli;

import java.io.PrintWriter;
import java.util.List;
import picocli.CommandLine;

/**
 * Prints a usage error and the command's usage on stderr, exit code 2. An argument nobody knows is named first:
 * picocli finds a missing required option before it gets to unknown ones, so {@code submit --typ square} used to
 * say "Missing required option '--type'" and nothing of the typo.
 */
final class UsageErrors implements CommandLine.IParameterExceptionHandler {
  @Override
  public int handleParseException(CommandLine.ParameterException error, String[] args) {
    CommandLine command = error.getCommandLine();
    PrintWriter err = command.getErr();
    List<String> unknown = command.getUnmatchedArguments();
    if (!(error instanceof CommandLine.UnmatchedArgumentException) && !unknown.isEmpty()) {
      err.println(command.getColorScheme().errorText("Unknown option or argument: '" + String.join("', '", unknown)
          + "' (and: " + error.getMessage() + ")"));
    } else {
      err.println(command.getColorScheme().errorText(error.getMessage()));
    }
    CommandLine.UnmatchedArgumentException.printSuggestions(error, err);
    command.usage(err, command.getColorScheme());
    return command.getCommandSpec().exitCodeOnInvalidInput();
  }
}
