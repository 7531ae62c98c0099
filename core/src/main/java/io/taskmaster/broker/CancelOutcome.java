package io.taskmaster.broker;

/** What a cancellation did. */
public enum CancelOutcome {
  /** The task had not started: it will not run, and its result is a TaskCancelled failure. */
  CANCELLED,
  /** A worker holds the task; it cannot be taken back. (It may still fail and be retried.) */
  RUNNING,
  /** No pending task has this id: it finished, was dead-lettered, or never existed. */
  NOT_FOUND
}
