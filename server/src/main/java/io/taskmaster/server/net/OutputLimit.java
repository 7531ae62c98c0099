package io.taskmaster.server.net;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Closes a connection whose client does not take what the master writes to it, before its output buffer can grow
 * without bound (as Redis's client-output-buffer-limit does). Reading stops at the write buffer's high water mark
 * (see {@link ServerSession#channelWritabilityChanged}), which bounds the answers to a client's own requests, but not
 * the frames pushed to it from other threads: the RESULTs of the tasks it SUBMITted, the LEASED answering its waiting
 * leases, PROGRESS_UPDATEs. A producer that submits many tasks and never reads would otherwise have the master buffer
 * every result.
 *
 * <p>Sits between the frame encoder and the socket, so it sees every frame as bytes, whichever thread produced it.
 * After each write it reads the bytes waiting in the channel's outbound buffer (written or flushed but not yet taken
 * by the socket, counted as Netty's water marks count them: each frame's size plus its bookkeeping). Past the limit
 * the connection is closed at once, without a final ERROR its client would not read: closing releases the buffer, the
 * connection's leases go back to their queues and its waits end as on any disconnect, while results stay stored in
 * the engine for the client to await again.
 */
final class OutputLimit extends ChannelOutboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(OutputLimit.class);

  /** What the connections of one server share: the limit, the log and the counts tests and operators read. */
  static final class Shared {
    final long maxBytes;
    /** The most bytes any connection had waiting while within the limit. */
    final AtomicLong largest = new AtomicLong();
    /** Connections closed for passing the limit. */
    final AtomicInteger closed = new AtomicInteger();
    final RateLimitedLog closeLog = new RateLimitedLog(log, java.time.Duration.ofSeconds(1));

    Shared(long maxBytes) {
      this.maxBytes = maxBytes;
    }
  }

  private final Shared shared;
  private final ServerSession session;
  /** The most bytes this connection had waiting; event loop only. */
  private long largest;

  OutputLimit(Shared shared, ServerSession session) {
    this.shared = shared;
    this.session = session;
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    ctx.write(msg, promise);
    ChannelOutboundBuffer buffer = ctx.channel().unsafe().outboundBuffer();
    long waiting = buffer == null ? 0 : buffer.totalPendingWriteBytes(); // null once closed
    if (waiting <= largest) {
      return;
    }
    if (waiting > shared.maxBytes) {
      shared.closed.incrementAndGet();
      String client = session.overflowed(); // requests read after this one are not carried out
      shared.closeLog.warn("closing connection from {}: {} bytes wait in its output buffer, over the limit of {} "
          + "(--max-output-buffer): the client does not read its answers. Its leases go back to their queues; the "
          + "results of its tasks stay stored, to be awaited again", client, waiting, shared.maxBytes);
      ctx.close();
      return;
    }
    largest = waiting;
    shared.largest.accumulateAndGet(waiting, Math::max);
  }
}
