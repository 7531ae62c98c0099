package io.taskmaster.cli.command;

import io.taskmaster.cli.options.LoggingOptions;
import java.util.concurrent.Callable;
import picocli.CommandLine.Mixin;

/** A command with the logging options, applied before it runs. */
abstract class LoggedCommand implements Callable<Integer> {
  @Mixin
  LoggingOptions logging;

  @Override
  public final Integer call() throws Exception {
    logging.apply();
    return execute();
  }

  /** Runs the command and returns its exit code. */
  abstract int execute() throws Exception;

  boolean verbose() {
    return logging != null && logging.verbose;
  }
}
