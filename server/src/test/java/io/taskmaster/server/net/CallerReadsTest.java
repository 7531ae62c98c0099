package io.taskmaster.server.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.taskmaster.broker.AuthKey;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.broker.BrokerUnavailableException;
import io.taskmaster.broker.Delivery;
import io.taskmaster.broker.SettleStatus;
import io.taskmaster.broker.Settlement;
import io.taskmaster.broker.Submission;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.broker.TaskResult;
import io.taskmaster.client.RemoteBroker;
import io.taskmaster.server.master.Master;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * A caller waiting on an answer reads the socket itself while nobody else does (client {@code SocketLink}). What
 * that must keep: an interrupt and a timeout still end the wait at once, an answer completed by someone else
 * ends it too, many callers share one connection, and once callers stop reading, the reader thread reads again:
 * answers nobody waits on, pushes, and the end of the connection.
 */
class CallerReadsTest {
  private static final AuthKey KEY = AuthKey.of("caller-reads-test-key-0123456789abcdef");
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  /** Much longer than any wait below is allowed to take: a wait that ends before it ended for the right reason. */
  private static final Duration LONG_POLL = Duration.ofSeconds(60);
  /**
   * Shorter than half the silence timeout (30 s), after which a PING's answer would end any read: a caller that only
   * sees its interrupt or its completed answer when the next frame comes takes longer.
   */
  private static final Duration ENDS_WITHIN = Duration.ofSeconds(10);

  @Test
  void aWaitingCallerReadsItsOwnAnswers() {
    try (Master master = Master.start(MasterSettings.of(0, KEY));
        RemoteBroker broker = connect(master)) {
      Thread caller = Thread.currentThread();
      int readByCaller = 0;
      for (int i = 0; i < 200; i++) {
        Thread answeredOn = broker.size("q").thenApply(size -> Thread.currentThread()).join();
        assertThat(answeredOn.getName()).as("a caller or the reader thread")
            .matches(name -> answeredOn == caller || name.startsWith("taskmaster-client-reader-"));
        readByCaller += answeredOn == caller ? 1 : 0;
      }
      // The first answer, at least, comes through the reader thread, already blocked in a read when it was asked.
      assertThat(readByCaller).as("answers the caller read itself, of 200").isPositive();
    }
  }

  @Test
  void aJoinOfAnInterruptedCallerGetsItsAnswerAndKeepsTheFlag() {
    try (Master master = Master.start(MasterSettings.of(0, KEY));
        RemoteBroker broker = connect(master)) {
      Thread.currentThread().interrupt();
      try {
        for (int i = 0; i < 50; i++) {
          assertThat(broker.size("q").join()).isZero();
          assertThat(Thread.currentThread().isInterrupted()).as("the interrupt flag after join " + i).isTrue();
        }
      } finally {
        Thread.interrupted();
      }
    }
  }

  @Test
  void anInterruptEndsTheWaitOfACallerThatIsReading() throws Exception {
    try (Master master = Master.start(MasterSettings.of(0, KEY));
        RemoteBroker broker = connect(master)) {
      Delivery held = putAndLease(broker, "held");
      Caller caller = Caller.start("waiting-caller", () -> broker.lease("empty", 1, LONG_POLL).get());
      untilItReadsTheSocket(caller, broker);

      caller.interrupt();
      assertThat(caller.endsWithin(ENDS_WITHIN)).as("ended after the interrupt").isTrue();
      assertThat(caller.threw.get()).isInstanceOf(InterruptedException.class);
      // Had the interrupt closed the socket, the master would have taken the lease back with the connection.
      assertThat(settle(broker, held)).isEqualTo(SettleStatus.OK);
    }
  }

  @Test
  void aCallerGivesUpAtItsTimeoutAndTheAnswerStillArrives() throws Exception {
    try (Master master = Master.start(MasterSettings.of(0, KEY));
        RemoteBroker worker = connect(master);
        RemoteBroker producer = connect(master)) {
      CompletableFuture<List<Delivery>> poll = worker.lease("later", 1, LONG_POLL);
      assertThatThrownBy(() -> poll.get(200, TimeUnit.MILLISECONDS)).isInstanceOf(TimeoutException.class);

      // Nobody waits on the poll now: the reader thread reads its answer.
      producer.put(List.of(task("late", "later"))).join();
      await().atMost(TIMEOUT).until(poll::isDone);
      assertThat(poll.join()).extracting(Delivery::taskId).containsExactly("late");
    }
  }

  @Test
  void aCallerReturnsWhenItsAnswerIsCompletedByAnotherThread() throws Exception {
    try (Master master = Master.start(MasterSettings.of(0, KEY));
        RemoteBroker broker = connect(master)) {
      CompletableFuture<List<Delivery>> poll = broker.lease("empty", 1, LONG_POLL);
      Caller caller = Caller.start("joining-caller", poll::join);
      untilItReadsTheSocket(caller, broker);

      poll.completeExceptionally(new TimeoutException("given up by another thread"));
      assertThat(caller.endsWithin(ENDS_WITHIN)).as("ended once its answer was completed").isTrue();
      assertThat(caller.threw.get()).isInstanceOf(CompletionException.class)
          .hasCauseInstanceOf(TimeoutException.class);
      assertThat(broker.size("empty").join()).as("the connection is still usable").isZero();
    }
  }

  @Test
  void callersOnManyThreadsShareOneConnection() throws Exception {
    int threads = 8;
    int putsEach = 300;
    try (Master master = Master.start(MasterSettings.of(0, KEY));
        RemoteBroker broker = connect(master)) {
      Caller[] callers = new Caller[threads];
      for (int t = 0; t < threads; t++) {
        String queue = "q" + t;
        callers[t] = Caller.start("caller-" + t, () -> {
          for (int i = 0; i < putsEach; i++) {
            broker.put(List.of(task(queue + "-" + i, queue))).join();
            assertThat(broker.size(queue).join()).isEqualTo(i + 1);
          }
        });
      }
      assertAllEnd(callers);
    }
  }

  @Test
  void afterManyCallersReadAtOnceTheReaderThreadReadsAgain() throws Exception {
    try (Master master = Master.start(MasterSettings.of(0, KEY));
        RemoteBroker broker = connect(master)) {
      for (int round = 0; round < 20; round++) {
        Caller[] callers = new Caller[4];
        for (int t = 0; t < callers.length; t++) {
          callers[t] = Caller.start("caller-" + t, () -> {
            for (int i = 0; i < 50; i++) {
              broker.size("q").join();
            }
          });
        }
        assertAllEnd(callers);
        // Nobody waits on this one: if the callers left nobody reading, it is only read after the next PING.
        CompletableFuture<Long> unwaited = broker.size("q");
        await().atMost(ENDS_WITHIN).until(unwaited::isDone);
      }
    }
  }

  @Test
  void afterCallersReadTheReaderThreadReadsPushesAndTheEndOfTheConnection() throws Exception {
    Master master = Master.start(MasterSettings.of(0, KEY));
    boolean masterClosed = false;
    try (RemoteBroker worker = connect(master);
        RemoteBroker producer = connect(master)) {
      for (int i = 0; i < 50; i++) {
        producer.size("q").join(); // the producer's thread reads these answers itself
      }
      Submission submission = producer.submit(List.of(task("pushed", "work")));
      CompletableFuture<TaskResult> pushed = submission.results().get(0);
      submission.accepted().join();
      Delivery delivery = worker.lease("work", 1, Duration.ofSeconds(5)).join().get(0);
      settle(worker, delivery);
      // Nobody waits on the result: the reader thread reads the push.
      await().atMost(TIMEOUT).until(pushed::isDone);
      assertThat(pushed.join().taskId()).isEqualTo("pushed");

      producer.size("q").join();
      CompletableFuture<List<Delivery>> unwaited = producer.lease("empty", 1, LONG_POLL);
      master.close();
      masterClosed = true;
      // Nor on this poll: the reader thread finds the connection closed and fails it.
      await().atMost(TIMEOUT).until(unwaited::isDone);
      assertThatThrownBy(unwaited::join).hasCauseInstanceOf(BrokerUnavailableException.class);
    } finally {
      if (!masterClosed) {
        master.close();
      }
    }
  }

  /**
   * Waits until {@code caller} reads the socket itself. If it found the reader thread blocked in a read, it waits,
   * and is left the socket once that read returns: an answer that nobody waits on makes it return.
   */
  private static void untilItReadsTheSocket(Thread caller, RemoteBroker broker) {
    // Parked in readUntil, so it has said it waits to read: before that, a read's return would not leave it the socket.
    await().atMost(TIMEOUT).until(() -> isReadingTheSocket(caller) || caller.getState() == Thread.State.TIMED_WAITING
        && Arrays.stream(caller.getStackTrace()).anyMatch(frame -> frame.getMethodName().equals("readUntil")));
    broker.size("nudge");
    await().atMost(TIMEOUT).until(() -> isReadingTheSocket(caller));
  }

  /** Each caller ends, and none threw. */
  private static void assertAllEnd(Caller[] callers) throws InterruptedException {
    for (Caller caller : callers) {
      assertThat(caller.endsWithin(TIMEOUT)).as(caller.getName() + " ended").isTrue();
      assertThat(caller.threw.get()).as(caller.getName() + " threw").isNull();
    }
  }

  /** What a caller thread does. */
  private interface Body {
    void run() throws Exception;
  }

  /** A thread of its own that runs a body and notes what it threw. */
  private static final class Caller extends Thread {
    final AtomicReference<Throwable> threw = new AtomicReference<>();
    private final Body body;

    private Caller(String name, Body body) {
      super(name);
      this.body = body;
    }

    static Caller start(String name, Body body) {
      Caller caller = new Caller(name, body);
      caller.start();
      return caller;
    }

    @Override
    public void run() {
      try {
        body.run();
      } catch (Throwable e) {
        threw.set(e);
      }
    }

    /** Whether it ended within {@code time}. */
    boolean endsWithin(Duration time) throws InterruptedException {
      join(time.toMillis());
      return !isAlive();
    }
  }

  /** In a socket read on its own thread, not parked waiting for the reader thread. */
  private static boolean isReadingTheSocket(Thread caller) {
    return Arrays.stream(caller.getStackTrace()).anyMatch(frame -> frame.getMethodName().equals("readAsCaller"));
  }

  private static RemoteBroker connect(Master master) {
    return RemoteBroker.connect("127.0.0.1", master.port(), BrokerOptions.withKey(KEY));
  }

  private static Delivery putAndLease(RemoteBroker broker, String queue) {
    broker.put(List.of(task(queue + "-task", queue))).join();
    List<Delivery> leased = broker.lease(queue, 1, Duration.ofSeconds(5)).join();
    assertThat(leased).hasSize(1);
    return leased.get(0);
  }

  private static SettleStatus settle(RemoteBroker broker, Delivery delivery) {
    return broker.settle(List.of(Settlement.ack(delivery.leaseId(), new byte[] {42}))).join().get(0);
  }

  private static TaskMessage task(String id, String queue) {
    return new TaskMessage(id, queue, "", Map.of(), new byte[] {1, 2, 3});
  }
}
