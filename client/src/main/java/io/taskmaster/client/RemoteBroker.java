package io.taskmaster.client;

import io.taskmaster.backoff.Backoff;
import io.taskmaster.broker.AuthenticationException;
import io.taskmaster.broker.Broker;
import io.taskmaster.broker.BrokerException;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.broker.BrokerUnavailableException;
import io.taskmaster.broker.CancelOutcome;
import io.taskmaster.broker.DeadLetters;
import io.taskmaster.broker.Delivery;
import io.taskmaster.broker.SettleStatus;
import io.taskmaster.broker.Settlement;
import io.taskmaster.broker.Submission;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.broker.TaskProgress;
import io.taskmaster.broker.TaskResult;
import io.taskmaster.protocol.message.Message;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code taskmaster://host:port} broker: a client of a remote master over one pipelined connection.
 *
 * <p>When the connection drops, requests in flight fail with {@link BrokerUnavailableException} (a put's outcome is
 * then unknown; a lease's tasks return to the queue on the master), and the broker reconnects in the background
 * with capped exponential backoff, saying so once in the log. Waits for results are not lost: the master keeps
 * results, so they are asked for again on the new connection.
 */
public final class RemoteBroker implements Broker {
  private static final Logger log = LoggerFactory.getLogger(RemoteBroker.class);
  /** Room above the frame limit for the envelope of a maximal payload. */
  private static final int FRAME_SLACK_BYTES = 64 * 1024;
  /** The longest wait a LEASE may ask for (docs/protocol.md, section 8); a longer lease asks again. */
  private static final long MAX_LEASE_WAIT_MILLIS = 60_000;
  /** Waits beyond this (about 292 years) count as for ever: their nanoseconds would not fit a long. */
  private static final Duration LONGEST_WAIT = Duration.ofNanos(Long.MAX_VALUE);

  private final String host;
  private final int port;
  private final String target;
  private final BrokerOptions options;
  private final FrameLimit frameLimit;
  private final Map<String, CompletableFuture<TaskResult>> resultWaits = new ConcurrentHashMap<>();
  /** Progress listeners of tasks this client submitted, until their results arrive. */
  private final Map<String, Consumer<TaskProgress>> progressWatchers = new ConcurrentHashMap<>();
  private final List<LongConsumer> stopListeners = new CopyOnWriteArrayList<>();
  private final Object reconnectLock = new Object();
  /** Set while this thread runs {@link #pipelined}: its requests wait in the link until the end. */
  private final ThreadLocal<Boolean> pipelining = ThreadLocal.withInitial(() -> false);
  private volatile Connection connection;
  private volatile boolean closed;
  /** Where a caller waiting for a result reads it: the connection of the moment (see {@link SocketLink}). */
  private final CallerReads currentConnection = this::readUntil;

  private RemoteBroker(String host, int port, BrokerOptions options) {
    this.host = host;
    this.port = port;
    this.target = host + ":" + port;
    this.options = options;
    this.frameLimit = new FrameLimit(options.maxFrameBytes());
  }

  /**
   * Connects and authenticates, waiting up to the connect timeout. Throws {@link AuthenticationException} on a key
   * mismatch and {@link BrokerUnavailableException} when the master cannot be reached.
   */
  public static RemoteBroker connect(String host, int port, BrokerOptions options) {
    RemoteBroker broker = new RemoteBroker(host, port, options);
    broker.connection = broker.openConnection();
    if (!broker.connection.isOpen()) {
      broker.onClosed(broker.connection); // lost between the handshake and now: its close went unheard
    }
    return broker;
  }

  /** Connects, authenticates and names the connection, all within one connect timeout. */
  private Connection openConnection() {
    long deadline = System.nanoTime() + options.connectTimeout().toNanos();
    ClientHandshake handshake = new ClientHandshake(options.authKey(), target, frameLimit);
    Connection fresh = new Connection(target, handshake, this::onClosed, this::onPushed, options.silenceTimeout());
    int maxReadBytes = options.maxFrameBytes() + FRAME_SLACK_BYTES;
    try {
      SocketLink.connect(host, port, options.connectTimeout(), maxReadBytes, frameLimit, fresh);
    } catch (IOException e) {
      throw new BrokerUnavailableException("cannot reach the master at " + target + ": " + e.getMessage()
          + "; is it running, and is the port right?", e);
    }
    try {
      fresh.ready.get(untilDeadline(deadline), TimeUnit.NANOSECONDS);
      if (options.clientName() != null) {
        name(fresh, options.clientName(), deadline);
      }
      return fresh;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      fresh.close();
      throw new BrokerUnavailableException("interrupted while connecting to " + target, e);
    } catch (ExecutionException e) {
      fresh.close();
      throw e.getCause() instanceof RuntimeException runtime ? runtime : new BrokerUnavailableException(
          "cannot connect to " + target + ": " + e.getCause(), e.getCause());
    } catch (TimeoutException e) {
      fresh.close();
      throw new BrokerUnavailableException("the master at " + target + " did not complete the handshake"
          + (options.clientName() != null ? " and NAME" : "") + " within " + options.connectTimeout().toMillis()
          + " ms", e);
    }
  }

  /** Sends NAME before any other request can use the connection, so every lease on it is held under the name. */
  private void name(Connection fresh, String clientName, long deadline) throws InterruptedException,
      TimeoutException {
    try {
      fresh.request(new Message.Name(clientName)).get(untilDeadline(deadline), TimeUnit.NANOSECONDS);
    } catch (ExecutionException e) {
      fresh.close();
      if (e.getCause() instanceof BrokerException refused && "UNKNOWN_OPCODE".equals(refused.code())) {
        throw new BrokerUnavailableException("the master at " + target + " does not know NAME, which names this "
            + "client ('" + clientName + "'): it is older than this client; upgrade the master", refused);
      }
      throw e.getCause() instanceof RuntimeException runtime ? runtime : new BrokerUnavailableException(
          "cannot name this client on the master at " + target + ": " + e.getCause(), e.getCause());
    }
  }

  private static long untilDeadline(long deadline) {
    return Math.max(0, deadline - System.nanoTime());
  }

  private void onClosed(Connection lost) {
    if (closed || lost != connection) {
      return;
    }
    Thread reconnector = new Thread(() -> reconnect(lost), "taskmaster-reconnect-" + target);
    reconnector.setDaemon(true);
    reconnector.start();
  }

  private void reconnect(Connection lost) {
    synchronized (reconnectLock) {
      if (closed || lost != connection) {
        return;
      }
      log.warn("lost the connection to the master at {}; reconnecting with backoff", target);
      Backoff backoff = new Backoff(Duration.ofMillis(50), Duration.ofSeconds(5));
      boolean saidAuth = false;
      while (!closed) {
        try {
          Connection fresh = openConnection();
          connection = fresh;
          if (closed) {
            fresh.close(); // closed while we connected: nobody else will
            return;
          }
          if (fresh.isOpen()) {
            log.info("reconnected to the master at {} after {} attempt(s)", target, backoff.attempts() + 1);
            resultWaits.forEach((taskId, future) -> sendAwait(fresh, taskId, future));
            return;
          }
          // Lost again before it was ours to watch (its close went unheard): another attempt.
        } catch (AuthenticationException e) {
          if (!saidAuth) {
            log.error("{}; still retrying", e.getMessage());
            saidAuth = true;
          }
        } catch (RuntimeException e) {
          log.debug("reconnect to {} failed: {}", target, e.toString());
        }
        try {
          Thread.sleep(backoff.next().toMillis());
        } catch (InterruptedException e) {
          return;
        }
      }
    }
  }

  private CompletableFuture<Message> request(Message message) {
    if (closed) {
      return CompletableFuture.failedFuture(new IllegalStateException("the broker " + describe() + " is closed"));
    }
    return connection.request(message, pipelining.get());
  }

  @Override
  public void pipelined(Runnable requests) {
    if (pipelining.get()) {
      requests.run(); // nested: the outermost call sends
      return;
    }
    Connection first = connection;
    pipelining.set(true);
    try {
      requests.run();
    } finally {
      // Not remove(): a worker pipelines every settlement, and each set would make a new entry and sweep the map.
      pipelining.set(false);
      Connection last = connection;
      last.flush();
      if (first != last) {
        first.flush(); // reconnected meanwhile: the old link fails what it holds when it closes
      }
    }
  }

  /**
   * Puts in one PUT. One whose frame would be longer than the frame limit fails with FRAME_TOO_LARGE and is not
   * sent (see {@link FrameLimit}).
   */
  @Override
  public CompletableFuture<Void> put(List<TaskMessage> tasks) {
    BrokerException tooLarge = frameLimit.checkPut(tasks);
    return tooLarge != null ? CompletableFuture.failedFuture(tooLarge)
        : request(new Message.Put(tasks)).thenApply(response -> null);
  }

  /** One SUBMIT request: the master acknowledges the put and pushes each result when its task is settled. */
  @Override
  public Submission submit(List<TaskMessage> tasks) {
    List<CompletableFuture<TaskResult>> results = new ArrayList<>(tasks.size());
    for (TaskMessage task : tasks) {
      CompletableFuture<TaskResult> future = new AnswerFuture<>(currentConnection);
      CompletableFuture<TaskResult> existing = resultWaits.putIfAbsent(task.id(), future);
      if (existing != null) {
        results.add(existing);
        continue;
      }
      future.whenComplete((result, error) -> resultWaits.remove(task.id(), future));
      results.add(future);
    }
    BrokerException tooLarge = frameLimit.checkPut(tasks);
    CompletableFuture<Void> accepted = tooLarge != null ? CompletableFuture.failedFuture(tooLarge)
        : request(new Message.Submit(tasks)).thenApply(response -> null);
    accepted.whenComplete((ok, error) -> {
      if (error != null && !(unwrap(error) instanceof BrokerUnavailableException)) {
        // Refused: no result will come. (A lost connection keeps the waits: the put may have landed.)
        for (int i = 0; i < tasks.size(); i++) {
          results.get(i).completeExceptionally(unwrap(error));
        }
      }
    });
    return new Submission(accepted, results);
  }

  private void onPushed(Message message) {
    if (message instanceof Message.Result pushed) {
      onPushedResult(pushed.result());
    } else if (message instanceof Message.StopTask stop) {
      stopListeners.forEach(listener -> listener.accept(stop.leaseId()));
    } else if (message instanceof Message.ProgressUpdate update) {
      Consumer<TaskProgress> watcher = progressWatchers.get(update.progress().taskId());
      if (watcher != null) {
        watcher.accept(update.progress());
      }
    }
  }

  @Override
  public void onCancelRequested(LongConsumer listener) {
    stopListeners.add(listener);
  }

  @Override
  public void watchProgress(String taskId, Consumer<TaskProgress> listener) {
    progressWatchers.put(taskId, listener);
  }

  @Override
  public CompletableFuture<SettleStatus> progress(long leaseId, long done, long total, String message) {
    return request(new Message.Progress(leaseId, done, total, message))
        .thenApply(response -> ((Message.Progressed) response).status());
  }

  private void onPushedResult(TaskResult result) {
    progressWatchers.remove(result.taskId());
    CompletableFuture<TaskResult> future = resultWaits.get(result.taskId());
    if (future != null) {
      future.complete(result);
    }
  }

  /**
   * Waits the whole {@code wait}, however long: a master answers a LEASE empty after at most a minute (the protocol's
   * cap), so while time is left an empty answer sends the LEASE again for the rest. A caller that stops waiting
   * (cancels the future, or completes it itself) stops the asking too, and tasks that reach it afterwards go back to
   * their queue untried, instead of staying leased to nobody until their lease expires.
   */
  @Override
  public CompletableFuture<List<Delivery>> lease(String queue, int max, Duration wait) {
    CompletableFuture<List<Delivery>> leased = new AnswerFuture<>(currentConnection);
    long waitNanos = wait.isNegative() ? 0 : wait.compareTo(LONGEST_WAIT) >= 0 ? Long.MAX_VALUE : wait.toNanos();
    leaseFor(queue, max, System.nanoTime(), waitNanos, leased);
    return leased;
  }

  /** Sends one LEASE for the time left of {@code waitNanos} since {@code start}, at most the protocol's cap. */
  private void leaseFor(String queue, int max, long start, long waitNanos, CompletableFuture<List<Delivery>> leased) {
    long leftNanos = waitNanos - (System.nanoTime() - start);
    // Rounded up: a master that waits as asked answers only once the time is up, so it is never asked again.
    int waitMillis = leftNanos <= 0 ? 0 : (int) Math.min(MAX_LEASE_WAIT_MILLIS, (leftNanos + 999_999) / 1_000_000);
    request(new Message.Lease(queue, max, waitMillis)).whenComplete((response, error) -> {
      if (error != null) {
        leased.completeExceptionally(unwrap(error));
        return;
      }
      List<Delivery> deliveries = ((Message.Leased) response).deliveries();
      if (deliveries.isEmpty() && !leased.isDone() && !closed && waitNanos - (System.nanoTime() - start) > 0) {
        leaseFor(queue, max, start, waitNanos, leased); // answered at the master's cap, before our time is up
      } else if (!leased.complete(deliveries) && !deliveries.isEmpty()) {
        log.debug("{} task(s) leased from queue '{}' after their caller stopped waiting; releasing them",
            deliveries.size(), queue);
        settle(deliveries.stream().map(delivery -> Settlement.release(delivery.leaseId())).toList());
      }
    });
  }

  /**
   * Settles in one SETTLE, or in several, in order, when together the settlements would not fit a frame (the master
   * takes each on its own anyway). When one does not fit even alone (a result or an error longer than the frame
   * limit), the future fails with FRAME_TOO_LARGE and none is sent: the caller decides what becomes of that task,
   * as the worker does by failing it, and settles the others again.
   */
  @Override
  public CompletableFuture<List<SettleStatus>> settle(List<Settlement> settlements) {
    List<List<Settlement>> frames;
    try {
      frames = frameLimit.settleFrames(settlements);
    } catch (BrokerException tooLarge) {
      return CompletableFuture.failedFuture(tooLarge);
    }
    CompletableFuture<List<SettleStatus>> settled = settleOne(frames.get(0));
    for (List<Settlement> frame : frames.subList(1, frames.size())) {
      settled = settled.thenCombine(settleOne(frame), (before, these) -> {
        List<SettleStatus> all = new ArrayList<>(before);
        all.addAll(these);
        return all;
      });
    }
    return settled;
  }

  private CompletableFuture<List<SettleStatus>> settleOne(List<Settlement> settlements) {
    return request(new Message.Settle(settlements)).thenApply(response -> ((Message.Settled) response).statuses());
  }

  @Override
  public CompletableFuture<CancelOutcome> cancel(String taskId) {
    return request(new Message.Cancel(taskId)).thenApply(response -> ((Message.Cancelled) response).outcome());
  }

  @Override
  public CompletableFuture<DeadLetters> deadLetters(String queue, int offset, int limit) {
    return request(new Message.DeadList(queue, offset, limit))
        .thenApply(response -> ((Message.DeadListed) response).deadLetters());
  }

  @Override
  public CompletableFuture<Long> retryDeadLetters(String queue, List<String> taskIds) {
    return request(new Message.DeadRetry(queue, taskIds)).thenApply(response -> ((Message.DeadRetried) response).count());
  }

  @Override
  public CompletableFuture<Long> purgeDeadLetters(String queue) {
    return request(new Message.DeadPurge(queue)).thenApply(response -> ((Message.DeadPurged) response).count());
  }

  @Override
  public CompletableFuture<List<SettleStatus>> extend(List<Long> leaseIds) {
    return request(new Message.Extend(leaseIds)).thenApply(response -> ((Message.Extended) response).statuses());
  }

  @Override
  public CompletableFuture<TaskResult> result(String taskId) {
    CompletableFuture<TaskResult> future = new AnswerFuture<>(currentConnection);
    CompletableFuture<TaskResult> existing = resultWaits.putIfAbsent(taskId, future);
    if (existing != null) {
      return existing;
    }
    future.whenComplete((result, error) -> resultWaits.remove(taskId, future));
    if (closed) {
      future.completeExceptionally(new IllegalStateException("the broker " + describe() + " is closed"));
    } else {
      sendAwait(connection, taskId, future);
    }
    return future;
  }

  private void sendAwait(Connection via, String taskId, CompletableFuture<TaskResult> future) {
    via.request(new Message.AwaitResult(taskId)).whenComplete((response, error) -> {
      if (error == null) {
        future.complete(((Message.Result) response).result());
      } else if (!(unwrap(error) instanceof BrokerUnavailableException) || closed) {
        future.completeExceptionally(unwrap(error));
      }
      // A lost connection keeps the wait registered: reconnect() asks again.
    });
  }

  private void readUntil(CompletableFuture<?> answer, long timeoutNanos, boolean interruptible) {
    Connection current = connection;
    if (current != null) {
      current.readUntil(answer, timeoutNanos, interruptible);
    }
  }

  private static Throwable unwrap(Throwable error) {
    return error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
  }

  @Override
  public CompletableFuture<Long> size(String queue) {
    return request(new Message.Size(queue)).thenApply(response -> ((Message.SizeOk) response).size());
  }

  /** Round trip to the master; useful as a health check. */
  public CompletableFuture<Void> ping() {
    return request(new Message.Ping()).thenApply(response -> null);
  }

  @Override
  public String describe() {
    return "taskmaster://" + target;
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    Connection current = connection;
    if (current != null) {
      current.close();
    }
    BrokerUnavailableException error = new BrokerUnavailableException("the broker " + describe() + " was closed");
    resultWaits.values().forEach(future -> future.completeExceptionally(error));
  }
}
