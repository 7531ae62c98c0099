package io.taskmaster.cli;

import io.taskmaster.broker.AuthenticationException;
import io.taskmaster.broker.BrokerUnavailableException;
import io.taskmaster.task.RemoteTaskException;

/**
 * Exit codes, following sysexits(3) where one fits, so that scripts can tell a failed task from a missing master.
 */
public final class ExitCodes {
  public static final int OK = 0;
  /** The task failed on its worker, or another runtime error. */
  public static final int FAILED = 1;
  /** Bad command line or bad input (picocli's usage errors use it too). */
  public static final int USAGE = 2;
  /** The master's journal is damaged and it refused to start (EX_DATAERR). */
  public static final int DATA_DAMAGED = 65;
  /** The master could not be reached (EX_UNAVAILABLE). */
  public static final int UNAVAILABLE = 69;
  /** The auth key was refused (EX_NOPERM). */
  public static final int AUTH_FAILED = 77;

  private ExitCodes() {}

  public static int of(Throwable error) {
    if (error instanceof picocli.CommandLine.ParameterException) {
      return USAGE;
    }
    if (error instanceof io.taskmaster.server.journal.JournalDamagedException) {
      return DATA_DAMAGED;
    }
    if (error instanceof AuthenticationException) {
      return AUTH_FAILED;
    }
    if (error instanceof BrokerUnavailableException) {
      return UNAVAILABLE;
    }
    if (error instanceof RemoteTaskException) {
      return FAILED;
    }
    if (error instanceof IllegalArgumentException) {
      return USAGE;
    }
    return FAILED;
  }
}
