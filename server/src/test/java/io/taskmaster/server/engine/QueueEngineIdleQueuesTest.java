package io.taskmaster.server.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskmaster.broker.Delivery;
import io.taskmaster.broker.Settlement;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.task.TaskError;
import io.taskmaster.time.Ticker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * A queue that holds nothing (no ready task, no waiting consumer, no dead letter) is forgotten, so that a client
 * asking about ever new names costs the master no memory; tasks that were leased or delayed meanwhile find their
 * queue again by name, with its own lease timeout.
 */
class QueueEngineIdleQueuesTest {
  private static final long CONSUMER = 1;
  private static final long OTHER = 2;

  private final AtomicLong now = new AtomicLong(1_000_000_000L);
  private final Ticker ticker = now::get;
  private QueueEngine engine = new QueueEngine(EngineSettings.defaults()
      .withVisibilityTimeout(Duration.ofSeconds(30)).withQueueVisibilityTimeout("slow", Duration.ofMinutes(10)),
      ticker);

  private int queues() {
    return engine.stats().queues();
  }

  private void put(String queue, String id) {
    engine.put(List.of(new TaskMessage(id, queue, "t", Map.of(), new byte[0])));
  }

  private List<Delivery> lease(long owner, String queue) {
    List<Delivery> leased = new ArrayList<>();
    engine.lease(owner, queue, 10, false, leased::addAll);
    return leased;
  }

  @Test
  void leasingFromNamesNeverUsedLeavesNoQueueBehind() {
    for (int i = 0; i < 10_000; i++) {
      assertThat(lease(CONSUMER, "never-used-" + i)).isEmpty();
    }

    assertThat(queues()).isZero();
  }

  @Test
  void aWaitThatEndsOrWhoseConsumerLeavesLeavesNoQueueBehind() {
    LeaseWaiter cancelled = engine.lease(CONSUMER, "a", 1, true, deliveries -> { });
    engine.lease(OTHER, "b", 1, true, deliveries -> { });
    assertThat(queues()).as("a waiting consumer keeps its queue").isEqualTo(2);

    engine.cancel(cancelled);
    assertThat(queues()).isEqualTo(1);
    engine.disconnect(OTHER, "");
    assertThat(queues()).isZero();
  }

  @Test
  void aQueueStaysWhileItHoldsTasksOrDeadLettersAndGoesWhenTheyAreGone() {
    engine = new QueueEngine(EngineSettings.defaults().withMaxAttempts(1), ticker);
    put("q", "t1");
    put("q", "t2");
    assertThat(queues()).isEqualTo(1);

    List<Delivery> leased = lease(CONSUMER, "q");
    assertThat(queues()).as("emptied by the lease").isZero();
    engine.settle(CONSUMER, List.of(Settlement.ack(leased.get(0).leaseId(), null),
        Settlement.fail(leased.get(1).leaseId(), TaskError.of("Boom", "x", ""))));
    assertThat(engine.deadLetters("q", 0, 10).total()).as("the queue came back for its dead letter").isEqualTo(1);
    assertThat(queues()).isEqualTo(1);

    engine.purgeDeadLetters("q");
    assertThat(queues()).isZero();
  }

  @Test
  void aLeaseLostAfterItsQueueWasForgottenGoesBackToItWithTheQueuesOwnTimeout() {
    put("slow", "t1");
    assertThat(lease(CONSUMER, "slow")).hasSize(1);
    assertThat(queues()).isZero();

    engine.disconnect(CONSUMER, "w1");
    assertThat(queues()).isEqualTo(1);
    assertThat(lease(OTHER, "slow")).singleElement().satisfies(delivery -> {
      assertThat(delivery.taskId()).isEqualTo("t1");
      assertThat(delivery.leaseTimeoutMillis()).isEqualTo(Duration.ofMinutes(10).toMillis());
    });
  }
}
