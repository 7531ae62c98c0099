package io.taskmaster.broker;

/** The shared auth key did not match on one side or the other. Retrying with the same key will not help. */
public class AuthenticationException extends BrokerException {
  public AuthenticationException(String message) {
    super("AUTH_FAILED", message);
  }
}
