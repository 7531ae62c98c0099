package io.taskmaster.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The rules of {@link ReadTurns} for waking the reader thread, watched through a {@link ReadTurns.Parking} that
 * counts wake-ups and holds the reader in each nap until the test or a wake-up ends it, so no rule depends on how
 * fast this machine is. The same rules under real sockets: {@code CallerReadsTest} in the server module.
 */
class ReadTurnsTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  private final WatchedParking parking = new WatchedParking();
  private final AtomicBoolean answersAwaited = new AtomicBoolean();
  private final ReaderThread reader = new ReaderThread();
  private final ReadTurns turns = new ReadTurns(reader.thread, answersAwaited::get, parking);
  private final Thread caller = Thread.currentThread();

  @AfterEach
  void stopReader() throws InterruptedException {
    reader.stop();
  }

  @Test
  void aCallerLeavingWhileTheTurnChangesHandsLetsTheReaderNapOn() {
    takeTurn(caller);
    reader.start();
    await().atMost(TIMEOUT).until(() -> parking.naps.size() == 1);
    assertThat(parking.naps).containsExactly(ReadTurns.HAND_BACK_NANOS);

    turns.release(caller);

    assertThat(parking.wakeUps(reader.thread)).isZero(); // it looks again after its short nap: no wake-up needed
    await().atMost(TIMEOUT).until(() -> {
      parking.endNap();
      return reader.took.get() == 1; // after the hand-back, it reads
    });
    assertThat(parking.wakeUps(reader.thread)).isZero();
  }

  @Test
  void aCallerLeavingAfterALongHoldWakesTheReader() {
    takeTurn(caller);
    reader.start();
    for (int look = 1; look <= 3; look++) {
      int naps = look;
      await().atMost(TIMEOUT).until(() -> parking.naps.size() == naps);
      if (look < 3) {
        parking.endNap(); // it looks again and finds the same caller reading
      }
    }
    assertThat(parking.naps).containsExactly(ReadTurns.HAND_BACK_NANOS, 2 * ReadTurns.HAND_BACK_NANOS,
        4 * ReadTurns.HAND_BACK_NANOS);

    turns.release(caller);

    assertThat(parking.wakeUps(reader.thread)).isEqualTo(1);
    await().atMost(TIMEOUT).until(() -> {
      parking.endNap(); // the hand-back
      return reader.took.get() == 1;
    });
  }

  @Test
  void theNapOfALongHoldStopsGrowingAtItsBound() {
    takeTurn(caller);
    reader.start();
    await().atMost(TIMEOUT).until(() -> {
      parking.endNap();
      return parking.naps.size() > 12;
    });
    assertThat(parking.naps).allMatch(nap -> nap <= ReadTurns.READER_LONGEST_NAP_NANOS)
        .contains(ReadTurns.READER_LONGEST_NAP_NANOS);
  }

  @Test
  void aCallerLeavingWhileAnAnswerIsAwaitedHasTheReaderReadAtOnce() {
    takeTurn(caller);
    reader.start();
    await().atMost(TIMEOUT).until(() -> parking.naps.size() == 1);
    answersAwaited.set(true); // a request sent with a callback, say: nobody joins it

    turns.release(caller);

    assertThat(parking.wakeUps(reader.thread)).isEqualTo(1);
    await().atMost(TIMEOUT).until(() -> reader.took.get() == 1);
    assertThat(parking.naps).hasSize(1); // no hand-back
  }

  @Test
  void aCallerOfferedTheTurnThatLeavesWithoutReadingHandsItOnToTheReader() {
    Thread second = new Thread(() -> { }, "second-caller");
    CompletableFuture<Void> secondAnswer = new CompletableFuture<>();
    takeTurn(caller);
    ReadTurns.Waiter secondWaits = turns.queue(second, secondAnswer);
    reader.start();
    await().atMost(TIMEOUT).until(() -> parking.naps.size() == 1);
    answersAwaited.set(true);

    turns.release(caller);

    assertThat(parking.wakeUps(second)).isEqualTo(1); // offered the turn
    assertThat(parking.wakeUps(reader.thread)).isZero();

    secondAnswer.complete(null); // it came in the chunk the first caller read
    turns.leave(secondWaits);

    assertThat(parking.wakeUps(reader.thread)).isEqualTo(1);
    await().atMost(TIMEOUT).until(() -> reader.took.get() == 1);
  }

  @Test
  void theReaderOffersTheTurnToAWaitingCallerAfterItsRead() {
    reader.start();
    await().atMost(TIMEOUT).until(() -> reader.took.get() == 1);
    Thread waiting = new Thread(() -> { }, "waiting-caller");
    turns.queue(waiting, new CompletableFuture<>());

    reader.finishRead();

    await().atMost(TIMEOUT).until(() -> parking.wakeUps(waiting) == 1);
  }

  /** The caller it answered will likely ask again at once: the reader leaves that answer to it (CallerReadsTest). */
  @Test
  void theReaderStepsBackForTheHandBackAfterItAnsweredAWaitingCaller() {
    reader.start();
    await().atMost(TIMEOUT).until(() -> reader.took.get() == 1);
    CompletableFuture<Object> answer = new CompletableFuture<>();
    Thread waiting = new Thread(() -> { }, "waiting-caller");
    turns.queue(waiting, answer);
    answer.complete("read by the reader");

    reader.finishRead();

    await().atMost(TIMEOUT).until(() -> parking.wakeUps(waiting) == 1 && parking.naps.size() == 1);
    assertThat(parking.naps.get(0)).isPositive().isLessThanOrEqualTo(ReadTurns.HAND_BACK_NANOS);
    assertThat(reader.took).as("turns the reader took").hasValue(1);
  }

  @Test
  void theReaderReadsOnAtOnceAfterAnsweringACallerWhileAnotherAnswerIsAwaited() {
    reader.start();
    await().atMost(TIMEOUT).until(() -> reader.took.get() == 1);
    CompletableFuture<Object> answer = new CompletableFuture<>();
    turns.queue(new Thread(() -> { }, "waiting-caller"), answer);
    answer.complete("read by the reader");
    answersAwaited.set(true); // a request whose caller does not wait, such as one with a callback

    reader.finishRead();

    await().atMost(TIMEOUT).until(() -> reader.took.get() == 2);
    assertThat(parking.naps).isEmpty();
  }

  private void takeTurn(Thread thread) {
    assertThat(turns.take(turns.queue(thread, new CompletableFuture<>()))).isTrue();
  }

  /** Counts wake-ups per thread; the reader's naps last until it is woken or the test ends them. */
  private final class WatchedParking implements ReadTurns.Parking {
    final List<Long> naps = new CopyOnWriteArrayList<>();
    private final Map<Thread, AtomicInteger> wakeUps = new ConcurrentHashMap<>();
    private final Semaphore napEnds = new Semaphore(0);

    @Override
    public void parkNanos(Object blocker, long nanos) {
      naps.add(nanos);
      napEnds.acquireUninterruptibly();
    }

    @Override
    public void unpark(Thread thread) {
      wakeUps.computeIfAbsent(thread, t -> new AtomicInteger()).incrementAndGet();
      if (thread == reader.thread) {
        napEnds.release();
      }
    }

    int wakeUps(Thread thread) {
      AtomicInteger count = wakeUps.get(thread);
      return count == null ? 0 : count.get();
    }

    void endNap() {
      if (napEnds.availablePermits() == 0) {
        napEnds.release();
      }
    }
  }

  /** Loops on {@link ReadTurns#readerTakes()} as SocketLink's reader does; a turn it takes is a read that waits. */
  private final class ReaderThread {
    final Thread thread = new Thread(this::run, "reader");
    final AtomicInteger took = new AtomicInteger();
    private final Semaphore readEnds = new Semaphore(0);
    private volatile boolean stopped;

    void start() {
      thread.start();
    }

    void finishRead() {
      readEnds.release();
    }

    private void run() {
      while (!stopped) {
        if (turns.readerTakes()) {
          took.incrementAndGet();
          readEnds.acquireUninterruptibly();
          turns.readerDone();
        }
      }
    }

    void stop() throws InterruptedException {
      stopped = true;
      readEnds.release(1000);
      parking.napEnds.release(1000);
      thread.join(TIMEOUT.toMillis());
    }
  }
}
