package io.taskmaster.protocol.wire;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToByteEncoder;
import io.taskmaster.protocol.message.Envelope;

/** Writes an {@link Envelope} as one frame: {@code u32 length, u8 opcode, u32 request id, body}. Stateless. */
@ChannelHandler.Sharable
public final class FrameEncoder extends MessageToByteEncoder<Envelope> {
  public static final FrameEncoder INSTANCE = new FrameEncoder();

  private FrameEncoder() {
    super(Envelope.class);
  }

  @Override
  protected void encode(ChannelHandlerContext ctx, Envelope envelope, ByteBuf out) {
    writeFrame(envelope, out);
  }

  /** Appends one frame to {@code out}. */
  public static void writeFrame(Envelope envelope, ByteBuf out) {
    int lengthAt = out.writerIndex();
    out.writeInt(0);
    out.writeByte(envelope.message().opcode().code());
    out.writeInt(envelope.requestId());
    MessageCodec.encode(envelope.message(), out);
    out.setInt(lengthAt, out.writerIndex() - lengthAt - 4);
  }

  /** Writes the 8-byte preface a client sends before its first frame. */
  public static void writePreface(ByteBuf out, int version) {
    out.writeInt(Wire.MAGIC);
    out.writeShort(version);
    out.writeShort(0);
  }
}
