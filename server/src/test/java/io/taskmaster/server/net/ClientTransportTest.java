package io.taskmaster.server.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

import io.taskmaster.broker.AuthKey;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.broker.Delivery;
import io.taskmaster.broker.NonBlockingThread;
import io.taskmaster.broker.SettleStatus;
import io.taskmaster.broker.Settlement;
import io.taskmaster.broker.Submission;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.client.RemoteBroker;
import io.taskmaster.server.master.Master;
import io.taskmaster.testkit.TcpProxy;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The client's blocking-socket transport: callers write frames themselves, a reader thread reads. What that must not
 * break: an interrupted caller keeps the connection, threads that must not block do not (timers, virtual threads),
 * callbacks that send from the reader thread get their answers, a throwing listener harms nobody else, many
 * writers at once, pipelined requests, and frames far larger than one read.
 */
class ClientTransportTest {
  private static final AuthKey KEY = AuthKey.of("client-transport-test-key-0123456789abcdef");
  private static final long TIMEOUT_SECONDS = 30;

  @Test
  void anInterruptedCallerDoesNotCloseTheConnection() throws Exception {
    try (Master master = Master.start(MasterSettings.of(0, KEY));
        RemoteBroker broker = connect(master)) {
      Delivery held = putAndLease(broker, "interrupted");

      Thread.currentThread().interrupt();
      try {
        broker.put(List.of(task("after-interrupt", "interrupted"))).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      } catch (InterruptedException expected) {
        // get() sees the flag; the put itself was written by this thread with the flag set
      } finally {
        Thread.interrupted();
      }

      // Had the interrupt closed the socket, the master would have taken the lease back with the connection.
      assertThat(settle(broker, held)).isEqualTo(SettleStatus.OK);
      assertThat(broker.size("interrupted").get(TIMEOUT_SECONDS, TimeUnit.SECONDS)).isEqualTo(1);
    }
  }

  @Test
  void aNonBlockingThreadDoesNotWaitForAMasterThatIsNotReading() throws Exception {
    assertSendsWithoutBlocking(requests -> new NonBlockingThread(requests, "timer-like"));
  }

  @Test
  void aVirtualThreadDoesNotWaitForAMasterThatIsNotReading() throws Throwable {
    assumeThat(Runtime.version().feature()).as("virtual threads need JDK 21").isGreaterThanOrEqualTo(21);
    Object builder = MethodHandles.publicLookup()
        .findStatic(Thread.class, "ofVirtual", MethodType.methodType(Class.forName("java.lang.Thread$Builder$OfVirtual")))
        .invoke();
    MethodHandle unstarted = MethodHandles.publicLookup().findVirtual(
        Class.forName("java.lang.Thread$Builder"), "unstarted", MethodType.methodType(Thread.class, Runnable.class));
    // Blocked in a socket write, an interrupted virtual thread would close the socket: it must not get there.
    assertSendsWithoutBlocking(requests -> {
      try {
        return (Thread) unstarted.invoke(builder, requests);
      } catch (Throwable e) {
        throw new IllegalStateException(e);
      }
    });
  }

  /**
   * Stalls the connection (a proxy that stops forwarding), has a thread from {@code threads} send far more than the
   * socket buffers hold, and expects that thread to return before the stall ends; then everything it sent arrives,
   * and the lease held from before shows the connection was never dropped.
   */
  private static void assertSendsWithoutBlocking(Function<Runnable, Thread> threads)
      throws Exception {
    try (Master master = Master.start(MasterSettings.of(0, KEY));
        TcpProxy proxy = TcpProxy.to(master.port());
        RemoteBroker broker = RemoteBroker.connect("127.0.0.1", proxy.port(), BrokerOptions.withKey(KEY))) {
      Delivery held = putAndLease(broker, "stalled");
      proxy.stall();
      List<CompletableFuture<Void>> puts = new CopyOnWriteArrayList<>();
      byte[] mebibyte = new byte[1024 * 1024];
      Thread sender = threads.apply(() -> {
        for (int i = 0; i < 48; i++) { // 48 MiB: well past the socket buffers on both sides of the proxy
          puts.add(broker.put(List.of(new TaskMessage("big-" + i, "stalled", "", Map.of(), mebibyte))));
        }
      });
      sender.start();
      await().atMost(Duration.ofSeconds(TIMEOUT_SECONDS)).until(() -> !sender.isAlive());
      assertThat(puts).hasSize(48).noneMatch(CompletableFuture::isDone);

      proxy.heal();
      CompletableFuture.allOf(puts.toArray(CompletableFuture[]::new)).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      assertThat(settle(broker, held)).isEqualTo(SettleStatus.OK);
      assertThat(broker.size("stalled").get(TIMEOUT_SECONDS, TimeUnit.SECONDS)).isEqualTo(48);
    }
  }

  @Test
  void aListenerThatThrowsDoesNotTakeTheConnectionDown() throws Exception {
    try (Master master = Master.start(MasterSettings.of(0, KEY));
        RemoteBroker producer = connect(master);
        RemoteBroker worker = connect(master)) {
      Delivery held = putAndLease(producer, "held");
      AtomicInteger heard = new AtomicInteger();
      TaskMessage watched = task("watched", "work");
      producer.watchProgress(watched.id(), progress -> {
        heard.incrementAndGet();
        throw new IllegalStateException("a listener's bug");
      });
      Submission submission = producer.submit(List.of(watched));
      submission.accepted().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      Delivery task = worker.lease("work", 1, Duration.ofSeconds(5)).get(TIMEOUT_SECONDS, TimeUnit.SECONDS).get(0);

      worker.progress(task.leaseId(), 1, 2, "half").get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      await().atMost(Duration.ofSeconds(TIMEOUT_SECONDS)).until(() -> heard.get() == 1);
      settle(worker, task);

      assertThat(submission.results().get(0).get(TIMEOUT_SECONDS, TimeUnit.SECONDS).taskId()).isEqualTo("watched");
      assertThat(settle(producer, held)).as("the producer's connection was never dropped").isEqualTo(SettleStatus.OK);
    }
  }

  @Test
  void requestsSentFromCallbacksOnTheReaderThreadAreAnswered() throws Exception {
    try (Master master = Master.start(MasterSettings.of(0, KEY));
        RemoteBroker broker = connect(master)) {
      int chained = 2_000;
      CompletableFuture<Void> chain = CompletableFuture.completedFuture(null);
      for (int i = 0; i < chained; i++) {
        TaskMessage next = task("chained-" + i, "chained");
        // Each put is sent by the callback of the one before: on the thread that read its answer.
        chain = chain.thenCompose(done -> broker.put(List.of(next)));
      }
      chain.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      assertThat(broker.size("chained").get(TIMEOUT_SECONDS, TimeUnit.SECONDS)).isEqualTo(chained);
    }
  }

  @Test
  void manyThreadsWritingAtOnceEachGetTheirOwnAnswers() throws Exception {
    int threads = 8;
    int putsEach = 1_000;
    try (Master master = Master.start(MasterSettings.of(0, KEY));
        RemoteBroker broker = connect(master)) {
      ExecutorService writers = Executors.newFixedThreadPool(threads);
      try {
        List<CompletableFuture<Void>> all = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
          int thread = t;
          all.add(CompletableFuture.runAsync(() -> {
            List<CompletableFuture<Void>> puts = new ArrayList<>();
            for (int i = 0; i < putsEach; i++) {
              puts.add(broker.put(List.of(task("w" + thread + "-" + i, "q" + thread))));
            }
            CompletableFuture.allOf(puts.toArray(CompletableFuture[]::new)).join();
          }, writers));
        }
        CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      } finally {
        writers.shutdownNow();
      }
      for (int t = 0; t < threads; t++) {
        assertThat(broker.size("q" + t).get(TIMEOUT_SECONDS, TimeUnit.SECONDS)).as("queue q" + t)
            .isEqualTo(putsEach);
      }
    }
  }

  @Test
  void pipelinedRequestsLeaveTogetherWhenTheBlockReturns() throws Exception {
    try (Master master = Master.start(MasterSettings.of(0, KEY));
        RemoteBroker broker = connect(master);
        RemoteBroker observer = connect(master)) {
      List<CompletableFuture<Void>> puts = new ArrayList<>();
      broker.pipelined(() -> {
        puts.add(broker.put(List.of(task("first", "pipelined"))));
        broker.pipelined(() -> puts.add(broker.put(List.of(task("nested", "pipelined")))));
        try {
          // Asked on another connection, which the master answers after anything it has read from ours.
          assertThat(observer.size("pipelined").get(TIMEOUT_SECONDS, TimeUnit.SECONDS)).isZero();
        } catch (Exception e) {
          throw new AssertionError(e);
        }
        assertThat(puts).noneMatch(CompletableFuture::isDone);
      });
      CompletableFuture.allOf(puts.toArray(CompletableFuture[]::new)).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      assertThat(observer.size("pipelined").get(TIMEOUT_SECONDS, TimeUnit.SECONDS)).isEqualTo(2);
    }
  }

  @Test
  void aPayloadOfManyMebibytesArrivesWhole() throws Exception {
    byte[] payload = new byte[12 * 1024 * 1024];
    new Random(7).nextBytes(payload);
    try (Master master = Master.start(MasterSettings.of(0, KEY));
        RemoteBroker producer = connect(master);
        RemoteBroker consumer = connect(master)) {
      producer.put(List.of(new TaskMessage("big", "big", "", Map.of(), payload))).get(TIMEOUT_SECONDS,
          TimeUnit.SECONDS);
      List<Delivery> leased = consumer.lease("big", 1, Duration.ofSeconds(5)).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      assertThat(leased).hasSize(1);
      assertThat(leased.get(0).payload()).isEqualTo(payload);

      // And the connection reads small frames again afterwards.
      assertThat(putAndLease(producer, "small").taskId()).isEqualTo("small-task");
    }
  }

  private static RemoteBroker connect(Master master) {
    return RemoteBroker.connect("127.0.0.1", master.port(), BrokerOptions.withKey(KEY));
  }

  private static Delivery putAndLease(RemoteBroker broker, String queue) throws Exception {
    broker.put(List.of(task(queue + "-task", queue))).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    List<Delivery> leased = broker.lease(queue, 1, Duration.ofSeconds(5)).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    assertThat(leased).hasSize(1);
    return leased.get(0);
  }

  private static SettleStatus settle(RemoteBroker broker, Delivery delivery) throws Exception {
    return broker.settle(List.of(Settlement.ack(delivery.leaseId(), new byte[] {42}))).get(TIMEOUT_SECONDS, TimeUnit.SECONDS)
        .get(0);
  }

  private static TaskMessage task(String id, String queue) {
    return new TaskMessage(id, queue, "", Map.of(), new byte[] {1, 2, 3});
  }
}
