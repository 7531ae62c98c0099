package io.taskmaster.broker;

/** What a cancellation did. Sent on the wire by ordinal: values are only ever added at the end. */
public enum CancelOutcome {
  /** The task had not started: it will not run, and its result is a TaskCancelled failure. */
  CANCELLED,
  /**
   * A worker holds the task and cannot be asked to stop it (a Python managers client took it); it runs to its end,
   * and may still fail and be retried.
   */
  RUNNING,
  /** No pending task has this id: it finished, was dead-lettered, or never existed. */
  NOT_FOUND,
  /**
   * A worker holds the task and was asked to stop it: its handler is interrupted, and its result is a TaskCancelled
   * failure, unless the handler finishes first (its result then stands). A worker that loses the task meanwhile
   * does not pass it on: it is not tried again.
   */
  STOPPING
}
