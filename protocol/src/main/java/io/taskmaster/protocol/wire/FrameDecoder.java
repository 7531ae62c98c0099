package io.taskmaster.protocol.wire;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.taskmaster.protocol.message.Envelope;
import java.util.List;

/**
 * The Netty side of {@link FrameReader}: turns the inbound bytes of a channel into {@link Envelope}s and
 * {@link Rejected}s, with the reader's length caps and its fail-once-then-discard rule.
 */
public final class FrameDecoder extends ByteToMessageDecoder {
  private final FrameReader reader;

  /**
   * @param expectPreface true on the server, which reads the client's 8-byte preface first
   * @param maxFrameBytes the cap on frames once {@link #authenticated()} was called
   */
  public FrameDecoder(boolean expectPreface, int maxFrameBytes) {
    this.reader = new FrameReader(expectPreface, maxFrameBytes);
  }

  /** Lifts the frame cap from the pre-authentication size to the configured maximum. */
  public void authenticated() {
    reader.authenticated();
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    reader.read(in, out);
  }
}
