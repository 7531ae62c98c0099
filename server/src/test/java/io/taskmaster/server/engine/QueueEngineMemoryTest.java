package io.taskmaster.server.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.taskmaster.broker.Delivery;
import io.taskmaster.broker.Settlement;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.time.Ticker;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The memory bound (reliability-tests.md row 20): puts are refused as busy at the limit, never dropped. */
class QueueEngineMemoryTest {
  private static final long WORKER = 1;
  private final QueueEngine engine = new QueueEngine(EngineSettings.defaults().withMaxHeldBytes(64 * 1024),
      Ticker.system());

  private static TaskMessage task(String id) {
    return new TaskMessage(id, "q", "t", Map.of(), new byte[8 * 1024]);
  }

  @Test
  void putsBeyondTheLimitAreRefusedUntilWorkersDrainTheQueue() {
    int accepted = 0;
    EngineException refusal = null;
    while (refusal == null) {
      try {
        engine.put(List.of(task("t" + accepted)));
        accepted++;
      } catch (EngineException e) {
        refusal = e;
      }
    }
    assertThat(accepted).isBetween(5, 8);
    assertThat(refusal.reason()).isEqualTo(EngineException.Reason.BUSY);
    assertThat(refusal.getMessage()).contains("limit is 0.1 MiB").contains("--max-memory").contains("add workers");
    assertThat(engine.stats().ready()).as("nothing dropped").isEqualTo(accepted);
    long full = engine.stats().heldBytes();

    List<Delivery> leased = new ArrayList<>();
    engine.lease(WORKER, "q", 3, false, leased::addAll);
    List<Settlement> acks = leased.stream().map(d -> Settlement.ack(d.leaseId(), new byte[10])).toList();
    engine.settle(WORKER, acks);

    assertThat(engine.stats().heldBytes()).isLessThan(full - 3 * 8 * 1024);
    engine.put(List.of(task("again")));
    assertThat(engine.stats().ready()).isEqualTo(accepted - 3 + 1);
  }

  @Test
  void aPutLargerThanTheWholeLimitIsRefusedWithItsSize() {
    TaskMessage huge = new TaskMessage("huge", "q", "t", Map.of(), new byte[100 * 1024]);
    assertThatThrownBy(() -> engine.put(List.of(huge))).isInstanceOf(EngineException.class)
        .hasMessageContaining("this put of 0.1 MiB must wait");
    assertThat(engine.stats().heldBytes()).isZero();
  }
}
