package io.taskmaster.broker;

/** An error reported by the broker for one request; the connection stays usable. */
public class BrokerException extends RuntimeException {
  private final String code;

  public BrokerException(String code, String message) {
    super(message);
    this.code = code;
  }

  public BrokerException(String code, String message, Throwable cause) {
    super(message, cause);
    this.code = code;
  }

  /** The error code as the protocol names it, e.g. {@code DUPLICATE_TASK_ID}. */
  public String code() {
    return code;
  }
}
