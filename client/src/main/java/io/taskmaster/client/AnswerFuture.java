package io.taskmaster.client;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The future of an answer from the master: a caller that waits on it ({@link #join()}, {@link #get()}) first reads
 * the connection itself, if it may ({@link CallerReads}). Stages made from it ({@code thenApply}, {@code thenCombine}
 * and so on) are answer futures of the same connection, so a caller waiting on a task's decoded result reads too.
 */
final class AnswerFuture<T> extends CompletableFuture<T> {
  private final CallerReads connection;

  AnswerFuture(CallerReads connection) {
    this.connection = connection;
  }

  @Override
  public <U> CompletableFuture<U> newIncompleteFuture() {
    return new AnswerFuture<>(connection);
  }

  @Override
  public T join() {
    if (!isDone()) {
      connection.readUntil(this, CallerReads.NO_TIMEOUT, false);
    }
    return super.join();
  }

  @Override
  public T get() throws InterruptedException, ExecutionException {
    if (!isDone()) {
      connection.readUntil(this, CallerReads.NO_TIMEOUT, true);
    }
    return super.get();
  }

  @Override
  public T get(long timeout, TimeUnit unit) throws InterruptedException, ExecutionException, TimeoutException {
    if (isDone()) {
      return super.get(timeout, unit);
    }
    long start = System.nanoTime();
    long nanos = unit.toNanos(timeout);
    connection.readUntil(this, nanos, true);
    return super.get(Math.max(0, nanos - (System.nanoTime() - start)), TimeUnit.NANOSECONDS);
  }
}
