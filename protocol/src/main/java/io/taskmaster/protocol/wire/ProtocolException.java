package io.taskmaster.protocol.wire;

import io.taskmaster.protocol.message.ErrorCode;

/** Bytes that break the protocol. The connection that sent them is answered with {@link #code()} and closed. */
public final class ProtocolException extends RuntimeException {
  private final ErrorCode code;

  public ProtocolException(ErrorCode code, String message) {
    super(message, null, false, false);
    this.code = code;
  }

  public ErrorCode code() {
    return code;
  }
}
