package io.taskmaster.client;

import io.taskmaster.broker.BrokerException;
import io.taskmaster.broker.BrokerUnavailableException;
import io.taskmaster.protocol.message.Envelope;
import io.taskmaster.protocol.message.ErrorCode;
import io.taskmaster.protocol.message.Message;
import io.taskmaster.protocol.wire.ProtocolException;
import io.taskmaster.protocol.wire.Rejected;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection to a master: the handshake, then pipelined requests matched to responses by request id, and the
 * frames the master pushes. It does not move bytes itself: its {@link Link} does (a blocking socket by default, see
 * {@link SocketLink}), and reports back what it read and when it closed.
 *
 * <p>When the connection drops, every request still waiting fails with {@link BrokerUnavailableException}; the
 * broker decides what to re-send.
 */
final class Connection {
  private static final Logger log = LoggerFactory.getLogger(Connection.class);
  private final String target;
  private final ClientHandshake handshake;
  private final Consumer<Connection> onClose;
  /** Frames the master pushes with request id 0: results and progress reports. */
  private final Consumer<Message> onPush;
  final CompletableFuture<Void> ready = new CompletableFuture<>();
  private final Map<Integer, CompletableFuture<Message>> pending = new ConcurrentHashMap<>();
  private final AtomicInteger nextRequestId = new AtomicInteger();
  private volatile Link link;
  private volatile boolean closed;
  private final Duration silenceTimeout;
  /** When the master last sent a frame (System.nanoTime). */
  private volatile long lastHeardNanos = System.nanoTime();
  private final AtomicBoolean pinging = new AtomicBoolean();
  private volatile ScheduledFuture<?> silenceWatch;

  Connection(String target, ClientHandshake handshake, Consumer<Connection> onClose,
      Consumer<Message> onPush, Duration silenceTimeout) {
    this.target = target;
    this.handshake = handshake;
    this.onClose = onClose;
    this.onPush = onPush;
    this.silenceTimeout = silenceTimeout;
  }

  /** Called by the link before it reads the first byte. */
  void attach(Link attached) {
    this.link = attached;
  }

  /** Sends a request; the future completes with its response, or fails with the server's error. */
  CompletableFuture<Message> request(Message message) {
    return request(message, false);
  }

  /** As {@link #request(Message)}; with {@code later}, the frame waits in the link for the next {@link #flush()}. */
  CompletableFuture<Message> request(Message message, boolean later) {
    CompletableFuture<Message> response = new AnswerFuture<>(link);
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
    Envelope envelope = new Envelope(id, message);
    if (later) {
      link.queue(envelope);
    } else {
      link.send(envelope);
    }
    return response;
  }

  /** Whether a request sent on this connection still waits for its answer. */
  boolean awaitsAnswers() {
    return !pending.isEmpty();
  }

  /** See {@link CallerReads#readUntil}. */
  void readUntil(CompletableFuture<?> answer, long timeoutNanos, boolean interruptible) {
    link.readUntil(answer, timeoutNanos, interruptible);
  }

  /** Sends the frames that requests made with {@code later} left in the link. */
  void flush() {
    link.flush();
  }

  /** A frame the link read: an {@link Envelope} or a {@link Rejected}. */
  void received(Object msg) {
    lastHeardNanos = System.nanoTime();
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
      onHandshake(message);
      return;
    }
    if (envelope.requestId() == 0
        && (message instanceof Message.Result || message instanceof Message.ProgressUpdate
            || message instanceof Message.StopTask)) {
      try {
        onPush.accept(message);
      } catch (RuntimeException e) {
        // A listener's bug (progress, stop): the connection and everyone else's requests carry on.
        log.error("a listener of {} from the master at {} failed", message.opcode(), target, e);
      }
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

  /**
   * The link did not send a request: it could not be encoded, or its frame is longer than the master takes (a
   * BrokerException that says so). Its caller hears why; nothing of it reached the master.
   */
  void refused(int requestId, RuntimeException why) {
    CompletableFuture<Message> response = pending.remove(requestId);
    if (response != null) {
      response.completeExceptionally(why instanceof BrokerException refusal ? refusal
          : new BrokerException("INVALID_ARGUMENT", "the request could not be sent: " + why.getMessage()));
    }
  }

  private void onHandshake(Message message) {
    try {
      if (message instanceof Message.Hello hello) {
        Message.Auth auth = handshake.onHello(hello);
        if (auth == null) {
          authenticated();
        } else {
          link.send(new Envelope(0, auth));
        }
      } else if (message instanceof Message.AuthOk ok) {
        handshake.onAuthOk(ok);
        authenticated();
      } else if (message instanceof Message.Error error) {
        ready.completeExceptionally(ClientHandshake.refused(target, error));
        link.close();
      } else {
        throw new IllegalStateException("the master at " + target + " sent " + message.opcode()
            + " during the handshake");
      }
    } catch (RuntimeException e) {
      ready.completeExceptionally(e);
      link.close();
    }
  }

  private void authenticated() {
    link.authenticated();
    silenceWatch = SilenceWatch.watch(this, silenceTimeout);
    if (closed) {
      silenceWatch.cancel(false); // lost meanwhile: linkClosed found no watch to stop
    }
    ready.complete(null);
  }

  /**
   * Called a few times per silence timeout: a PING after half of it without a frame from the master, and the link
   * closed as dead after all of it.
   */
  void checkSilence(Duration timeout) {
    long silentNanos = System.nanoTime() - lastHeardNanos;
    if (silentNanos > timeout.toNanos()) {
      log.warn("the master at {} sent nothing for {} ms, not even an answer to a PING; taking the connection as "
          + "dead", target, TimeUnit.NANOSECONDS.toMillis(silentNanos));
      linkFailed(new IOException("the master sent nothing for " + TimeUnit.NANOSECONDS.toMillis(silentNanos)
          + " ms (silence timeout " + timeout.toMillis() + " ms)"));
    } else if (silentNanos > timeout.toNanos() / 2 && pinging.compareAndSet(false, true)) {
      request(new Message.Ping()).whenComplete((pong, error) -> pinging.set(false));
    }
  }

  /** The link closed, for whatever reason; called once. */
  void linkClosed() {
    closed = true;
    ScheduledFuture<?> watch = silenceWatch;
    if (watch != null) {
      watch.cancel(false);
    }
    ready.completeExceptionally(lost(null));
    failAll(lost(null));
    onClose.accept(this);
  }

  /** The link failed: unreadable bytes from the master, or an IO error. The link closes itself afterwards. */
  void linkFailed(Throwable root) {
    BrokerException error = root instanceof ProtocolException protocol
        ? new BrokerException(protocol.code().name(), "the master at " + target + " sent bytes this client cannot "
            + "read: " + protocol.getMessage())
        : lost(root);
    ready.completeExceptionally(error);
    failAll(error);
    link.close();
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
    Link current = link;
    if (current != null) {
      current.close();
    }
  }
}
