package io.taskmaster.server.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskmaster.broker.Delivery;
import io.taskmaster.broker.SettleStatus;
import io.taskmaster.broker.Settlement;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.broker.TaskResult;
import io.taskmaster.time.Ticker;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Lease expiry and extension on the engine alone, with a fake monotonic clock: no sleeping, exact deadlines
 * (reliability-tests.md rows 9 and 10; row 12 holds by construction: the engine reads only the injected monotonic
 * ticker, never the wall clock).
 */
class QueueEngineLeaseTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static final long CONSUMER_A = 1;
  private static final long CONSUMER_B = 2;

  private final AtomicLong now = new AtomicLong(1_000_000_000L);
  private final Ticker ticker = now::get;
  private final QueueEngine engine =
      new QueueEngine(EngineSettings.defaults().withVisibilityTimeout(TIMEOUT), ticker);

  private void advance(Duration duration) {
    now.addAndGet(duration.toNanos());
  }

  private Delivery leaseOne(long owner) {
    List<Delivery> leased = new ArrayList<>();
    engine.lease(owner, "q", 1, false, leased::addAll);
    assertThat(leased).hasSize(1);
    return leased.get(0);
  }

  private void put(String id) {
    engine.put(List.of(new TaskMessage(id, "q", "t", Map.of(), "{}".getBytes(StandardCharsets.UTF_8))));
  }

  @Test
  void aQueueCanHaveItsOwnLeaseTimeout() {
    QueueEngine perQueue = new QueueEngine(EngineSettings.defaults().withVisibilityTimeout(TIMEOUT)
        .withQueueVisibilityTimeout("reports", Duration.ofMinutes(10)), ticker);
    for (String queue : List.of("q", "reports")) {
      perQueue.put(List.of(new TaskMessage("t-" + queue, queue, "t", Map.of(), new byte[0])));
    }
    List<Delivery> leased = new ArrayList<>();
    perQueue.lease(CONSUMER_A, "q", 1, false, leased::addAll);
    perQueue.lease(CONSUMER_A, "reports", 1, false, leased::addAll);
    assertThat(leased).extracting(Delivery::leaseTimeoutMillis).containsExactly(30_000L, 600_000L);

    advance(Duration.ofMinutes(1));
    assertThat(perQueue.expireLeases()).as("only the default queue's lease ran out").hasSize(1);
    assertThat(perQueue.extend(CONSUMER_A, List.of(leased.get(1).leaseId()))).containsExactly(SettleStatus.OK);
    advance(Duration.ofMinutes(9).plusSeconds(30));
    assertThat(perQueue.expireLeases()).as("extended by the queue's own timeout, from the extension").isEmpty();
    advance(Duration.ofSeconds(31));
    assertThat(perQueue.expireLeases()).hasSize(1);
  }

  @Test
  void aDeliveryCarriesItsLeaseTimeout() {
    put("t1");

    assertThat(leaseOne(CONSUMER_A).leaseTimeoutMillis()).isEqualTo(TIMEOUT.toMillis());
  }

  @Test
  void anUnsettledLeaseExpiresAtItsDeadlineAndNotBefore() {
    put("t1");
    Delivery first = leaseOne(CONSUMER_A);

    advance(TIMEOUT.minusNanos(1));
    assertThat(engine.expireLeases()).isEmpty();
    assertThat(engine.size("q")).isZero();

    advance(Duration.ofNanos(1));
    assertThat(engine.expireLeases()).containsExactly(first.taskId());
    Delivery second = leaseOne(CONSUMER_B);
    assertThat(second.taskId()).isEqualTo(first.taskId());
    assertThat(second.attempt()).isEqualTo(2);
  }

  @Test
  void theLateConsumersOutcomeIsRefusedAndTheNewHoldersIsKept() {
    put("t1");
    Delivery stale = leaseOne(CONSUMER_A);
    advance(TIMEOUT);
    engine.expireLeases();
    Delivery fresh = leaseOne(CONSUMER_B);

    assertThat(engine.settle(CONSUMER_A, List.of(Settlement.ack(stale.leaseId(), bytes("\"late\"")))))
        .containsExactly(SettleStatus.UNKNOWN_LEASE);
    assertThat(engine.settle(CONSUMER_B, List.of(Settlement.ack(fresh.leaseId(), bytes("\"fresh\"")))))
        .containsExactly(SettleStatus.OK);

    List<TaskResult> results = new ArrayList<>();
    engine.awaitResult(CONSUMER_A, "t1", results::add);
    assertThat(new String(results.get(0).value(), StandardCharsets.UTF_8)).isEqualTo("\"fresh\"");
  }

  @Test
  void extendingCountsFromTheCallAndKeepsTheLease() {
    put("t1");
    Delivery delivery = leaseOne(CONSUMER_A);

    for (int i = 0; i < 5; i++) {
      advance(Duration.ofSeconds(20));
      assertThat(engine.extend(CONSUMER_A, List.of(delivery.leaseId()))).containsExactly(SettleStatus.OK);
      assertThat(engine.expireLeases()).isEmpty();
    }
    advance(TIMEOUT.minusNanos(1));
    assertThat(engine.expireLeases()).isEmpty();
    advance(Duration.ofNanos(1));
    assertThat(engine.expireLeases()).hasSize(1);
  }

  @Test
  void anExtensionAfterExpiryIsRefused() {
    put("t1");
    Delivery delivery = leaseOne(CONSUMER_A);
    advance(TIMEOUT);
    engine.expireLeases();

    assertThat(engine.extend(CONSUMER_A, List.of(delivery.leaseId()))).containsExactly(SettleStatus.UNKNOWN_LEASE);
  }

  @Test
  void onlyTheHolderMayExtend() {
    put("t1");
    Delivery delivery = leaseOne(CONSUMER_A);

    assertThat(engine.extend(CONSUMER_B, List.of(delivery.leaseId()))).containsExactly(SettleStatus.UNKNOWN_LEASE);
  }

  @Test
  void expiredTasksReturnToTheHeadInDeliveryOrderAndWakeWaitingConsumers() {
    put("t1");
    put("t2");
    put("t3");
    Delivery first = leaseOne(CONSUMER_A);
    Delivery second = leaseOne(CONSUMER_A);
    List<Delivery> waiting = new ArrayList<>();
    advance(TIMEOUT);
    leaseOne(CONSUMER_B); // t3
    engine.lease(CONSUMER_B, "q", 5, true, waiting::addAll);

    assertThat(engine.expireLeases()).hasSize(2);
    assertThat(waiting).extracting(Delivery::taskId).containsExactly(first.taskId(), second.taskId());
  }

  @Test
  void aSettledLeaseNeverExpiresLater() {
    put("t1");
    Delivery delivery = leaseOne(CONSUMER_A);
    engine.settle(CONSUMER_A, List.of(Settlement.ack(delivery.leaseId(), bytes("1"))));

    advance(TIMEOUT.multipliedBy(2));

    assertThat(engine.expireLeases()).isEmpty();
    assertThat(engine.size("q")).isZero();
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }
}
