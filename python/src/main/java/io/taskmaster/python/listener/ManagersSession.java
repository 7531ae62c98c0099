package io.taskmaster.python.listener;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.util.concurrent.ScheduledFuture;
import io.taskmaster.broker.Delivery;
import io.taskmaster.broker.Settlement;
import io.taskmaster.broker.TaskIds;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.python.pickle.PickleRefusedException;
import io.taskmaster.python.pickle.Pickles;
import io.taskmaster.python.pickle.PythonObject;
import io.taskmaster.python.pickle.PythonValues;
import io.taskmaster.python.pickle.SafeUnpickler;
import io.taskmaster.python.wire.ManagersAuth;
import io.taskmaster.python.wire.ManagersFrameDecoder;
import io.taskmaster.server.engine.EngineException;
import io.taskmaster.server.engine.LeaseWaiter;
import io.taskmaster.server.engine.Owners;
import io.taskmaster.server.engine.QueueEngine;
import java.net.SocketAddress;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import net.razorvine.pickle.IObjectConstructor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Python client connection: the mutual challenge-response, then requests, one at a time as Python sends them.
 * No byte is unpickled before the client has proved the key. Server functions ({@code dummy}, {@code create},
 * {@code incref}, ...) are answered and the connection closed, as Python's server does; after {@code
 * accept_connection} the connection carries method calls on queue proxies until the client closes it.
 */
final class ManagersSession extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(ManagersSession.class);
  /** What a request may name: byte strings in their protocol-2 forms, nothing that runs code. */
  private static final Map<String, IObjectConstructor> REQUEST_GLOBALS = Map.of(
      "_codecs.encode", SafeUnpickler.CODECS_ENCODE,
      "builtins.bytearray", SafeUnpickler.BYTEARRAY,
      "__builtin__.bytearray", SafeUnpickler.BYTEARRAY,
      "builtins.set", SafeUnpickler.SET,
      "builtins.frozenset", SafeUnpickler.SET);
  private static final String RETURN = "#RETURN";
  private static final String ERROR = "#ERROR";
  private static final String TRACEBACK = "#TRACEBACK";

  private enum State { CHALLENGED, AWAITING_PEER_CHALLENGE, AWAITING_WELCOME, READY, CLOSED }

  private final PythonListener listener;
  private final QueueEngine engine;
  private final long owner = Owners.next();
  private State state = State.CHALLENGED;
  private byte[] challenge;
  private ScheduledFuture<?> handshakeTimer;
  private SocketAddress peer;

  ManagersSession(PythonListener listener) {
    this.listener = listener;
    this.engine = listener.engine();
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    peer = ctx.channel().remoteAddress();
    challenge = ManagersAuth.newChallenge();
    ctx.writeAndFlush(challenge);
    handshakeTimer = ctx.executor().schedule(() -> {
      listener.logRefusal("Python client {} did not authenticate within {} ms; closed", peer,
          listener.settings().handshakeTimeout().toMillis());
      close(ctx);
    }, listener.settings().handshakeTimeout().toMillis(), TimeUnit.MILLISECONDS);
    ctx.fireChannelActive();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    byte[] frame;
    ByteBuf buf = (ByteBuf) msg;
    try {
      frame = ByteBufUtil.getBytes(buf);
    } finally {
      buf.release();
    }
    switch (state) {
      case CHALLENGED -> checkProof(ctx, frame);
      case AWAITING_PEER_CHALLENGE -> answerChallenge(ctx, frame);
      case AWAITING_WELCOME -> awaitWelcome(ctx, frame);
      case READY -> request(ctx, frame);
      case CLOSED -> { }
    }
  }

  private void checkProof(ChannelHandlerContext ctx, byte[] reply) {
    if (!ManagersAuth.verify(listener.settings().key(), challenge, reply)) {
      listener.logRefusal("Python client {} failed authentication: wrong auth key", peer);
      ctx.writeAndFlush(ManagersAuth.FAILURE).addListener(ChannelFutureListener.CLOSE);
      state = State.CLOSED;
      return;
    }
    ctx.writeAndFlush(ManagersAuth.WELCOME);
    state = State.AWAITING_PEER_CHALLENGE;
  }

  private void answerChallenge(ChannelHandlerContext ctx, byte[] message) {
    byte[] body = ManagersAuth.challengeBody(message);
    if (body == null) {
      listener.logRefusal("Python client {} sent no challenge after its proof; closed", peer);
      close(ctx);
      return;
    }
    try {
      ctx.writeAndFlush(ManagersAuth.answer(listener.settings().key(), body));
      state = State.AWAITING_WELCOME;
    } catch (IllegalArgumentException e) {
      listener.logRefusal("Python client {} sent a challenge this master cannot answer ({}); closed", peer,
          e.getMessage());
      close(ctx);
    }
  }

  private void awaitWelcome(ChannelHandlerContext ctx, byte[] message) {
    if (!Arrays.equals(message, ManagersAuth.WELCOME)) {
      listener.logRefusal("Python client {} rejected this master's proof of the key; closed", peer);
      close(ctx);
      return;
    }
    handshakeTimer.cancel(false);
    ctx.pipeline().get(ManagersFrameDecoder.class).authenticated();
    state = State.READY;
  }

  private void request(ChannelHandlerContext ctx, byte[] frame) {
    Object decoded;
    try {
      decoded = new SafeUnpickler(REQUEST_GLOBALS).read(frame);
    } catch (PickleRefusedException e) {
      listener.logRefusal("Python client {} sent a refused pickle: {}; closed", peer, e.getMessage());
      sendThenClose(ctx, traceback("PickleRefused", e.getMessage()));
      return;
    }
    if (!(decoded instanceof Object[] request) || request.length != 4 || !(request[1] instanceof String method)
        || !(request[2] instanceof Object[] args) || !(request[3] instanceof Map<?, ?> kwds)
        || (request[0] != null && !(request[0] instanceof String))) {
      sendThenClose(ctx, traceback("ValueError", "a request must be (ident, methodname, args, kwds)"));
      return;
    }
    // One request at a time, as Python sends them: read the next only once this one is answered.
    ctx.channel().config().setAutoRead(false);
    if (request[0] == null) {
      serverFunction(ctx, method, args);
    } else {
      call(ctx, (String) request[0], method, args, kwds);
    }
  }

  private void serverFunction(ChannelHandlerContext ctx, String method, Object[] args) {
    switch (method) {
      case "dummy", "incref", "decref" -> sendThenClose(ctx, returning(null));
      case "create" -> {
        QueueObject object = args.length > 0 && args[0] instanceof String typeid ? listener.object(typeid) : null;
        if (object == null) {
          String typeid = args.length > 0 ? String.valueOf(args[0]) : "(none)";
          sendThenClose(ctx, traceback("KeyError", "typeid '" + typeid + "' is not registered on this Taskmaster "
              + "master; it serves " + listener.describeQueues() + " (taskmaster master --python-queue "
              + "TYPEID=QUEUE adds more)"));
          return;
        }
        log.debug("Python client {} holds queue '{}' as {}", peer, object.queue(), object.typeid());
        sendThenClose(ctx, returning(new Object[] {object.ident(), QueueObject.EXPOSED.toArray()}));
      }
      case "get_methods" -> sendThenClose(ctx, returning(QueueObject.EXPOSED.toArray()));
      case "accept_connection" -> send(ctx, returning(null));
      case "number_of_objects" -> sendThenClose(ctx, returning(listener.settings().queues().size()));
      case "debug_info" -> sendThenClose(ctx, returning("Taskmaster master serving " + listener.describeQueues()));
      case "shutdown" -> {
        // Python's server answers twice. A Python client does not stop a Taskmaster master: SIGTERM does.
        log.warn("Python client {} asked the master to shut down; it keeps running (stop it with SIGTERM)", peer);
        ctx.write(returning(null));
        sendThenClose(ctx, returning(null));
      }
      default -> sendThenClose(ctx, traceback("AssertionError", "'" + method + "' unrecognized"));
    }
  }

  private void call(ChannelHandlerContext ctx, String ident, String method, Object[] args, Map<?, ?> kwds) {
    QueueObject object = listener.objectByIdent(ident);
    if (object == null) {
      send(ctx, traceback("KeyError", "'" + ident + "' is not an object of this master"));
      return;
    }
    try {
      switch (method) {
        case "put", "put_nowait" -> put(ctx, object, args, kwds);
        case "get" -> get(ctx, object, Arguments.block(args, kwds), Arguments.timeout(args, kwds));
        case "get_nowait" -> get(ctx, object, false, null);
        case "qsize" -> send(ctx, returning(engine.size(object.queue())));
        case "empty" -> send(ctx, returning(engine.size(object.queue()) == 0));
        case "full" -> send(ctx, returning(false));
        case "__repr__", "__str__" -> send(ctx, returning("<Taskmaster queue '" + object.queue() + "'>"));
        default -> send(ctx, traceback("AttributeError", "a Taskmaster queue has no method '" + method
            + "'; it has " + String.join(", ", QueueObject.EXPOSED)));
      }
    } catch (Arguments.BadArgument e) {
      send(ctx, error(PythonObject.builtinError(e.type(), e.getMessage())));
    }
  }

  private void put(ChannelHandlerContext ctx, QueueObject object, Object[] args, Map<?, ?> kwds) {
    Object item = Arguments.item(args, kwds);
    byte[] payload;
    try {
      payload = PythonValues.toJson(item);
    } catch (PythonValues.UnsupportedValueException e) {
      send(ctx, error(PythonObject.builtinError("TypeError", e.getMessage())));
      return;
    }
    try {
      engine.put(List.of(new TaskMessage(TaskIds.next(), object.queue(), "", Map.of(), payload)));
    } catch (EngineException e) {
      if (e.reason() == EngineException.Reason.BUSY) {
        send(ctx, error(PythonObject.of("queue", "Full", e.getMessage())));
      } else {
        send(ctx, error(PythonObject.builtinError("OSError", e.getMessage())));
      }
      return;
    }
    // Acknowledged to Python only when it would be to our own clients: once the journal has it.
    engine.durable().whenComplete((ok, failure) -> send(ctx, failure == null ? returning(null)
        : error(PythonObject.builtinError("OSError", "the master could not keep the item: "
            + (failure.getCause() != null ? failure.getCause().getMessage() : failure.getMessage())))));
  }

  private void get(ChannelHandlerContext ctx, QueueObject object, boolean block, Double timeout) {
    ScheduledFuture<?>[] timer = new ScheduledFuture<?>[1];
    LeaseWaiter waiter = engine.lease(owner, object.queue(), 1, block, deliveries -> {
      ScheduledFuture<?> pending = timer[0];
      if (pending != null) {
        pending.cancel(false); // answered: the timer must not hold the waiter for the rest of its timeout
      }
      if (deliveries.isEmpty()) {
        send(ctx, error(PythonObject.queueEmpty()));
        return;
      }
      deliver(ctx, deliveries.get(0));
    });
    if (waiter != null && timeout != null) {
      timer[0] = ctx.executor().schedule(() -> engine.cancel(waiter), (long) (timeout * 1_000_000_000L),
          TimeUnit.NANOSECONDS);
    }
  }

  /**
   * Hands the item to Python and settles it once the reply is written: a get removes the item, as Python's does,
   * but an item whose reply could not be written goes back to the queue instead of being lost.
   */
  private void deliver(ChannelHandlerContext ctx, Delivery delivery) {
    byte[] reply;
    try {
      reply = returning(PythonValues.fromJson(delivery.payload()));
    } catch (RuntimeException e) {
      engine.settle(owner, List.of(Settlement.fail(delivery.leaseId(), io.taskmaster.task.TaskError.of(
          "io.taskmaster.python.Unrepresentable", "the item cannot be given to Python: " + e.getMessage(), ""))));
      send(ctx, error(PythonObject.builtinError("ValueError", "the next item cannot be read in Python: "
          + e.getMessage())));
      return;
    }
    ctx.writeAndFlush(reply).addListener(written -> {
      Settlement settlement = written.isSuccess() ? Settlement.ack(delivery.leaseId(), null)
          : Settlement.release(delivery.leaseId());
      engine.settle(owner, List.of(settlement));
      if (written.isSuccess()) {
        readNext(ctx);
      }
    });
  }

  private void send(ChannelHandlerContext ctx, byte[] reply) {
    ctx.writeAndFlush(reply).addListener(written -> readNext(ctx));
  }

  private void readNext(ChannelHandlerContext ctx) {
    if (state == State.READY && ctx.channel().isActive()) {
      ctx.channel().config().setAutoRead(true);
    }
  }

  private void sendThenClose(ChannelHandlerContext ctx, byte[] reply) {
    state = State.CLOSED;
    ctx.writeAndFlush(reply).addListener(ChannelFutureListener.CLOSE);
  }

  private void close(ChannelHandlerContext ctx) {
    state = State.CLOSED;
    ctx.close();
  }

  private static byte[] returning(Object value) {
    return Pickles.dumps(new Object[] {RETURN, value});
  }

  private static byte[] error(PythonObject exception) {
    return Pickles.dumps(new Object[] {ERROR, exception});
  }

  /** What Python shows as a RemoteError: the text of a traceback. */
  private static byte[] traceback(String type, String message) {
    return Pickles.dumps(new Object[] {TRACEBACK, "Traceback (most recent call last):\n"
        + "  (in the Taskmaster master)\n" + type + ": " + message + "\n"});
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    state = State.CLOSED;
    if (handshakeTimer != null) {
      handshakeTimer.cancel(false);
    }
    int returned = engine.disconnect(owner, "").size();
    if (returned > 0) {
      log.info("Python client {} disconnected holding {} item(s); they are in their queues again", peer, returned);
    }
    listener.connectionClosed();
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (cause instanceof DecoderException) {
      listener.logRefusal("Python client {}: {}; closed", peer, cause.getCause() != null
          ? cause.getCause().getMessage() : cause.getMessage());
    } else if (!(cause instanceof java.io.IOException)) {
      log.warn("Python client {}: {}", peer, cause.toString());
    }
    close(ctx);
  }
}
