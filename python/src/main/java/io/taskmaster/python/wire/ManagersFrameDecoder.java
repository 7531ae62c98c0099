package io.taskmaster.python.wire;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.TooLongFrameException;
import java.util.List;

/**
 * Splits the stream into frames: a signed big-endian int32 length and that many bytes (multiprocessing's {@code
 * Connection}). The length {@code -1} followed by a uint64 is how Python 3.8+ sends frames over 2 GiB; such frames,
 * like any frame over the limit, are refused before anything is buffered. Before authentication the limit is 256
 * bytes, as Python's own is.
 */
public final class ManagersFrameDecoder extends ByteToMessageDecoder {
  /** Python's cap on an authentication message. */
  public static final int AUTH_FRAME_LIMIT = 256;

  private final int maxFrameBytes;
  private volatile boolean authenticated;

  public ManagersFrameDecoder(int maxFrameBytes) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Lifts the pre-authentication cap to the frame limit. */
  public void authenticated() {
    authenticated = true;
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws TooLongFrameException {
    if (in.readableBytes() < 4) {
      return;
    }
    int length = in.getInt(in.readerIndex());
    int limit = authenticated ? maxFrameBytes : AUTH_FRAME_LIMIT;
    if (length == -1) {
      throw new TooLongFrameException("a frame of over 2 GiB was announced; the limit is " + limit + " bytes");
    }
    if (length < 0) {
      throw new TooLongFrameException("a negative frame length (" + length + ") was announced");
    }
    if (length > limit) {
      throw new TooLongFrameException("a frame of " + length + " bytes was announced; the limit is " + limit
          + " bytes" + (authenticated ? "" : " before authentication"));
    }
    if (in.readableBytes() < 4 + length) {
      return;
    }
    in.skipBytes(4);
    out.add(in.readRetainedSlice(length));
  }
}
