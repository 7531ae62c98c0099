package io.taskmaster.server.net;

import io.netty.channel.ChannelHandlerContext;
import io.netty.util.internal.PlatformDependent;
import io.taskmaster.protocol.message.Envelope;
import java.util.Queue;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The frames one connection sends. Frames produced on the connection's own event loop are written at once; those
 * produced on other threads (engine callbacks: a result settled by a worker on another connection, tasks put by a
 * producer for a waiting lease) are queued, and the event loop writes everything queued in one go with one flush.
 * A settle of 64 tasks whose results go to one producer then costs one hand-off between threads, not 64.
 */
final class Outbox {
  private final ChannelHandlerContext ctx;
  private final Queue<Envelope> queued = PlatformDependent.newMpscQueue();
  private final AtomicBoolean drainScheduled = new AtomicBoolean();

  Outbox(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  void send(Envelope envelope) {
    if (ctx.executor().inEventLoop() && queued.isEmpty()) {
      ctx.writeAndFlush(envelope, ctx.voidPromise());
      return;
    }
    queued.add(envelope);
    if (drainScheduled.compareAndSet(false, true)) {
      ctx.executor().execute(this::drain);
    }
  }

  private void drain() {
    drainScheduled.set(false);
    boolean wrote = false;
    for (Envelope envelope; (envelope = queued.poll()) != null; ) {
      ctx.write(envelope, ctx.voidPromise());
      wrote = true;
    }
    if (wrote) {
      ctx.flush();
    }
  }
}
