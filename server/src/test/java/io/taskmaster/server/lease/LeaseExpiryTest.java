package io.taskmaster.server.lease;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskmaster.broker.AuthKey;
import io.taskmaster.broker.Broker;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.broker.Brokers;
import io.taskmaster.broker.Delivery;
import io.taskmaster.broker.SettleStatus;
import io.taskmaster.broker.Settlement;
import io.taskmaster.producer.Producer;
import io.taskmaster.producer.TaskHandle;
import io.taskmaster.server.engine.EngineSettings;
import io.taskmaster.server.master.Master;
import io.taskmaster.server.net.MasterSettings;
import io.taskmaster.task.TaskType;
import io.taskmaster.worker.Worker;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Lease expiry and extension end to end, over real sockets (reliability-tests.md
 * rows 9 and 10) and a two-second lease timeout: a consumer that goes silent loses its task to another, and a worker
 * running a task longer than the timeout keeps its lease by extending it.
 */
class LeaseExpiryTest {
  private static final AuthKey KEY = AuthKey.of("lease-expiry-test-key-0123456789ab");
  /** Long enough that a busy 2-core CI machine still extends in time (the worker does so after a third). */
  private static final Duration LEASE_TIMEOUT = Duration.ofSeconds(2);
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final TaskType<Long, Long> SLOW = TaskType.of("slow", Long.class, Long.class);

  private Master master;

  @BeforeEach
  void startMaster() {
    master = Master.start(MasterSettings.of(0, KEY), EngineSettings.defaults().withVisibilityTimeout(LEASE_TIMEOUT));
  }

  @AfterEach
  void stopMaster() {
    master.close();
  }

  private Broker client() {
    return Brokers.open(master.uri(), BrokerOptions.withKey(KEY));
  }

  @Test
  void aSilentConsumersTaskGoesToAnotherAndItsLateAckIsRefused() {
    try (Broker producer = client(); Broker silent = client(); Broker other = client()) {
      TaskHandle<Long> handle = Producer.on(producer).submit(SLOW, 3L);
      Delivery stale = silent.lease("tasks", 1, WAIT).join().get(0);

      Delivery fresh = other.lease("tasks", 1, WAIT).join().get(0);

      assertThat(fresh.taskId()).isEqualTo(stale.taskId());
      assertThat(fresh.attempt()).isEqualTo(2);
      assertThat(silent.settle(List.of(Settlement.ack(stale.leaseId(), bytes("-1")))).join())
          .containsExactly(SettleStatus.UNKNOWN_LEASE);
      assertThat(silent.extend(List.of(stale.leaseId())).join()).containsExactly(SettleStatus.UNKNOWN_LEASE);
      assertThat(other.settle(List.of(Settlement.ack(fresh.leaseId(), bytes("9")))).join())
          .containsExactly(SettleStatus.OK);
      assertThat(handle.result()).succeedsWithin(WAIT).isEqualTo(9L);
    }
  }

  @Test
  void aWorkerKeepsTheLeaseOfATaskLongerThanTheTimeout() throws Exception {
    AtomicInteger runs = new AtomicInteger();
    CountDownLatch release = new CountDownLatch(1);
    try (Broker producer = client(); Broker workerBroker = client();
        Worker worker = Worker.builder(workerBroker).concurrency(1).handle(SLOW, n -> {
          runs.incrementAndGet();
          release.await();
          return n * 2;
        }).start();
        Broker rival = client()) {
      TaskHandle<Long> handle = Producer.on(producer).submit(SLOW, 21L);
      org.awaitility.Awaitility.await().atMost(WAIT).until(() -> runs.get() == 1);

      // A rival waits for three lease timeouts: the task must not come free while the worker extends its lease.
      assertThat(rival.lease("tasks", 1, LEASE_TIMEOUT.multipliedBy(3)).join()).isEmpty();
      release.countDown();

      assertThat(handle.result()).succeedsWithin(WAIT).isEqualTo(42L);
      assertThat(runs.get()).isEqualTo(1);
    }
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }
}
