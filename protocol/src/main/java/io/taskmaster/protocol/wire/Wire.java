package io.taskmaster.protocol.wire;

/** Constants of the framing layer (see docs/protocol.md, sections 2 and 3). */
public final class Wire {
  /** The four bytes a client sends first: "TMQP". Anything else is another protocol and is closed at once. */
  public static final int MAGIC = 0x544D5150;

  /** The one protocol version spoken. Bump on any incompatible change to framing or message layout. */
  public static final int VERSION = 1;

  /** magic (4) + version (2) + reserved (2). */
  public static final int PREFACE_BYTES = 8;

  /** opcode (1) + request id (4): the smallest frame after the length field. */
  public static final int FRAME_HEADER_BYTES = 5;

  /**
   * Frames before authentication are tiny (HELLO and AUTH are under 100 bytes); a small cap means a hostile client
   * cannot make the server allocate anything of size before it proved the key.
   */
  public static final int PRE_AUTH_MAX_FRAME_BYTES = 4096;

  /** Default cap on any frame after authentication. */
  public static final int DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

  /** Length of both nonces in the handshake. */
  public static final int NONCE_BYTES = 32;

  private Wire() {}
}
