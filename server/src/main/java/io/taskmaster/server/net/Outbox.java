package io.taskmaster.server.net;

import io.netty.channel.ChannelHandlerContext;
import io.netty.util.internal.PlatformDependent;
import io.taskmaster.protocol.message.Envelope;
import java.util.Queue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The frames one connection sends. Frames produced on the connection's own event loop are written at once; those
 * produced on other threads (engine callbacks: a result settled by a worker on another connection, tasks put by a
 * producer for a waiting lease) are queued, and the event loop writes everything queued in one go with one flush.
 * A settle of 64 tasks whose results go to one producer then costs one hand-off between threads, not 64.
 *
 * <p>A frame nobody waits on urgently may be deferred: written but not flushed, it leaves with the connection's next
 * frame, or after {@link #DEFER_MICROS} at the latest. A worker's SETTLED is such a frame while its next lease waits
 * for a task: it then travels inside the LEASED that answers that lease, which saves the master a write and the
 * worker a wake-up per task.
 */
final class Outbox {
  /** How long a deferred frame may wait for company. */
  static final long DEFER_MICROS = 2_000;

  private final ChannelHandlerContext ctx;
  private final Queue<Envelope> queued = PlatformDependent.newMpscQueue();
  private final AtomicBoolean drainScheduled = new AtomicBoolean();
  /** Frames written but not flushed; event loop only. */
  private boolean deferred;
  private boolean deferredFlushScheduled;

  Outbox(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  void send(Envelope envelope) {
    if (ctx.executor().inEventLoop() && queued.isEmpty()) {
      deferred = false; // they leave with this one
      ctx.writeAndFlush(envelope, ctx.voidPromise());
      return;
    }
    queued.add(envelope);
    if (drainScheduled.compareAndSet(false, true)) {
      ctx.executor().execute(this::drain);
    }
  }

  /**
   * Sends a frame that may wait for the connection's next one: the end of the read burst it answers decides (see
   * {@link #readComplete}). From another thread, or behind queued frames, it is sent as {@link #send} does.
   */
  void sendDeferrable(Envelope envelope) {
    if (!ctx.executor().inEventLoop() || !queued.isEmpty()) {
      send(envelope);
      return;
    }
    ctx.write(envelope, ctx.voidPromise());
    deferred = true;
  }

  /**
   * The end of a read burst, on the event loop: the deferred frames leave now, unless {@code moreToCome} (a lease of
   * this connection waits, and its answer will carry them); then within {@link #DEFER_MICROS}.
   */
  void readComplete(boolean moreToCome) {
    if (!deferred) {
      return;
    }
    if (!moreToCome) {
      flushDeferred();
    } else if (!deferredFlushScheduled) {
      deferredFlushScheduled = true;
      ctx.executor().schedule(() -> {
        deferredFlushScheduled = false;
        flushDeferred();
      }, DEFER_MICROS, TimeUnit.MICROSECONDS);
    }
  }

  private void flushDeferred() {
    if (deferred) {
      deferred = false;
      ctx.flush();
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
      deferred = false; // they leave with these
      ctx.flush();
    }
  }
}
