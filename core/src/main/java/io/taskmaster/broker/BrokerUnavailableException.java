package io.taskmaster.broker;

/**
 * The broker could not be reached, or the connection dropped before an answer arrived. For a put, the outcome is
 * unknown: the task may or may not have been accepted.
 */
public class BrokerUnavailableException extends BrokerException {
  public BrokerUnavailableException(String message) {
    super("UNAVAILABLE", message);
  }

  public BrokerUnavailableException(String message, Throwable cause) {
    super("UNAVAILABLE", message, cause);
  }
}
