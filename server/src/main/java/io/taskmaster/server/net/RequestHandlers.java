package io.taskmaster.server.net;

import io.netty.channel.ChannelHandlerContext;
import io.netty.util.concurrent.ScheduledFuture;
import io.taskmaster.broker.DeadLetter;
import io.taskmaster.broker.DeadLetters;
import io.taskmaster.broker.Delivery;
import io.taskmaster.broker.Names;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.broker.TaskResult;
import io.taskmaster.protocol.message.Envelope;
import io.taskmaster.protocol.message.ErrorCode;
import io.taskmaster.protocol.message.Message;
import io.taskmaster.protocol.message.Opcode;
import io.taskmaster.server.engine.EngineException;
import io.taskmaster.server.engine.LeaseWaiter;
import io.taskmaster.server.engine.QueueEngine;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Maps each request opcode to a handler that decodes, calls the engine, and encodes. No business rules live here:
 * they are the engine's. Engine refusals become non-fatal ERROR responses; the connection stays usable.
 */
final class RequestHandlers {
  private static final Logger log = LoggerFactory.getLogger(RequestHandlers.class);
  /** Dead letters in one DEAD_LISTED at most, so that the answer fits a frame. */
  static final int MAX_DEAD_PAGE = 1000;
  /** Tasks one LEASE may ask for; more buys nothing but a long frame. */
  static final int MAX_LEASE_BATCH = 10_000;
  /** Room in a LEASED frame for everything but the payloads. */
  private static final int FRAME_OVERHEAD_BYTES = 64 * 1024;

  @FunctionalInterface
  private interface Handler {
    void handle(ServerSession session, ChannelHandlerContext ctx, int requestId, Message message);
  }

  private final QueueEngine engine;
  private final int maxPending;
  /**
   * The longest a LEASE waits ({@link MasterSettings#maxLeaseWait()}), so that a lost client's waiter cannot linger
   * for long; a client that wants to wait longer asks again.
   */
  private final long maxWaitMillis;
  /** Payload bytes one LEASED frame may carry, so that it fits the frame limit. */
  private final long leaseBytes;
  private final Map<Opcode, Handler> table = new EnumMap<>(Opcode.class);

  RequestHandlers(QueueEngine engine, int maxPending, int maxFrameBytes, Duration maxWait) {
    this.engine = engine;
    this.maxPending = maxPending;
    this.maxWaitMillis = maxWait.toMillis();
    this.leaseBytes = Math.max(1, maxFrameBytes - FRAME_OVERHEAD_BYTES);
    table.put(Opcode.PUT, this::put);
    table.put(Opcode.SUBMIT, this::submit);
    table.put(Opcode.LEASE, this::lease);
    table.put(Opcode.SETTLE, this::settle);
    table.put(Opcode.EXTEND, this::extend);
    table.put(Opcode.PROGRESS, (session, ctx, id, message) -> {
      Message.Progress progress = (Message.Progress) message;
      reply(session, id, new Message.Progressed(engine.progress(session.owner, progress.leaseId(), progress.done(),
          progress.total(), progress.message())));
    });
    table.put(Opcode.CANCEL, (session, ctx, id, message) ->
        replyDurable(session, id, new Message.Cancelled(engine.cancel(
            Names.requireValid("task id", ((Message.Cancel) message).taskId())))));
    table.put(Opcode.DEAD_LIST, (session, ctx, id, message) -> {
      Message.DeadList list = (Message.DeadList) message;
      DeadLetters page = engine.deadLetters(
          Names.requireValid("queue name", list.queue()), list.offset(), Math.min(list.limit(), MAX_DEAD_PAGE));
      reply(session, id, new Message.DeadListed(fitFrame(page)));
    });
    table.put(Opcode.DEAD_RETRY, (session, ctx, id, message) -> {
      Message.DeadRetry retry = (Message.DeadRetry) message;
      replyDurable(session, id, new Message.DeadRetried(engine.retryDeadLetters(
          Names.requireValid("queue name", retry.queue()), retry.taskIds())));
    });
    table.put(Opcode.DEAD_PURGE, (session, ctx, id, message) ->
        replyDurable(session, id, new Message.DeadPurged(engine.purgeDeadLetters(
            Names.requireValid("queue name", ((Message.DeadPurge) message).queue())))));
    table.put(Opcode.AWAIT_RESULT, this::awaitResult);
    table.put(Opcode.SIZE, this::size);
    table.put(Opcode.PING, (session, ctx, id, message) -> reply(session, id, new Message.Pong()));
    table.put(Opcode.NAME, (session, ctx, id, message) -> {
      session.named(Names.requireValid("client name", ((Message.Name) message).clientName()));
      reply(session, id, new Message.Named());
    });
  }

  void handle(ServerSession session, ChannelHandlerContext ctx, Envelope envelope) {
    Handler handler = table.get(envelope.message().opcode());
    if (handler == null) {
      session.closeWith(ctx, envelope.requestId(), ErrorCode.UNKNOWN_OPCODE,
          envelope.message().opcode() + " is not a request a client may send");
      return;
    }
    try {
      handler.handle(session, ctx, envelope.requestId(), envelope.message());
    } catch (EngineException e) {
      reply(session, envelope.requestId(), new Message.Error(ErrorCode.valueOf(e.reason().name()), e.getMessage()));
    } catch (IllegalArgumentException e) {
      reply(session, envelope.requestId(), new Message.Error(ErrorCode.INVALID_ARGUMENT, e.getMessage()));
    } catch (RuntimeException e) {
      log.error("{} request {} failed inside the master", envelope.message().opcode(), envelope.requestId(), e);
      reply(session, envelope.requestId(), new Message.Error(ErrorCode.INTERNAL, "internal error in the master ("
          + e.getClass().getSimpleName() + "); the request was not carried out"));
    }
  }

  private void put(ServerSession session, ChannelHandlerContext ctx, int requestId, Message message) {
    Message.Put put = (Message.Put) message;
    engine.put(put.tasks());
    logPut(put.tasks());
    replyDurable(session, requestId, new Message.PutOk(put.tasks().size()));
  }

  /** A put whose results are pushed as RESULT frames with request id 0, each as its task is settled. */
  private void submit(ServerSession session, ChannelHandlerContext ctx, int requestId, Message message) {
    List<io.taskmaster.broker.TaskMessage> tasks = ((Message.Submit) message).tasks();
    if (session.pending.addAndGet(tasks.size()) > maxPending) {
      session.pending.addAndGet(-tasks.size());
      reply(session, requestId, new Message.Error(ErrorCode.BUSY, "this connection already waits for " + maxPending
          + " results or leases; wait for some to complete"));
      return;
    }
    try {
      engine.put(tasks, session.owner, result -> {
        session.pending.decrementAndGet();
        replyDurable(session, 0, new Message.Result(result));
      }, progress -> reply(session, 0, new Message.ProgressUpdate(progress)));
    } catch (RuntimeException e) {
      session.pending.addAndGet(-tasks.size());
      throw e;
    }
    logPut(tasks);
    replyDurable(session, requestId, new Message.PutOk(tasks.size()));
  }

  private static void logPut(List<io.taskmaster.broker.TaskMessage> tasks) {
    if (log.isDebugEnabled()) {
      tasks.forEach(task -> log.debug("task {} ({}) put on queue '{}'", task.id(), task.type(), task.queue()));
    }
  }

  private void lease(ServerSession session, ChannelHandlerContext ctx, int requestId, Message message) {
    Message.Lease lease = (Message.Lease) message;
    Names.requireValid("queue name", lease.queue());
    if (lease.max() < 1 || lease.max() > MAX_LEASE_BATCH) {
      throw new IllegalArgumentException("a lease must ask for 1 to " + MAX_LEASE_BATCH + " tasks, asked for "
          + lease.max());
    }
    long waitMillis = Math.max(0, Math.min(lease.waitMillis(), maxWaitMillis));
    boolean waits = waitMillis > 0;
    if (waits && !reservePending(session, requestId)) {
      return;
    }
    LeaseAnswer answer = new LeaseAnswer(session, requestId, waits);
    LeaseWaiter waiter = engine.lease(session.owner, lease.queue(), lease.max(), leaseBytes, waits, answer);
    if (waiter != null) {
      answer.timer = ctx.executor().schedule(() -> engine.cancel(waiter), waitMillis, TimeUnit.MILLISECONDS);
    }
  }

  /** Answers a lease once, from whichever thread the engine calls it on, and stops its timer. */
  private static final class LeaseAnswer implements java.util.function.Consumer<List<Delivery>> {
    private final ServerSession session;
    private final int requestId;
    private final boolean pending;
    volatile ScheduledFuture<?> timer;

    LeaseAnswer(ServerSession session, int requestId, boolean pending) {
      this.session = session;
      this.requestId = requestId;
      this.pending = pending;
      if (pending) {
        session.leasesWaiting.incrementAndGet();
      }
    }

    @Override
    public void accept(List<Delivery> deliveries) {
      if (pending) {
        session.pending.decrementAndGet();
        session.leasesWaiting.decrementAndGet();
      }
      ScheduledFuture<?> scheduled = timer;
      if (scheduled != null && !deliveries.isEmpty()) {
        scheduled.cancel(false);
      }
      reply(session, requestId, new Message.Leased(deliveries));
    }
  }

  private void settle(ServerSession session, ChannelHandlerContext ctx, int requestId, Message message) {
    Message.Settle settle = (Message.Settle) message;
    Message.Settled settled = new Message.Settled(engine.settle(session.owner, settle.settlements()));
    if (isDurable()) {
      // A worker sends its next lease with its settlement: the answer to that lease can carry this one.
      session.outbox.sendDeferrable(new Envelope(requestId, settled));
    } else {
      replyDurable(session, requestId, settled);
    }
  }

  /**
   * Shortens a page of dead letters until it fits a frame (errors carry stack traces, tasks their payloads); the
   * first always stays, so a client can page through one at a time. {@code total} still counts them all.
   */
  private DeadLetters fitFrame(DeadLetters page) {
    long budget = leaseBytes;
    List<DeadLetter> kept = new java.util.ArrayList<>();
    for (DeadLetter dead : page.page()) {
      TaskMessage task = dead.task();
      long size = 64L + task.payload().length + 3L * (task.id().length() + task.queue().length()
          + task.type().length() + task.options().uniqueKey().length());
      for (Map.Entry<String, String> header : task.headers().entrySet()) {
        size += 4 + 3L * (header.getKey().length() + header.getValue().length());
      }
      for (io.taskmaster.task.TaskError error : dead.attempts()) {
        size += 16 + 3L * (error.type().length() + error.message().length() + error.stackTrace().length()
            + error.workerId().length());
      }
      budget -= size;
      if (budget < 0 && !kept.isEmpty()) {
        break;
      }
      kept.add(dead);
    }
    return kept.size() == page.page().size() ? page : new DeadLetters(page.total(), kept);
  }

  private void extend(ServerSession session, ChannelHandlerContext ctx, int requestId, Message message) {
    List<Long> leaseIds = ((Message.Extend) message).leaseIds();
    reply(session, requestId, new Message.Extended(engine.extend(session.owner, leaseIds)));
  }

  private void awaitResult(ServerSession session, ChannelHandlerContext ctx, int requestId, Message message) {
    String taskId = ((Message.AwaitResult) message).taskId();
    if (!reservePending(session, requestId)) {
      return;
    }
    try {
      engine.awaitResult(session.owner, taskId, (TaskResult result) -> {
        session.pending.decrementAndGet();
        replyDurable(session, requestId, new Message.Result(result));
      }, progress -> reply(session, 0, new Message.ProgressUpdate(progress)));
    } catch (EngineException e) {
      session.pending.decrementAndGet();
      throw e;
    }
  }

  private void size(ServerSession session, ChannelHandlerContext ctx, int requestId, Message message) {
    String queue = ((Message.Size) message).queue();
    reply(session, requestId, new Message.SizeOk(engine.size(Names.requireValid("queue name", queue))));
  }

  private boolean reservePending(ServerSession session, int requestId) {
    if (session.pending.incrementAndGet() > maxPending) {
      session.pending.decrementAndGet();
      reply(session, requestId, new Message.Error(ErrorCode.BUSY, "this connection already has " + maxPending
          + " waiting lease or result requests; wait for some to complete"));
      return false;
    }
    return true;
  }

  /**
   * Sends a response once the changes made so far are durable (on disk with fsync always): an acknowledged put or
   * settlement survives a crash. Requests waiting for the same fsync share it. If the journal cannot keep them, the
   * client is told so and must treat the outcome as unknown.
   */
  private void replyDurable(ServerSession session, int requestId, Message message) {
    if (isDurable()) {
      reply(session, requestId, message);
      return;
    }
    engine.durable().whenComplete((ok, error) -> {
      if (error == null) {
        reply(session, requestId, message);
      } else if (requestId != 0) {
        reply(session, requestId, new Message.Error(ErrorCode.STORAGE, error instanceof EngineException
            ? error.getMessage() : "the journal failed: " + error));
      } else {
        log.warn("the result of task {} could not be made durable ({}); it is not sent",
            message instanceof Message.Result result ? result.result().taskId() : "?", error.getMessage());
      }
    });
  }

  /** Whether every change made so far is durable (at once without a journal, or with fsync none). */
  private boolean isDurable() {
    java.util.concurrent.CompletableFuture<Void> durable = engine.durable();
    return durable.isDone() && !durable.isCompletedExceptionally();
  }

  /**
   * Sends a response from any thread, through the connection's {@link Outbox}. The pipeline's
   * FlushConsolidationHandler turns the many flushes of a read burst into few system calls.
   */
  static void reply(ServerSession session, int requestId, Message message) {
    session.outbox.send(new Envelope(requestId, message));
  }
}
