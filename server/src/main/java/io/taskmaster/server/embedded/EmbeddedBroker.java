package io.taskmaster.server.embedded;

import io.taskmaster.broker.Broker;
import io.taskmaster.broker.BrokerException;
import io.taskmaster.broker.CancelOutcome;
import io.taskmaster.broker.DeadLetters;
import io.taskmaster.broker.Delivery;
import io.taskmaster.broker.SettleStatus;
import io.taskmaster.broker.Settlement;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.broker.TaskResult;
import io.taskmaster.server.engine.EngineException;
import io.taskmaster.server.engine.LeaseWaiter;
import io.taskmaster.server.engine.QueueEngine;
import io.taskmaster.time.Timers;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A broker over a queue engine in this JVM: no sockets, no serialization beyond the JSON payloads. Each instance is
 * one owner of leases; {@link #close()} returns its leases to their queues, as a dropped connection does for a
 * remote client.
 */
public final class EmbeddedBroker implements Broker {
  /** Ends waiting lease requests at their deadline; one daemon thread for every embedded broker. */
  private static final ScheduledExecutorService TIMER = Timers.singleThread(runnable -> {
    Thread thread = new Thread(runnable, "taskmaster-embedded-timer");
    thread.setDaemon(true);
    return thread;
  });

  /** Completes the futures of durable commands, off the journal's writer thread. */
  private static final java.util.concurrent.ExecutorService ACKNOWLEDGER = Executors.newCachedThreadPool(runnable -> {
    Thread thread = new Thread(runnable, "taskmaster-embedded-ack");
    thread.setDaemon(true);
    return thread;
  });

  private final QueueEngine engine;
  private final String name;
  private final long owner = io.taskmaster.server.engine.Owners.next();
  private final AtomicBoolean closed = new AtomicBoolean();

  private final List<java.util.function.LongConsumer> stopListeners =
      new java.util.concurrent.CopyOnWriteArrayList<>();

  public EmbeddedBroker(QueueEngine engine, String name) {
    this.engine = engine;
    this.name = name;
    engine.onCancelRequested(owner, leaseId -> stopListeners.forEach(listener -> listener.accept(leaseId)));
  }

  @Override
  public void onCancelRequested(java.util.function.LongConsumer listener) {
    stopListeners.add(listener);
  }

  /**
   * Puts the tasks and registers for their results and progress in the same engine command, so that no report or
   * result of a fast worker can come before anyone listens.
   */
  @Override
  public io.taskmaster.broker.Submission submit(List<TaskMessage> tasks) {
    List<CompletableFuture<TaskResult>> futures = new java.util.ArrayList<>(tasks.size());
    for (int i = 0; i < tasks.size(); i++) {
      futures.add(new CompletableFuture<>());
    }
    // One task (a pool's applyAsync) needs no map from id to future.
    java.util.Map<String, CompletableFuture<TaskResult>> byId = tasks.size() == 1 ? null : new java.util.HashMap<>();
    if (byId != null) {
      for (int i = 0; i < tasks.size(); i++) {
        byId.put(tasks.get(i).id(), futures.get(i));
      }
    }
    CompletableFuture<Void> accepted = durably(() -> {
      engine.put(tasks, owner, result -> afterDurable(result).whenComplete((value, error) -> {
        progressWatchers.remove(result.taskId());
        CompletableFuture<TaskResult> future = byId == null ? futures.get(0) : byId.get(result.taskId());
        if (error == null) {
          future.complete(value);
        } else {
          future.completeExceptionally(error);
        }
      }), report -> {
        java.util.function.Consumer<io.taskmaster.broker.TaskProgress> watcher =
            progressWatchers.get(report.taskId());
        if (watcher != null) {
          watcher.accept(report);
        }
      });
      return null;
    });
    if (!accepted.isDone() || accepted.isCompletedExceptionally()) { // a refused put, or one that may yet fail
      accepted.whenComplete((ok, error) -> {
        if (error != null) {
          futures.forEach(future -> future.completeExceptionally(error));
        }
      });
    }
    return new io.taskmaster.broker.Submission(accepted, futures);
  }

  @Override
  public CompletableFuture<Void> put(List<TaskMessage> tasks) {
    return durably(() -> {
      engine.put(tasks);
      return null;
    });
  }

  @Override
  public CompletableFuture<List<Delivery>> lease(String queue, int max, Duration wait) {
    CompletableFuture<List<Delivery>> future = new CompletableFuture<>();
    if (failIfClosed(future)) {
      return future;
    }
    try {
      boolean waits = !wait.isZero() && !wait.isNegative();
      LeaseWaiter waiter = engine.lease(owner, queue, max, waits, deliveries -> {
        if (!future.complete(deliveries) && !deliveries.isEmpty()) {
          // Its caller cancelled it (an interrupted take): the tasks go back now, not when their leases run out.
          settle(deliveries.stream().map(delivery -> Settlement.release(delivery.leaseId())).toList());
        }
      });
      if (waiter != null) {
        TIMER.schedule(() -> engine.cancel(waiter), wait.toNanos(), TimeUnit.NANOSECONDS);
        future.whenComplete((deliveries, error) -> {
          if (future.isCancelled()) {
            engine.cancel(waiter);
          }
        });
      }
    } catch (EngineException e) {
      future.completeExceptionally(translate(e));
    }
    return future;
  }

  @Override
  public CompletableFuture<List<SettleStatus>> settle(List<Settlement> settlements) {
    return durably(() -> engine.settle(owner, settlements));
  }

  @Override
  public CompletableFuture<CancelOutcome> cancel(String taskId) {
    return durably(() -> engine.cancel(taskId));
  }

  @Override
  public CompletableFuture<DeadLetters> deadLetters(String queue, int offset, int limit) {
    return call(() -> engine.deadLetters(queue, offset, limit));
  }

  @Override
  public CompletableFuture<Long> retryDeadLetters(String queue, List<String> taskIds) {
    return durably(() -> engine.retryDeadLetters(queue, taskIds));
  }

  @Override
  public CompletableFuture<Long> purgeDeadLetters(String queue) {
    return durably(() -> engine.purgeDeadLetters(queue));
  }

  @Override
  public CompletableFuture<List<SettleStatus>> extend(List<Long> leaseIds) {
    return call(() -> engine.extend(owner, leaseIds));
  }

  /** Progress listeners of tasks this broker's producer submitted, until their results arrive. */
  private final java.util.Map<String, java.util.function.Consumer<io.taskmaster.broker.TaskProgress>> progressWatchers =
      new java.util.concurrent.ConcurrentHashMap<>();

  @Override
  public CompletableFuture<SettleStatus> progress(long leaseId, long done, long total, String message) {
    return call(() -> engine.progress(owner, leaseId, done, total, message));
  }

  @Override
  public void watchProgress(String taskId, java.util.function.Consumer<io.taskmaster.broker.TaskProgress> listener) {
    progressWatchers.put(taskId, listener);
  }

  @Override
  public CompletableFuture<TaskResult> result(String taskId) {
    CompletableFuture<TaskResult> future = new CompletableFuture<>();
    if (failIfClosed(future)) {
      return future;
    }
    try {
      engine.awaitResult(owner, taskId, result -> afterDurable(result).whenComplete((value, error) -> {
        progressWatchers.remove(taskId);
        if (error == null) {
          future.complete(value);
        } else {
          future.completeExceptionally(error);
        }
      }), report -> {
        java.util.function.Consumer<io.taskmaster.broker.TaskProgress> watcher = progressWatchers.get(taskId);
        if (watcher != null) {
          watcher.accept(report);
        }
      });
    } catch (EngineException e) {
      future.completeExceptionally(translate(e));
    }
    return future;
  }

  @Override
  public CompletableFuture<Long> size(String queue) {
    return call(() -> engine.size(queue));
  }

  @Override
  public String describe() {
    return "embedded:" + name;
  }

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      engine.disconnect(owner, name == null ? "" : name);
    }
  }

  private interface Command<T> {
    T run();
  }

  private <T> CompletableFuture<T> call(Command<T> command) {
    CompletableFuture<T> future = new CompletableFuture<>();
    if (failIfClosed(future)) {
      return future;
    }
    try {
      future.complete(command.run());
    } catch (EngineException e) {
      future.completeExceptionally(translate(e));
    }
    return future;
  }

  /**
   * Runs a command that changes state; its future completes once the change is durable (with a journal), on a
   * thread of this class: never on the journal's writer, which a caller's continuation must not hold up.
   */
  private <T> CompletableFuture<T> durably(Command<T> command) {
    CompletableFuture<T> future = call(command);
    return future.isCompletedExceptionally() ? future : future.thenCompose(this::afterDurable);
  }

  private <T> CompletableFuture<T> afterDurable(T value) {
    CompletableFuture<Void> durable = engine.durable();
    if (durable.isDone() && !durable.isCompletedExceptionally()) {
      return CompletableFuture.completedFuture(value);
    }
    return durable.handleAsync((ok, error) -> {
      if (error != null) {
        Throwable cause = error instanceof java.util.concurrent.CompletionException ? error.getCause() : error;
        throw new java.util.concurrent.CompletionException(cause instanceof EngineException engineError
            ? translate(engineError) : cause);
      }
      return value;
    }, ACKNOWLEDGER);
  }

  private boolean failIfClosed(CompletableFuture<?> future) {
    if (closed.get()) {
      future.completeExceptionally(new IllegalStateException("the broker " + describe() + " is closed"));
      return true;
    }
    return false;
  }

  private static BrokerException translate(EngineException e) {
    return new BrokerException(e.reason().name(), e.getMessage());
  }
}
