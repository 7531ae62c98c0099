package io.taskmaster.protocol.wire;

import io.netty.buffer.ByteBuf;
import io.taskmaster.protocol.message.Envelope;
import io.taskmaster.protocol.message.ErrorCode;
import io.taskmaster.protocol.message.Message;
import io.taskmaster.protocol.message.Opcode;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Cuts a byte stream into frames ({@code u32 length, u8 opcode, u32 request id, body}) and decodes each into an
 * {@link Envelope}, or a {@link Rejected} when a well-framed request carries a refused value. On the server side it
 * first checks the client's preface (magic and version). Not tied to a transport: {@link FrameDecoder} runs it in a
 * Netty pipeline, the client's blocking socket reader calls it directly.
 *
 * <p>The length is checked against the current cap before a single body byte is buffered: before authentication
 * the cap is {@link Wire#PRE_AUTH_MAX_FRAME_BYTES}, afterwards the configured maximum. After the first protocol
 * error the reader discards everything: the stream cannot be trusted to be in sync any more.
 */
public final class FrameReader {
  private final boolean expectPreface;
  private final int maxFrameBytes;
  private boolean prefaceSeen;
  private boolean authenticated;
  private boolean failed;

  /**
   * @param expectPreface true on the server, which reads the client's 8-byte preface first
   * @param maxFrameBytes the cap on frames once {@link #authenticated()} was called
   */
  public FrameReader(boolean expectPreface, int maxFrameBytes) {
    this.expectPreface = expectPreface;
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Lifts the frame cap from the pre-authentication size to the configured maximum. */
  public void authenticated() {
    authenticated = true;
  }

  /**
   * Decodes every whole frame in {@code in} into {@code out}, leaving an incomplete one unread; throws
   * {@link ProtocolException} on the first violation, after which it only skips.
   */
  public void read(ByteBuf in, List<Object> out) {
    if (failed) {
      in.skipBytes(in.readableBytes());
      return;
    }
    try {
      if (expectPreface && !prefaceSeen && !readPreface(in)) {
        return;
      }
      while (decodeFrame(in, out)) {
        // one frame per iteration; stop when the next is incomplete
      }
    } catch (ProtocolException e) {
      failed = true;
      in.skipBytes(in.readableBytes());
      throw e;
    }
  }

  private boolean readPreface(ByteBuf in) {
    int available = Math.min(in.readableBytes(), 4);
    for (int i = 0; i < available; i++) {
      if (in.getByte(in.readerIndex() + i) != (byte) (Wire.MAGIC >>> (24 - 8 * i))) {
        throw new ProtocolException(ErrorCode.MALFORMED_FRAME, "not the Taskmaster protocol (the connection began with "
            + printable(in) + "); point Taskmaster clients at this port, and HTTP or Python clients at their own");
      }
    }
    if (in.readableBytes() < Wire.PREFACE_BYTES) {
      return false;
    }
    in.skipBytes(4);
    int version = in.readUnsignedShort();
    in.skipBytes(2);
    if (version != Wire.VERSION) {
      throw new ProtocolException(ErrorCode.UNSUPPORTED_VERSION, "the client speaks protocol version " + version
          + " but this master speaks version " + Wire.VERSION + "; use a client and master of matching releases");
    }
    prefaceSeen = true;
    return true;
  }

  private boolean decodeFrame(ByteBuf in, List<Object> out) {
    if (in.readableBytes() < 4) {
      return false;
    }
    long length = in.getUnsignedInt(in.readerIndex());
    if (length < Wire.FRAME_HEADER_BYTES) {
      throw new ProtocolException(ErrorCode.MALFORMED_FRAME,
          "frame length " + length + " is below the minimum of " + Wire.FRAME_HEADER_BYTES);
    }
    int cap = authenticated ? maxFrameBytes : Wire.PRE_AUTH_MAX_FRAME_BYTES;
    if (length > cap) {
      throw new ProtocolException(ErrorCode.FRAME_TOO_LARGE, "a frame of " + length + " bytes exceeds the limit of "
          + cap + " bytes" + (authenticated ? "" : " before authentication"));
    }
    if (in.readableBytes() < 4 + length) {
      return false;
    }
    in.skipBytes(4);
    int opcodeByte = in.readUnsignedByte();
    int requestId = in.readInt();
    Opcode opcode = Opcode.of(opcodeByte);
    if (opcode == null) {
      throw new ProtocolException(ErrorCode.UNKNOWN_OPCODE, "unknown opcode 0x" + Integer.toHexString(opcodeByte));
    }
    ByteBuf body = in.readSlice((int) length - Wire.FRAME_HEADER_BYTES);
    Message message;
    try {
      message = MessageCodec.decode(opcode, body);
    } catch (IndexOutOfBoundsException e) {
      throw new ProtocolException(ErrorCode.MALFORMED_FRAME, "the " + opcode + " frame body is truncated");
    } catch (ProtocolException e) {
      if (e.code().fatal()) {
        throw e;
      }
      out.add(new Rejected(requestId, e.code(), e.getMessage()));
      return true;
    }
    out.add(new Envelope(requestId, message));
    return true;
  }

  private static String printable(ByteBuf in) {
    int length = Math.min(in.readableBytes(), 16);
    String text = in.toString(in.readerIndex(), length, StandardCharsets.ISO_8859_1);
    return "'" + text.replaceAll("[^\\x20-\\x7E]", "?") + "'";
  }
}
