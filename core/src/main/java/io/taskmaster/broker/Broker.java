package io.taskmaster.broker;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Where queues live. Every user-facing API (producer, worker, raw queues, the CLI) is written once against this
 * interface; {@link Brokers#open} picks the implementation from a URI ({@code embedded:}, {@code
 * taskmaster://host:port}).
 *
 * <p>All calls are asynchronous and batch-shaped: a single task is a batch of one. Futures fail with {@link
 * BrokerException} (or a subclass) for broker-reported errors and {@link BrokerUnavailableException} when the broker
 * cannot be reached; the outcome of a put that failed with the latter is unknown.
 */
public interface Broker extends AutoCloseable {

  /** Appends tasks to their queues, in order. Completes once the broker has accepted (acknowledged) all of them. */
  CompletableFuture<Void> put(List<TaskMessage> tasks);

  /**
   * Leases up to {@code max} ready tasks from {@code queue}. Leased tasks are invisible to other consumers until they
   * are settled, or until this consumer goes away. Waits up to {@code wait} for a first task; completes with an empty
   * list when none arrived in time.
   */
  CompletableFuture<List<Delivery>> lease(String queue, int max, Duration wait);

  /** Settles leases (ack with a result, fail with an error, or release back to the queue). */
  CompletableFuture<List<SettleStatus>> settle(List<Settlement> settlements);

  /**
   * Runs {@code requests}, which call this broker, and lets a remote broker send what this thread asks for inside it
   * in one write when it returns instead of one write each: a worker's settlement and its next lease, say. The
   * futures behave as without it, except that nothing is sent before {@code requests} returns: it must not wait
   * for the answer of a request it makes. Other brokers just run it.
   */
  default void pipelined(Runnable requests) {
    requests.run();
  }

  /**
   * Puts tasks and waits for their results in one step. A remote broker sends both in one request, and the master
   * pushes each result when its task is settled; other brokers may simply combine {@link #put} and {@link #result}.
   */
  default Submission submit(List<TaskMessage> tasks) {
    CompletableFuture<Void> accepted = put(tasks);
    List<CompletableFuture<TaskResult>> results = new java.util.ArrayList<>(tasks.size());
    for (TaskMessage task : tasks) {
      results.add(result(task.id()));
    }
    return new Submission(accepted, results);
  }

  /**
   * Extends leases this consumer holds by their queue's lease timeout, counted from now. A lease that already
   * expired (or was settled) answers {@link SettleStatus#UNKNOWN_LEASE}: its task went, or goes, to another consumer.
   */
  CompletableFuture<List<SettleStatus>> extend(List<Long> leaseIds);

  /**
   * Reports the progress of a task this client holds the lease of; producers watching the task see it. Not
   * durable: a report lost with a connection or a master restart is simply superseded by the next.
   */
  default CompletableFuture<SettleStatus> progress(long leaseId, long done, long total, String message) {
    return CompletableFuture.completedFuture(SettleStatus.OK);
  }

  /**
   * Calls {@code listener} with the progress reports of a task this client submitted, until its result arrives.
   * Register before submitting, so that no report is missed.
   */
  default void watchProgress(String taskId, java.util.function.Consumer<TaskProgress> listener) {}

  /**
   * Calls {@code listener} with the lease id of each task this client holds whose producer cancelled it
   * ({@link CancelOutcome#STOPPING}), so that a worker can interrupt its handler. Listeners stay for the life of the
   * broker.
   */
  default void onCancelRequested(java.util.function.LongConsumer listener) {}

  /** Completes when the task is settled with a final outcome; never polls. */
  CompletableFuture<TaskResult> result(String taskId);

  /**
   * Cancels a task: one that has not started never runs; the worker running one is asked to stop it. See {@link
   * CancelOutcome}.
   */
  CompletableFuture<CancelOutcome> cancel(String taskId);

  /** A page of the queue's dead letters (tasks that used up their attempts), oldest first. */
  CompletableFuture<DeadLetters> deadLetters(String queue, int offset, int limit);

  /**
   * Puts dead letters back at the tail of their queue with fresh attempts: those named, or every one when {@code
   * taskIds} is empty. Completes with how many were requeued.
   */
  CompletableFuture<Long> retryDeadLetters(String queue, List<String> taskIds);

  /** Deletes the queue's dead letters; completes with how many were deleted. */
  CompletableFuture<Long> purgeDeadLetters(String queue);

  /** The number of ready (not leased) tasks in the queue. */
  CompletableFuture<Long> size(String queue);

  /** A short description for logs and errors, without secrets: {@code taskmaster://127.0.0.1:5000}. */
  String describe();

  /** Releases this client's leases and connections. Idempotent. */
  @Override
  void close();
}
