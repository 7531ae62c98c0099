package io.taskmaster.server.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskmaster.broker.CancelOutcome;
import io.taskmaster.broker.Delivery;
import io.taskmaster.broker.TaskResult;
import io.taskmaster.broker.Settlement;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.broker.TaskOptions;
import io.taskmaster.task.TaskError;
import io.taskmaster.time.Ticker;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Per-task options on the engine alone: priorities, start times and attempts. */
class QueueEngineOptionsTest {
  private static final Instant WALL = Instant.parse("2026-11-25T09:00:00Z");

  private final AtomicLong now = new AtomicLong(7_000_000_000L);
  private final Ticker ticker = now::get;
  private final QueueEngine engine = new QueueEngine(
      EngineSettings.defaults().withRetryBackoff(Duration.ofSeconds(1), Duration.ofSeconds(1)), ticker,
      Clock.fixed(WALL, ZoneOffset.UTC));

  private void put(String id, TaskOptions options) {
    engine.put(List.of(new TaskMessage(id, "q", "t", Map.of(), "{}".getBytes(StandardCharsets.UTF_8), options)));
  }

  private List<String> leaseAll() {
    List<Delivery> leased = new ArrayList<>();
    engine.lease(1, "q", 100, false, leased::addAll);
    return leased.stream().map(Delivery::taskId).toList();
  }

  @Test
  void aLeasedTaskIsStoppedOnlyThroughAnOwnerThatCanBeAsked() {
    put("python", TaskOptions.DEFAULTS);
    assertThat(leaseAll()).containsExactly("python");
    assertThat(engine.cancel("python")).as("owner 1 registered no stop listener").isEqualTo(CancelOutcome.RUNNING);

    List<Long> stops = new ArrayList<>();
    engine.onCancelRequested(2, stops::add);
    put("java", TaskOptions.DEFAULTS);
    List<Delivery> leased = new ArrayList<>();
    engine.lease(2, "q", 1, false, leased::addAll);
    assertThat(engine.cancel("java")).isEqualTo(CancelOutcome.STOPPING);
    assertThat(engine.cancel("java")).as("asked again, the owner is told again").isEqualTo(CancelOutcome.STOPPING);
    assertThat(stops).containsExactly(leased.get(0).leaseId(), leased.get(0).leaseId());

    now.addAndGet(Duration.ofMinutes(5).toNanos()); // the lease runs out: the task ends, it is not handed out again
    engine.expireLeases();
    List<TaskResult> results = new ArrayList<>();
    engine.awaitResult(3, "java", results::add);
    assertThat(results).singleElement().satisfies(result ->
        assertThat(result.error().type()).isEqualTo("io.taskmaster.TaskCancelled"));
    assertThat(leaseAll()).as("the other task, whose cancellation could not be asked, comes back")
        .containsExactly("python");

    engine.disconnect(2, "");
    put("after", TaskOptions.DEFAULTS);
    engine.lease(2, "q", 1, false, leased::addAll);
    assertThat(engine.cancel("after")).as("a disconnected owner's listener is gone").isEqualTo(CancelOutcome.RUNNING);
  }

  @Test
  void higherPrioritiesAreLeasedFirstAndFifoWithinAPriority() {
    put("low-1", TaskOptions.DEFAULTS);
    put("high-1", TaskOptions.DEFAULTS.withPriority(9));
    put("mid-1", TaskOptions.DEFAULTS.withPriority(5));
    put("high-2", TaskOptions.DEFAULTS.withPriority(9));
    put("low-2", TaskOptions.DEFAULTS);

    assertThat(leaseAll()).containsExactly("high-1", "high-2", "mid-1", "low-1", "low-2");
  }

  @Test
  void aTaskWithAStartTimeWaitsForIt() {
    put("later", TaskOptions.DEFAULTS.withRunAt(WALL.plusSeconds(60)));
    put("now", TaskOptions.DEFAULTS);
    put("past", TaskOptions.DEFAULTS.withRunAt(WALL.minusSeconds(60)));

    assertThat(leaseAll()).containsExactly("now", "past");
    assertThat(engine.stats().delayed()).isEqualTo(1);

    now.addAndGet(Duration.ofSeconds(59).toNanos());
    assertThat(engine.promoteDue()).isEmpty();
    now.addAndGet(Duration.ofSeconds(1).toNanos());
    assertThat(engine.promoteDue()).containsExactly("later");
    assertThat(leaseAll()).containsExactly("later");
  }

  @Test
  void aTasksOwnMaxAttemptsOverridesTheDefault() {
    put("once", TaskOptions.DEFAULTS.withMaxAttempts(1));
    List<Delivery> leased = new ArrayList<>();
    engine.lease(1, "q", 1, false, leased::addAll);

    engine.settle(1, List.of(Settlement.fail(leased.get(0).leaseId(), TaskError.of("Boom", "no", ""))));

    assertThat(engine.deadLetters("q", 0, 10).total()).isEqualTo(1);
    assertThat(engine.stats().delayed()).isZero();
  }
}
