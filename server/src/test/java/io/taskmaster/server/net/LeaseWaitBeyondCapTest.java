package io.taskmaster.server.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.taskmaster.broker.AuthKey;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.broker.Delivery;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.client.RemoteBroker;
import io.taskmaster.protocol.message.Message;
import io.taskmaster.queue.RawQueue;
import io.taskmaster.server.master.Master;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A master answers a LEASE empty after at most 60 s, whatever the client asked for, and the remote broker used to
 * pass that answer on: {@code queue("q").takeOrThrow(Duration.ofSeconds(90))} threw QueueEmptyException after 60 s
 * remotely, while the embedded broker waited the whole 90 s. The remote broker now asks again for the time left.
 *
 * <p>The master's cap is made short here ({@link MasterSettings#withMaxLeaseWait}) so that nothing waits a minute.
 * That the cap has passed is seen, not timed: a witness connection sends its own LEASE, asking for longer than the
 * cap, after the take's LEASE waits; with one event loop the master answers the two at their caps in that order, so
 * once the witness is answered empty, so was the take's first LEASE.
 */
class LeaseWaitBeyondCapTest {
  private static final AuthKey KEY = AuthKey.of("lease-wait-test-key-0123456789abcdef");
  private static final Duration CAP = Duration.ofMillis(200);
  /** Far beyond the cap, and beyond any test's run: a wait that ends before a task came ended at a cap. */
  private static final Duration LONG_WAIT = Duration.ofMinutes(10);
  private static final long TIMEOUT_SECONDS = 30;

  @Test
  void aTakeLongerThanTheMastersCapGetsATaskPutAfterTheCapHasPassed() throws Exception {
    ExecutorService takers = Executors.newSingleThreadExecutor();
    try (Master master = Master.start(MasterSettings.of(0, KEY).withMaxLeaseWait(CAP).withIoThreads(1));
        RemoteBroker consumer = connect(master);
        RemoteBroker producer = connect(master);
        RawClient witness = RawClient.connect(master.port())) {
      witness.authenticate(KEY);
      RawQueue queue = new RawQueue(consumer, "later");
      Future<Optional<byte[]>> taken = takers.submit(() -> queue.take(LONG_WAIT));
      await().atMost(Duration.ofSeconds(TIMEOUT_SECONDS))
          .until(() -> master.engine().stats().waitingConsumers() == 1);

      awaitTheCap(witness);
      producer.put(List.of(new TaskMessage("late", "later", "", Map.of(), bytes("after the cap")))).get(
          TIMEOUT_SECONDS, TimeUnit.SECONDS);

      assertThat(taken.get(TIMEOUT_SECONDS, TimeUnit.SECONDS)).as("the take, answered after the master's cap of %s "
          + "ms had passed", CAP.toMillis()).map(item -> new String(item, StandardCharsets.UTF_8))
          .contains("after the cap");
    } finally {
      takers.shutdownNow();
    }
  }

  /**
   * A caller that stops waiting (here it cancels; an interrupted one should too) must not keep the task that its
   * LEASE, still waiting on the master, brings later: the broker gives it back at once, so another consumer gets it
   * on the same attempt instead of after the lease expired. (The master's cap is the protocol's minute here, so the
   * abandoned LEASE surely still waits when the task comes.)
   */
  @Test
  void aTaskThatArrivesAfterItsCallerGaveUpGoesBackToTheQueueUntried() throws Exception {
    try (Master master = Master.start(MasterSettings.of(0, KEY));
        RemoteBroker quitter = connect(master);
        RemoteBroker patient = connect(master);
        RemoteBroker producer = connect(master)) {
      CompletableFuture<List<Delivery>> abandoned = quitter.lease("later", 1, LONG_WAIT);
      await().atMost(Duration.ofSeconds(TIMEOUT_SECONDS))
          .until(() -> master.engine().stats().waitingConsumers() == 1);
      abandoned.cancel(true);

      producer.put(List.of(new TaskMessage("unwanted", "later", "", Map.of(), bytes("nobody waits")))).get(
          TIMEOUT_SECONDS, TimeUnit.SECONDS);

      List<Delivery> leased = patient.lease("later", 1, Duration.ofSeconds(20)).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      assertThat(leased).as("the task the quitter's lease brought, given back").singleElement()
          .satisfies(delivery -> {
            assertThat(delivery.taskId()).isEqualTo("unwanted");
            assertThat(delivery.attempt()).as("a release is not an attempt").isEqualTo(1);
          });
    }
  }

  /** Sends a LEASE asking for longer than the cap on a queue nobody fills, and reads its empty answer. */
  private static void awaitTheCap(RawClient witness) throws Exception {
    witness.send(7, new Message.Lease("never-filled", 1, (int) LONG_WAIT.toMillis()));
    assertThat(witness.read(Message.Leased.class).deliveries()).as("the witness's lease, at the cap").isEmpty();
  }

  private static RemoteBroker connect(Master master) {
    return RemoteBroker.connect("127.0.0.1", master.port(), BrokerOptions.withKey(KEY));
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }
}
