package io.taskmaster.client;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.taskmaster.broker.BrokerException;
import io.taskmaster.broker.BrokerUnavailableException;
import io.taskmaster.protocol.message.Envelope;
import io.taskmaster.protocol.message.ErrorCode;
import io.taskmaster.protocol.message.Message;
import io.taskmaster.protocol.wire.FrameDecoder;
import io.taskmaster.protocol.wire.ProtocolException;
import io.taskmaster.protocol.wire.Rejected;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * One TCP connection to a master: the handshake, then pipelined requests matched to responses by request id.
 *
 * <p>Writes from any thread go through a queue that the event loop drains in one go and flushes once, so a burst of
 * requests from many threads costs one system call, not one each. When the connection drops, every request still
 * waiting fails with {@link BrokerUnavailableException}; the broker decides what to re-send.
 */
final class Connection extends ChannelInboundHandlerAdapter {
  private final String target;
  private final ClientHandshake handshake;
  private final Consumer<Connection> onClose;
  /** Frames the master pushes with request id 0: results and progress reports. */
  private final Consumer<Message> onPush;
  final CompletableFuture<Void> ready = new CompletableFuture<>();
  private final Map<Integer, CompletableFuture<Message>> pending = new ConcurrentHashMap<>();
  private final ConcurrentLinkedQueue<Envelope> outbox = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean drainScheduled = new AtomicBoolean();
  private final AtomicInteger nextRequestId = new AtomicInteger();
  private volatile Channel channel;
  private volatile boolean closed;

  Connection(String target, ClientHandshake handshake, Consumer<Connection> onClose,
      Consumer<Message> onPush) {
    this.target = target;
    this.handshake = handshake;
    this.onClose = onClose;
    this.onPush = onPush;
  }

  /** Sends a request; the future completes with its response, or fails with the server's error. */
  CompletableFuture<Message> request(Message message) {
    CompletableFuture<Message> response = new CompletableFuture<>();
    if (closed) {
      response.completeExceptionally(lost(null));
      return response;
    }
    int id = nextRequestId.updateAndGet(n -> n == Integer.MAX_VALUE ? 1 : n + 1);
    pending.put(id, response);
    if (closed && pending.remove(id) != null) {
      response.completeExceptionally(lost(null));
      return response;
    }
    outbox.add(new Envelope(id, message));
    if (drainScheduled.compareAndSet(false, true)) {
      channel.eventLoop().execute(this::drain);
    }
    return response;
  }

  private void drain() {
    drainScheduled.set(false);
    Envelope envelope;
    boolean wrote = false;
    while ((envelope = outbox.poll()) != null) {
      channel.write(envelope, channel.voidPromise());
      wrote = true;
    }
    if (wrote) {
      channel.flush();
    }
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    channel = ctx.channel();
    io.netty.buffer.ByteBuf preface = ctx.alloc().buffer(8);
    io.taskmaster.protocol.wire.FrameEncoder.writePreface(preface, io.taskmaster.protocol.wire.Wire.VERSION);
    ctx.writeAndFlush(preface);
    ctx.fireChannelActive();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof Rejected rejected) {
      CompletableFuture<Message> response = pending.remove(rejected.requestId());
      if (response != null) {
        response.completeExceptionally(new BrokerException(rejected.code().name(), "the master's answer could not "
            + "be read: " + rejected.message()));
      }
      return;
    }
    Envelope envelope = (Envelope) msg;
    Message message = envelope.message();
    if (!ready.isDone()) {
      onHandshake(ctx, message);
      return;
    }
    if (envelope.requestId() == 0
        && (message instanceof Message.Result || message instanceof Message.ProgressUpdate
            || message instanceof Message.StopTask)) {
      onPush.accept(message);
      return;
    }
    CompletableFuture<Message> response = pending.remove(envelope.requestId());
    if (response == null) {
      if (message instanceof Message.Error error && error.code() == ErrorCode.SHUTTING_DOWN) {
        failAll(lost(null));
      } else if (message instanceof Message.Error error && error.code().fatal()) {
        failAll(new BrokerException(error.code().name(), "the master at " + target + " closed the connection: "
            + error.message()));
      }
      return;
    }
    if (message instanceof Message.Error error) {
      response.completeExceptionally(new BrokerException(error.code().name(), error.message()));
    } else {
      response.complete(message);
    }
  }

  private void onHandshake(ChannelHandlerContext ctx, Message message) {
    try {
      if (message instanceof Message.Hello hello) {
        Message.Auth auth = handshake.onHello(hello);
        if (auth == null) {
          authenticated(ctx);
        } else {
          ctx.writeAndFlush(new Envelope(0, auth));
        }
      } else if (message instanceof Message.AuthOk ok) {
        handshake.onAuthOk(ok);
        authenticated(ctx);
      } else if (message instanceof Message.Error error) {
        ready.completeExceptionally(ClientHandshake.refused(target, error));
        ctx.close();
      } else {
        throw new IllegalStateException("the master at " + target + " sent " + message.opcode()
            + " during the handshake");
      }
    } catch (RuntimeException e) {
      ready.completeExceptionally(e);
      ctx.close();
    }
  }

  private void authenticated(ChannelHandlerContext ctx) {
    ctx.pipeline().get(FrameDecoder.class).authenticated();
    ready.complete(null);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    closed = true;
    ready.completeExceptionally(lost(null));
    failAll(lost(null));
    onClose.accept(this);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    Throwable root = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
    BrokerException error = root instanceof ProtocolException protocol
        ? new BrokerException(protocol.code().name(), "the master at " + target + " sent bytes this client cannot "
            + "read: " + protocol.getMessage())
        : lost(root);
    ready.completeExceptionally(error);
    failAll(error);
    ctx.close();
  }

  private void failAll(BrokerException error) {
    for (Integer id : pending.keySet()) {
      CompletableFuture<Message> response = pending.remove(id);
      if (response != null) {
        response.completeExceptionally(error);
      }
    }
  }

  private BrokerUnavailableException lost(Throwable cause) {
    String why = cause == null ? "" : " (" + cause.getMessage() + ")";
    return new BrokerUnavailableException("the connection to the master at " + target + " was lost" + why, cause);
  }

  boolean isOpen() {
    return !closed && ready.isDone() && !ready.isCompletedExceptionally();
  }

  void close() {
    Channel current = channel;
    if (current != null) {
      current.close();
    }
  }
}
