package io.taskmaster.server.net;

import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.util.concurrent.ScheduledFuture;
import io.taskmaster.protocol.auth.Handshake;
import io.taskmaster.protocol.message.Envelope;
import io.taskmaster.protocol.message.ErrorCode;
import io.taskmaster.protocol.message.Message;
import io.taskmaster.protocol.wire.FrameDecoder;
import io.taskmaster.protocol.wire.ProtocolException;
import io.taskmaster.protocol.wire.Rejected;
import io.taskmaster.protocol.wire.Wire;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection: the handshake, then requests handed to {@link RequestHandlers}. States:
 *
 * <pre>
 *   connected ──HELLO sent──► AWAIT_AUTH ──AUTH ok──────────────────────────► READY ──► closed
 *                                 │   └──AUTH from a throttled address──► HOLDING ──key ok──┘
 *                                 │                                          └──wrong key──► closed
 *                                 └──wrong key / timeout / any other frame / evicted──► closed
 * </pre>
 *
 * A server started without a key goes from HELLO straight to READY. When the connection closes, its leases go back
 * to their queues.
 *
 * <p>Until it authenticates a connection holds a handshake slot of its address and a place among the
 * {@link Newcomers}. The place is given up when the connection closes; the slot only once the verdict on its AUTH is
 * delivered, even when the client hung up before, so that hanging up cannot skip the throttle's hold-back.
 */
final class ServerSession extends ChannelInboundHandlerAdapter implements Newcomers.Newcomer {
  private static final Logger log = LoggerFactory.getLogger(ServerSession.class);

  private enum State { AWAIT_AUTH, HOLDING, READY, CLOSING }

  private final ServerContext server;
  final long owner = io.taskmaster.server.engine.Owners.next();
  private final byte[] serverNonce = Handshake.nonce(Wire.NONCE_BYTES);
  private State state = State.AWAIT_AUTH;
  private InetSocketAddress peer;
  /** What the client called itself (NAME), or null; read on the event loop only. */
  private String clientName;
  /** Set before admission, so that a newer connection that displaces this one finds it ({@link #evict}). */
  private ChannelHandlerContext ctx;
  private boolean admitted;
  /** This connection holds a handshake slot of its address. */
  private boolean handshaking;
  /** The verdict on this connection's AUTH is held back; its slot stays taken until the verdict is due. */
  private boolean verdictHeld;
  private ScheduledFuture<?> handshakeTimer;
  /**
   * Requests read while the connection could not be written to (its client reads its answers slower than they come),
   * handled in order once it can: reading stops then, but one read may hold many requests, and answering them all at
   * once (a reconnected producer's AWAIT_RESULTs for many large results, say) could pass the output limit of a client
   * that does read. Event loop only.
   */
  private final java.util.ArrayDeque<Object> heldRequests = new java.util.ArrayDeque<>();
  /** Set when the connection becomes active, before any request can be read. */
  Outbox outbox;
  /** Waiting lease and result requests, touched from engine callbacks on other threads. */
  final java.util.concurrent.atomic.AtomicInteger pending = new java.util.concurrent.atomic.AtomicInteger();
  /**
   * Lease requests waiting for tasks and not answered yet, touched from engine callbacks on other threads: while
   * there are any, a SETTLED may wait for their answer (see {@link Outbox#sendDeferrable}).
   */
  final java.util.concurrent.atomic.AtomicInteger leasesWaiting = new java.util.concurrent.atomic.AtomicInteger();

  ServerSession(ServerContext server) {
    this.server = server;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    outbox = new Outbox(ctx);
    peer = (InetSocketAddress) ctx.channel().remoteAddress();
    String refusal = server.connections.admit(this);
    if (refusal != null) {
      server.refusedLog.warn("refusing connection from {}: {}", peer, refusal);
      closeWith(ctx, 0, ErrorCode.TOO_MANY_CONNECTIONS, refusal);
      return;
    }
    admitted = true;
    handshaking = true;
    boolean authRequired = server.settings.authKey() != null;
    ctx.writeAndFlush(new Envelope(0, new Message.Hello(Wire.VERSION, authRequired, serverNonce, server.name)));
    if (!authRequired) {
      authenticated(ctx);
      return;
    }
    long timeoutMillis = server.settings.handshakeTimeout().toMillis();
    handshakeTimer = ctx.executor().schedule(() -> {
      if (state == State.AWAIT_AUTH) {
        server.refusedLog.warn("closing connection from {}: no authentication within {} ms", peer, timeoutMillis);
        closeWith(ctx, 0, ErrorCode.HANDSHAKE_TIMEOUT, "no authentication within " + timeoutMillis + " ms");
      }
    }, timeoutMillis, TimeUnit.MILLISECONDS);

  }

  @Override
  public InetAddress address() {
    return peer.getAddress();
  }

  @Override
  public void evict(Newcomers.Newcomer newcomer) {
    ctx.executor().execute(() -> {
      if (state == State.AWAIT_AUTH || state == State.HOLDING) {
        int limit = server.settings.effectiveMaxUnauthenticated();
        server.refusedLog.warn("closing connection from {} to make room for one from {}: {} connections may be "
            + "authenticating at once, and {} holds the most of them", peer, newcomer.address().getHostAddress(),
            limit, address().getHostAddress());
        closeWith(ctx, 0, ErrorCode.TOO_MANY_CONNECTIONS, "the master serves its limit of " + limit
            + " unauthenticated connections and closed this one, the oldest from the address with the most, to make "
            + "room; authenticate promptly and try again");
      }
    });
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (state == State.READY && (!heldRequests.isEmpty() || !ctx.channel().isWritable())) {
      heldRequests.add(msg);
      return;
    }
    dispatch(ctx, msg);
  }

  private void dispatch(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof Rejected rejected) {
      if (state == State.CLOSING) {
        return;
      }
      if (state == State.READY) {
        RequestHandlers.reply(this, rejected.requestId(), new Message.Error(rejected.code(), rejected.message()));
      } else {
        closeWith(ctx, rejected.requestId(), ErrorCode.NOT_AUTHENTICATED, "authenticate first: send AUTH after HELLO");
      }
      return;
    }
    Envelope envelope = (Envelope) msg;
    switch (state) {
      case READY -> server.handlers.handle(this, ctx, envelope);
      case AWAIT_AUTH -> onAuth(ctx, envelope);
      case HOLDING -> closeWith(ctx, envelope.requestId(), ErrorCode.NOT_AUTHENTICATED,
          "authenticate first: wait for the verdict on AUTH before sending anything (got "
              + envelope.message().opcode() + ")");
      case CLOSING -> { }
    }
  }

  private void onAuth(ChannelHandlerContext ctx, Envelope envelope) {
    if (!(envelope.message() instanceof Message.Auth auth)) {
      server.refusedLog.warn("closing connection from {}: {} before authentication", peer,
          envelope.message().opcode());
      closeWith(ctx, envelope.requestId(), ErrorCode.NOT_AUTHENTICATED,
          "authenticate first: send AUTH after HELLO (got " + envelope.message().opcode() + ")");
      return;
    }
    byte[] expected = Handshake.clientProof(server.settings.authKey(), serverNonce, auth.clientNonce());
    boolean keyMatched = Handshake.matches(expected, auth.clientProof());
    Duration holdBack = server.throttle.attempted(address(), keyMatched);
    if (!keyMatched) {
      server.authLog.warn("authentication failed for a client at {}: wrong auth key (attempt {} from this address "
          + "since it last went a minute without failing; verdict held back {} ms)", peer,
          server.throttle.attempts(address()), holdBack.toMillis());
    }
    if (holdBack.isZero()) {
      deliverVerdict(ctx, envelope.requestId(), auth, keyMatched);
      return;
    }
    if (keyMatched) {
      log.debug("holding back the verdict for a client at {} by {} ms: its address is throttled after failed "
          + "attempts", peer, holdBack.toMillis());
    }
    // Nothing more is read while the verdict is held back: no other frame can hurry it. Whether the key matched
    // shows nowhere until the verdict is sent.
    state = State.HOLDING;
    verdictHeld = true;
    ctx.channel().config().setAutoRead(false);
    ctx.executor().schedule(() -> {
      verdictHeld = false;
      if (state == State.HOLDING && ctx.channel().isActive()) {
        deliverVerdict(ctx, envelope.requestId(), auth, keyMatched);
      } else {
        endHandshake(); // the client hung up, or was closed, before its verdict was due
      }
    }, holdBack.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void deliverVerdict(ChannelHandlerContext ctx, int requestId, Message.Auth auth, boolean keyMatched) {
    if (!keyMatched) {
      endHandshake();
      closeWith(ctx, requestId, ErrorCode.AUTH_FAILED,
          "authentication failed: the client's auth key does not match the master's");
      return;
    }
    ctx.writeAndFlush(new Envelope(requestId, new Message.AuthOk(
        Handshake.serverProof(server.settings.authKey(), serverNonce, auth.clientNonce()),
        server.settings.maxFrameBytes())));
    authenticated(ctx);
    ctx.channel().config().setAutoRead(readable(ctx));
  }

  /** Whether requests may be read now: not while a verdict is held or the connection closes, nor after a quiesce. */
  private boolean readable(ChannelHandlerContext ctx) {
    return ctx.channel().isWritable() && heldRequests.isEmpty() && (state == State.AWAIT_AUTH || state == State.READY)
        && !server.quiesced;
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    if (outbox != null) {
      outbox.readComplete(leasesWaiting.get() > 0);
    }
    ctx.fireChannelReadComplete();
  }

  /** The client named itself: the name goes into log lines about it and into the errors of tasks lost with it. */
  void named(String name) {
    if (!name.equals(clientName)) {
      log.debug("client {} is {}", peer, name);
    }
    clientName = name;
  }

  /** The client as log lines name it: its name and address, or its address alone. */
  private String describe() {
    return clientName == null ? String.valueOf(peer) : clientName + " at " + peer;
  }

  /**
   * {@link OutputLimit} closes the connection: requests still to be decoded from what was read are not carried out.
   * Returns the client as log lines name it.
   */
  String overflowed() {
    state = State.CLOSING;
    return describe();
  }

  private void authenticated(ChannelHandlerContext ctx) {
    state = State.READY;
    endHandshake();
    server.connections.leftNewcomers(this);
    ctx.pipeline().get(FrameDecoder.class).authenticated();
    // A producer's cancel of a task this client holds reaches its worker as a push.
    server.engine.onCancelRequested(owner, leaseId -> outbox.send(new Envelope(0, new Message.StopTask(leaseId))));
    log.debug("client {} connected", peer);
  }

  private void endHandshake() {
    if (handshaking) {
      handshaking = false;
      server.connections.handshakeEnded(address());
    }
    cancelHandshakeTimer();
  }

  private void cancelHandshakeTimer() {
    if (handshakeTimer != null) {
      handshakeTimer.cancel(false);
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    // Backpressure: a client that does not read its responses stops being read from, so neither its requests nor
    // its pending responses can grow without bound; the requests it sent before are answered as it reads.
    if (state == State.READY && !heldRequests.isEmpty() && ctx.channel().isWritable()) {
      while (state == State.READY && !heldRequests.isEmpty() && ctx.channel().isWritable()) {
        dispatch(ctx, heldRequests.poll());
      }
      outbox.readComplete(leasesWaiting.get() > 0); // the end of a burst, as after a read
    }
    if (state != State.READY) {
      heldRequests.clear(); // closing: what was held is not carried out
    }
    ctx.channel().config().setAutoRead(readable(ctx));
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (admitted) {
      server.connections.leftNewcomers(this);
      if (verdictHeld) {
        cancelHandshakeTimer(); // the slot stays taken until the verdict is due
      } else {
        endHandshake();
      }
      server.connections.closed();
      java.util.List<String> returned = server.engine.disconnect(owner, clientName == null ? "" : clientName);
      if (!returned.isEmpty()) {
        log.info("client {} disconnected holding {} lease(s); the tasks are ready again: {}", describe(),
            returned.size(), io.taskmaster.broker.TaskIds.sample(returned));
      } else {
        log.debug("client {} disconnected", describe());
      }
    }
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    Throwable root = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
    if (root instanceof ProtocolException protocol) {
      server.refusedLog.warn("closing connection from {}: {}", describe(), protocol.getMessage());
      closeWith(ctx, 0, protocol.code(), protocol.getMessage());
    } else if (root instanceof IOException) {
      log.debug("connection from {} failed: {}", describe(), root.toString());
      ctx.close();
    } else {
      log.error("unexpected error on the connection from {}; closing it", describe(), root);
      closeWith(ctx, 0, ErrorCode.INTERNAL, "internal error: " + root);
    }
  }

  /** Sends a final ERROR frame, then closes. */
  void closeWith(ChannelHandlerContext ctx, int requestId, ErrorCode code, String message) {
    state = State.CLOSING;
    ctx.channel().config().setAutoRead(false);
    ctx.writeAndFlush(new Envelope(requestId, new Message.Error(code, message)))
        .addListener(ChannelFutureListener.CLOSE);
  }
}
