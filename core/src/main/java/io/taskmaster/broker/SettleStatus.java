package io.taskmaster.broker;

/** The broker's answer to one settlement. */
public enum SettleStatus {
  /** The settlement took effect. */
  OK,
  /**
   * The lease is not (or no longer) held: it was returned to the queue because the consumer's connection dropped,
   * or it was settled already. The task will be, or was, delivered again; this consumer's outcome is discarded.
   */
  UNKNOWN_LEASE
}
