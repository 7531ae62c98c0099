package io.taskmaster.protocol.message;

/**
 * Frame types. Requests have the high bit clear; each response type is its request's code with the high bit set.
 * Codes are part of the wire format: never renumber one, add new ones instead.
 */
public enum Opcode {
  HELLO(0x01),
  AUTH(0x02),
  AUTH_OK(0x03),
  PUT(0x10),
  LEASE(0x11),
  SETTLE(0x12),
  AWAIT_RESULT(0x13),
  SIZE(0x14),
  PING(0x15),
  SUBMIT(0x16),
  EXTEND(0x17),
  DEAD_LIST(0x18),
  DEAD_RETRY(0x19),
  DEAD_PURGE(0x1A),
  CANCEL(0x1B),
  PROGRESS(0x1C),
  /** The client names itself, for the master's logs and the errors of tasks lost with its connection. */
  NAME(0x1D),
  PUT_OK(0x90),
  LEASED(0x91),
  SETTLED(0x92),
  RESULT(0x93),
  SIZE_OK(0x94),
  PONG(0x95),
  EXTENDED(0x97),
  DEAD_LISTED(0x98),
  DEAD_RETRIED(0x99),
  DEAD_PURGED(0x9A),
  CANCELLED(0x9B),
  PROGRESSED(0x9C),
  NAMED(0x9D),
  /** Pushed by the server (request id 0): a progress report of a task the client waits for. */
  PROGRESS_UPDATE(0xC0),
  /** Pushed by the server (request id 0) to the holder of a lease whose task was cancelled: stop it. */
  STOP_TASK(0xC1),
  ERROR(0xFF);

  private static final Opcode[] BY_CODE = new Opcode[256];

  static {
    for (Opcode opcode : values()) {
      BY_CODE[opcode.code] = opcode;
    }
  }

  private final int code;

  Opcode(int code) {
    this.code = code;
  }

  public int code() {
    return code;
  }

  /** The opcode for a wire byte, or null when the byte names none. */
  public static Opcode of(int code) {
    return code >= 0 && code < 256 ? BY_CODE[code] : null;
  }
}
