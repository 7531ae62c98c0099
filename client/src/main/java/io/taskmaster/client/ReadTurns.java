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
 * when it is free. When a caller leaves it, the first caller still waiting for its answer is offered the turn; with
 * none, the reader thread reads once {@link #HAND_BACK_NANOS} have passed without a caller taking the turn, or at
 * once if another request of the connection waits for its answer. After each read of its own, the reader thread
 * offers the turn to a waiting caller the same way.
 *
 * <p>While callers read, the reader thread naps and looks again, rather than being woken each time a caller leaves:
 * a wake-up costs about what a task's whole round trip does on a small virtual machine, and a worker whose task
 * thread reads each lease itself used to wake its reader twice per task for nothing (docs/benchmarks.md, session
 * 2026-12-05). Its nap is {@link #HAND_BACK_NANOS} while the turn changes hands, and doubles up to
 * {@link #READER_LONGEST_NAP_NANOS} while one caller keeps it (a long join); a caller leaving after such a long hold
 * wakes it. So nobody reads for at most about two hand-backs after the last caller left.
 */
final class ReadTurns {
  /** How long the reader thread leaves the socket to callers after one read its own answer. */
  static final long HAND_BACK_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
  /** The longest the reader thread naps while one caller keeps reading. */
  static final long READER_LONGEST_NAP_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

  private final Thread reader;
  /** Whether a request of the connection still waits for its answer. */
  private final BooleanSupplier answersAwaited;
  private final AtomicReference<Thread> holder = new AtomicReference<>();
  private final ConcurrentLinkedQueue<Waiter> waiting = new ConcurrentLinkedQueue<>();
  /** The reader thread does not read before this {@link System#nanoTime()}: a caller may be about to. */
  private volatile long readerResumesAt = System.nanoTime();
  /** Callers' takes of the turn so far: the reader thread sees from it whether the turn changed hands. */
  private volatile long callerTurns;
  /** How long the reader thread naps while a caller reads; only the reader thread writes it. */
  private volatile long readerNapNanos = HAND_BACK_NANOS;
  /** Set while the reader thread naps because a caller reads. */
  private volatile boolean readerNaps;
  /** {@link #callerTurns} when the reader thread last looked; only the reader thread touches it. */
  private long callerTurnsSeen;

  private final Parking parking;

  ReadTurns(Thread reader, BooleanSupplier answersAwaited) {
    this(reader, answersAwaited, Parking.LOCK_SUPPORT);
  }

  ReadTurns(Thread reader, BooleanSupplier answersAwaited, Parking parking) {
    this.reader = reader;
    this.answersAwaited = answersAwaited;
    this.parking = parking;
  }

  /** How the reader thread naps and threads are woken: {@link LockSupport}, but in tests that watch the rules. */
  interface Parking {
    Parking LOCK_SUPPORT = new Parking() {
      @Override
      public void parkNanos(Object blocker, long nanos) {
        LockSupport.parkNanos(blocker, nanos);
      }

      @Override
      public void unpark(Thread thread) {
        LockSupport.unpark(thread);
      }
    };

    void parkNanos(Object blocker, long nanos);

    void unpark(Thread thread);
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
      callerTurns++; // only the thread holding the turn writes it
      waiting.remove(waiter);
      return true;
    }
    return false;
  }

  /** A queued caller goes without having read (its answer came, its time is up): one offered the turn offers it on. */
  void leave(Waiter waiter) {
    if (waiting.remove(waiter) && holder.get() == null) {
      handOn();
    }
  }

  /** The caller holding the turn has its answer and leaves it. */
  void release(Thread caller) {
    readerResumesAt = System.nanoTime() + HAND_BACK_NANOS;
    holder.compareAndSet(caller, null);
    handOn();
  }

  /**
   * The turn is free: it goes to the first caller still waiting for its answer; with none, the reader thread reads
   * at once if a request waits for its answer, else after the hand-back, woken only from a long nap.
   */
  private void handOn() {
    if (wakeWaiters(true) == Woken.ONE_TO_READ) {
      return; // that caller takes the turn, or leaves and hands it on in turn
    }
    if (answersAwaited.getAsBoolean()) {
      readerResumesAt = System.nanoTime();
      parking.unpark(reader);
    } else if (readerNaps && readerNapNanos > HAND_BACK_NANOS) {
      parking.unpark(reader);
    }
  }

  /**
   * On the reader thread: takes the turn if it is the reader's, else sleeps as the rules say and returns false (to
   * be asked again).
   */
  boolean readerTakes() {
    Thread.interrupted(); // park returns at once while the flag is set: never spin on it
    if (holder.get() != null) {
      long turns = callerTurns;
      long nap = turns == callerTurnsSeen ? Math.min(readerNapNanos * 2, READER_LONGEST_NAP_NANOS) : HAND_BACK_NANOS;
      callerTurnsSeen = turns;
      readerNapNanos = nap;
      readerNaps = true;
      if (holder.get() != null) {
        parking.parkNanos(this, nap);
      }
      readerNaps = false;
      return false;
    }
    long wait = readerResumesAt - System.nanoTime();
    if (wait > 0) {
      parking.parkNanos(this, wait);
      return false;
    }
    readerNapNanos = HAND_BACK_NANOS;
    return holder.compareAndSet(null, reader);
  }

  /**
   * On the reader thread, after a read: leaves the turn, to a waiting caller first. It also steps back for the
   * hand-back after it answered a caller, unless another request waits for its answer: that caller is likely to ask
   * again at once, and it should read that answer itself. Without this the reader, back in a read before the caller
   * asked again, kept the turn for good and woke the caller for every answer (CallerReadsTest).
   */
  void readerDone() {
    holder.set(null);
    long now = System.nanoTime();
    Woken woken = wakeWaiters(true);
    if (woken == Woken.ONE_TO_READ || woken == Woken.ANSWERED_ONLY && !answersAwaited.getAsBoolean()) {
      readerResumesAt = now + HAND_BACK_NANOS;
    }
  }

  /** Wakes the queued callers whose answers are in (after a read, or once the connection failed them all). */
  void wakeAnswered() {
    wakeWaiters(false);
  }

  /** Wakes the reader thread, to see that the link closed. */
  void wakeReader() {
    parking.unpark(reader);
  }

  /** Whom {@link #wakeWaiters} woke. */
  private enum Woken { NONE, ANSWERED_ONLY, ONE_TO_READ }

  /**
   * Wakes the queued callers whose answers are in and, with {@code offer}, the first one whose answer is not, to
   * read; says whether it woke one to read, else whether it woke any.
   */
  private Woken wakeWaiters(boolean offer) {
    boolean offered = false;
    boolean answered = false;
    for (Waiter waiter : waiting) {
      if (waiter.answer.isDone()) {
        parking.unpark(waiter.thread);
        answered = true;
      } else if (offer && !offered) {
        parking.unpark(waiter.thread);
        offered = true;
      }
    }
    return offered ? Woken.ONE_TO_READ : answered ? Woken.ANSWERED_ONLY : Woken.NONE;
  }
}
