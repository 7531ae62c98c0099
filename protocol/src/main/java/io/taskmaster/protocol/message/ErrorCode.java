package io.taskmaster.protocol.message;

/**
 * The closed set of errors the server reports, each with the client's expected reaction. Fatal errors close the
 * connection after the ERROR frame; the others answer one request and leave the connection usable.
 */
public enum ErrorCode {
  /** The frame could not be parsed. Fatal: the stream cannot be resynchronised. */
  MALFORMED_FRAME(1, true),
  /** The frame is longer than the server accepts (a few KiB before authentication). Fatal. */
  FRAME_TOO_LARGE(2, true),
  /** The client's protocol version is not spoken here. Fatal; the message names the versions that are. */
  UNSUPPORTED_VERSION(3, true),
  /** The proof of the key was wrong. Fatal; retrying with the same key will not help. */
  AUTH_FAILED(4, true),
  /** A request came before authentication completed. Fatal. */
  NOT_AUTHENTICATED(5, true),
  /** The opcode is unknown to this server. Fatal: the client speaks something else. */
  UNKNOWN_OPCODE(6, true),
  /** A field is out of range (empty queue name, negative count, ...). The request is refused. */
  INVALID_ARGUMENT(7, false),
  /** A put carried a task id the server already knows. The whole put is refused. */
  DUPLICATE_TASK_ID(8, false),
  /** AWAIT_RESULT named a task the server does not know (never put, or its result expired). */
  UNKNOWN_TASK(9, false),
  /** The server has as many connections as it allows. Fatal; try again later. */
  TOO_MANY_CONNECTIONS(10, true),
  /** Too many failed authentications came from this address recently. Fatal; wait and fix the key. */
  AUTH_BLOCKED(11, true),
  /** The server is shutting down. Fatal; reconnect to its successor. */
  SHUTTING_DOWN(12, true),
  /** A bug on the server; the request was not carried out. */
  INTERNAL(13, false),
  /** The handshake did not complete in time. Fatal. */
  HANDSHAKE_TIMEOUT(14, true),
  /** The server is holding as much as it may for this queue, its memory or this connection; retry later. */
  BUSY(15, false),
  /** A put carried a unique key that a pending task already holds. The whole put is refused. */
  DUPLICATE_UNIQUE_KEY(16, false),
  /**
   * The master could not write to its journal. Refused up front (disk full): nothing was stored, retry later. Failed
   * after the change (the journal stopped): the outcome is unknown until the master restarts.
   */
  STORAGE(17, false);

  private final int code;
  private final boolean fatal;

  ErrorCode(int code, boolean fatal) {
    this.code = code;
    this.fatal = fatal;
  }

  public int code() {
    return code;
  }

  public boolean fatal() {
    return fatal;
  }

  /** The error code for a wire value; unknown values (from a newer server) read as INTERNAL. */
  public static ErrorCode of(int code) {
    for (ErrorCode value : values()) {
      if (value.code == code) {
        return value;
      }
    }
    return INTERNAL;
  }
}
