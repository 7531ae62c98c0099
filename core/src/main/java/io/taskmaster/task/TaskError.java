package io.taskmaster.task;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Objects;

/**
 * Why a task failed, as a value that travels over the wire.
 *
 * @param type the remote exception's class name, e.g. {@code java.lang.IllegalStateException}
 * @param message the exception's message (may be empty)
 * @param stackTrace the remote stack trace as text, causes included
 * @param workerId the worker that ran the task
 */
public record TaskError(String type, String message, String stackTrace, String workerId) {
  public TaskError {
    Objects.requireNonNull(type, "type");
    message = message == null ? "" : message;
    stackTrace = stackTrace == null ? "" : stackTrace;
    workerId = workerId == null ? "" : workerId;
  }

  /** Captures a thrown exception, with its full stack trace, on the worker that caught it. */
  public static TaskError of(Throwable thrown, String workerId) {
    StringWriter trace = new StringWriter();
    thrown.printStackTrace(new PrintWriter(trace));
    return new TaskError(thrown.getClass().getName(), thrown.getMessage(), trace.toString(), workerId);
  }

  /** An error raised by the runtime rather than by a handler (no handler, bad argument, ...). */
  public static TaskError of(String type, String message, String workerId) {
    return new TaskError(type, message, "", workerId);
  }
}
