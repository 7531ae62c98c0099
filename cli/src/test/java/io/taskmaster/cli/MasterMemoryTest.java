package io.taskmaster.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskmaster.broker.AuthKey;
import io.taskmaster.broker.Broker;
import io.taskmaster.broker.BrokerException;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.broker.Brokers;
import io.taskmaster.broker.Delivery;
import io.taskmaster.broker.Settlement;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.testkit.JavaProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * Row 20: producers push 64 KiB tasks as fast as they can at a master with a 256 MiB heap and no consumer. At its
 * memory limit the master answers BUSY (never drops, never runs out of memory), consumers can still lease and
 * settle, and puts flow again once the queue drains.
 */
class MasterMemoryTest {
  private static final String SECRET = "memory-test-key-0123456789abcdef";
  private static final Duration START = Duration.ofSeconds(60);
  private static final byte[] BODY = new byte[64 * 1024];

  @Test
  void aFloodOfLargeTasksIsRefusedAsBusyAndTheMasterKeepsServing() throws Exception {
    try (JavaProcess master = JavaProcess.start(Main.class.getName(), List.of("master", "--port", "0"),
        Map.of(AuthKey.ENV, SECRET))) {
      String uri = "taskmaster://" + master.awaitStderr("master listening on taskmaster://(\\S+) ", START);
      AtomicInteger accepted = new AtomicInteger();
      Map<String, String> refusals = new ConcurrentHashMap<>();
      List<Thread> producers = new ArrayList<>();
      for (int p = 0; p < 4; p++) {
        int number = p;
        Thread producer = new Thread(() -> {
          try (Broker broker = Brokers.open(uri, BrokerOptions.withKey(AuthKey.of(SECRET)))) {
            for (int i = 0; i < 100_000; i++) {
              try {
                broker.put(List.of(new TaskMessage("p" + number + "-" + i, "big", "blob", Map.of(), BODY)))
                    .get(30, TimeUnit.SECONDS);
                accepted.incrementAndGet();
              } catch (ExecutionException e) {
                refusals.put(((BrokerException) e.getCause()).code(), e.getCause().getMessage());
                return;
              } catch (Exception e) {
                throw new AssertionError(e);
              }
            }
          }
        });
        producer.start();
        producers.add(producer);
      }
      for (Thread producer : producers) {
        producer.join(START.toMillis());
      }
      assertThat(refusals).containsOnlyKeys("BUSY");
      assertThat(refusals.get("BUSY")).contains("--max-memory");
      assertThat(accepted.get()).as("64 KiB tasks held before the limit").isGreaterThan(500);
      assertThat(master.stderr()).doesNotContain("OutOfMemoryError");

      try (Broker broker = Brokers.open(uri, BrokerOptions.withKey(AuthKey.of(SECRET)))) {
        assertThat(broker.size("big").get(10, TimeUnit.SECONDS)).as("nothing dropped").isEqualTo(accepted.get());
        for (int drained = 0; drained < 200; ) {
          List<Delivery> leased = broker.lease("big", 50, Duration.ofSeconds(1)).get(10, TimeUnit.SECONDS);
          broker.settle(leased.stream().map(d -> Settlement.ack(d.leaseId(), null)).toList())
              .get(10, TimeUnit.SECONDS);
          drained += leased.size();
        }
        Awaitility.await("puts flow again").atMost(START).ignoreExceptions().until(() ->
            broker.put(List.of(new TaskMessage("again-" + System.nanoTime(), "big", "blob", Map.of(), BODY)))
                .get(10, TimeUnit.SECONDS) == null);
      }
      master.terminate();
      assertThat(master.awaitExit(START)).as(master.stderr()).isZero();
      assertThat(master.stderr()).doesNotContain("OutOfMemoryError");
    }
  }
}
