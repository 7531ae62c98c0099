package io.taskmaster.client;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * Whose turn it is to read a {@link SocketLink}'s socket: one thread at a time, its reader thread or a caller
 * waiting for an answer. Callers that wait queue up; the one holding the turn hands frames to the connection and,
 * after each read, wakes the waiting callers whose answers are in.
 *
 * <p>The rules, so that a caller reads its own answer when it can and someone always reads: a caller takes the turn
 * when it is free. When a caller leaves it, the first caller still waiting for its answer is offered the turn, and
 * the reader thread is woken, to read after {@link #HAND_BACK_NANOS} unless a caller took the turn by then; at once
 * if another request of the connection waits for its answer. After each read of its own, the reader thread offers
 * the turn to a waiting caller the same way. While a caller reads, the reader thread sleeps, and is woken when the
 * caller leaves (within {@link #READER_BACKSTOP_NANOS} at worst).
 */
final class ReadTurns {
  /** How long the reader thread leaves the socket to callers after one read its own answer. */
  static final long HAND_BACK_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
  /** The longest the reader thread sleeps while a caller reads, should the caller's wake-up go astray. */
  static final long READER_BACKSTOP_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

  private final Thread reader;
  /** Whether a request of the connection still waits for its answer. */
  private final BooleanSupplier answersAwaited;
  private final AtomicReference<Thread> holder = new AtomicReference<>();
  private final ConcurrentLinkedQueue<Waiter> waiting = new ConcurrentLinkedQueue<>();
  /** The reader thread does not read before this {@link System#nanoTime()}: a caller may be about to. */
  private volatile long readerResumesAt = System.nanoTime();
  /** Set while the reader thread sleeps until a caller leaves the turn: that caller wakes it. */
  private volatile boolean readerSleeps;

  ReadTurns(Thread reader, BooleanSupplier answersAwaited) {
    this.reader = reader;
    this.answersAwaited = answersAwaited;
  }

  /** A caller waiting for {@code answer}, ready to read the socket itself. */
  record Waiter(Thread thread, CompletableFuture<?> answer) {}

  boolean isHeldBy(Thread thread) {
    return holder.get() == thread;
  }

  /** Queues a caller that waits; it then tries {@link #take} each time it is woken. */
  Waiter queue(Thread caller, CompletableFuture<?> answer) {
    Waiter waiter = new Waiter(caller, answer);
    waiting.add(waiter);
    return waiter;
  }

  /** Takes the turn if it is free; a queued caller that gets it leaves the queue. */
  boolean take(Waiter waiter) {
    if (holder.get() == null && holder.compareAndSet(null, waiter.thread)) {
      waiting.remove(waiter);
      return true;
    }
    return false;
  }

  /** A queued caller goes without having read (its answer came, its time is up): one offered the turn offers it on. */
  void leave(Waiter waiter) {
    if (waiting.remove(waiter) && holder.get() == null) {
      offer();
    }
  }

  /** The caller holding the turn has its answer and leaves it. */
  void release(Thread caller) {
    readerResumesAt = System.nanoTime() + HAND_BACK_NANOS;
    holder.compareAndSet(caller, null);
    if (!offer() && answersAwaited.getAsBoolean()) {
      readerResumesAt = System.nanoTime();
      LockSupport.unpark(reader);
    }
  }

  /**
   * On the reader thread: takes the turn if it is the reader's, else sleeps as the rules say and returns false (to
   * be asked again).
   */
  boolean readerTakes() {
    Thread.interrupted(); // park returns at once while the flag is set: never spin on it
    if (holder.get() != null) {
      readerSleeps = true;
      if (holder.get() != null) {
        LockSupport.parkNanos(this, READER_BACKSTOP_NANOS);
      }
      readerSleeps = false;
      return false;
    }
    long wait = readerResumesAt - System.nanoTime();
    if (wait > 0) {
      LockSupport.parkNanos(this, wait);
      return false;
    }
    return holder.compareAndSet(null, reader);
  }

  /** On the reader thread, after a read: leaves the turn, to a waiting caller first. */
  void readerDone() {
    holder.set(null);
    long now = System.nanoTime();
    if (wakeWaiters(true)) {
      readerResumesAt = now + HAND_BACK_NANOS; // a caller waits for its answer: let it read it itself
    }
  }

  /** Wakes the queued callers whose answers are in (after a read, or once the connection failed them all). */
  void wakeAnswered() {
    wakeWaiters(false);
  }

  /** Wakes the reader thread, to see that the link closed. */
  void wakeReader() {
    LockSupport.unpark(reader);
  }

  /** Offers the free turn to the first caller still waiting for its answer, and wakes the reader thread. */
  private boolean offer() {
    boolean offered = wakeWaiters(true);
    if (readerSleeps) {
      LockSupport.unpark(reader); // a caller offered the turn may go without reading: then the reader must
    }
    return offered;
  }

  /**
   * Wakes the queued callers whose answers are in and, with {@code offer}, the first one whose answer is not, to
   * read; returns whether there was one.
   */
  private boolean wakeWaiters(boolean offer) {
    boolean offered = false;
    for (Waiter waiter : waiting) {
      if (waiter.answer.isDone()) {
        LockSupport.unpark(waiter.thread);
      } else if (offer && !offered) {
        LockSupport.unpark(waiter.thread);
        offered = true;
      }
    }
    return offered;
  }
}
