package io.taskmaster.python.wire;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToByteEncoder;

/** Writes {@code byte[]} payloads as frames: int32 big-endian length, then the bytes. Never the 8-byte form. */
@ChannelHandler.Sharable
public final class ManagersFrameEncoder extends MessageToByteEncoder<byte[]> {
  public static final ManagersFrameEncoder INSTANCE = new ManagersFrameEncoder();

  private ManagersFrameEncoder() {
    super(byte[].class);
  }

  @Override
  protected void encode(ChannelHandlerContext ctx, byte[] payload, ByteBuf out) {
    out.writeInt(payload.length);
    out.writeBytes(payload);
  }
}
