package io.taskmaster.server.engine;

/** A command the engine refused; nothing changed. */
public final class EngineException extends RuntimeException {
  /** Why, in the protocol's vocabulary so front ends can map it one to one. */
  public enum Reason {
    DUPLICATE_TASK_ID,
    DUPLICATE_UNIQUE_KEY,
    UNKNOWN_TASK,
    BUSY,
    INVALID_ARGUMENT,
    /** The journal cannot take the change (disk full, IO error): nothing was changed or acknowledged. */
    STORAGE
  }

  private final Reason reason;

  public EngineException(Reason reason, String message) {
    super(message, null, false, false);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }
}
