package io.taskmaster.server.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.taskmaster.broker.DeadLetter;
import io.taskmaster.broker.Delivery;
import io.taskmaster.broker.Settlement;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.broker.TaskResult;
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

/**
 * Retries with backoff and dead letters on the engine alone, with a fake monotonic clock (reliability-tests.md
 * row 15; rows 13 and 16 need the journal and real processes).
 */
class QueueEngineRetryTest {
  private static final Duration BACKOFF = Duration.ofSeconds(1);
  private static final Duration LEASE = Duration.ofSeconds(30);
  private static final Instant NOW = Instant.parse("2026-11-25T08:00:00Z");
  private static final long WORKER = 1;

  private final AtomicLong now = new AtomicLong(5_000_000_000L);
  private final Ticker ticker = now::get;
  private final QueueEngine engine = new QueueEngine(EngineSettings.defaults().withVisibilityTimeout(LEASE)
      .withMaxAttempts(3).withRetryBackoff(BACKOFF, Duration.ofMinutes(1)), ticker, Clock.fixed(NOW, ZoneOffset.UTC));
  private final List<TaskResult> results = new ArrayList<>();

  private void advance(Duration duration) {
    now.addAndGet(duration.toNanos());
  }

  private void put(String id) {
    engine.put(List.of(new TaskMessage(id, "q", "t", Map.of(), "{}".getBytes(StandardCharsets.UTF_8))));
    engine.awaitResult(WORKER, id, results::add);
  }

  private List<Delivery> lease() {
    List<Delivery> leased = new ArrayList<>();
    engine.lease(WORKER, "q", 10, false, leased::addAll);
    return leased;
  }

  private void fail(Delivery delivery, String message) {
    engine.settle(WORKER, List.of(Settlement.fail(delivery.leaseId(), TaskError.of("Boom", message, "w1"))));
  }

  @Test
  void aFailedTaskComesBackAfterItsBackoffAndNotBefore() {
    put("t1");
    fail(lease().get(0), "first");

    assertThat(engine.stats().delayed()).isEqualTo(1);
    advance(BACKOFF.dividedBy(2).minusNanos(1));
    assertThat(engine.promoteDue()).isEmpty();
    assertThat(lease()).isEmpty();

    advance(BACKOFF.dividedBy(2).plusNanos(1));
    assertThat(engine.promoteDue()).hasSize(1);
    List<Delivery> again = lease();
    assertThat(again).singleElement().satisfies(delivery -> assertThat(delivery.attempt()).isEqualTo(2));
    assertThat(results).as("no result while attempts are left").isEmpty();
  }

  @Test
  void backoffDoublesPerAttempt() {
    put("t1");
    fail(lease().get(0), "first");
    advance(BACKOFF);
    engine.promoteDue();
    fail(lease().get(0), "second");

    advance(BACKOFF.minusNanos(1)); // the second backoff is at least 1 s (half of 2 s)
    assertThat(engine.promoteDue()).isEmpty();
    advance(BACKOFF.plusNanos(1));
    assertThat(engine.promoteDue()).hasSize(1);
  }

  @Test
  void theLastFailureDeadLettersTheTaskWithEveryAttemptsError() {
    put("t1");
    for (int attempt = 1; attempt <= 3; attempt++) {
      List<Delivery> leased = lease();
      assertThat(leased).singleElement().satisfies(d -> assertThat(d).extracting(Delivery::attempt).isNotNull());
      fail(leased.get(0), "failure " + leased.get(0).attempt());
      advance(Duration.ofMinutes(1));
      engine.promoteDue();
    }

    assertThat(lease()).isEmpty();
    assertThat(results).singleElement().satisfies(result -> {
      assertThat(result.succeeded()).isFalse();
      assertThat(result.error().message()).isEqualTo("failure 3");
    });
    var dead = engine.deadLetters("q", 0, 10);
    assertThat(dead.total()).isEqualTo(1);
    DeadLetter letter = dead.page().get(0);
    assertThat(letter.task().id()).isEqualTo("t1");
    assertThat(letter.attempts()).extracting(TaskError::message).containsExactly("failure 1", "failure 2", "failure 3");
    assertThat(letter.deadAt()).isEqualTo(NOW);
  }

  @Test
  void aTaskThatKeepsLosingItsWorkerIsDeadLetteredNotLoopedForever() {
    put("poison");
    for (int attempt = 1; attempt <= 3; attempt++) {
      long owner = 100 + attempt;
      List<Delivery> leased = new ArrayList<>();
      engine.lease(owner, "q", 1, false, leased::addAll);
      assertThat(leased).singleElement().satisfies(d -> assertThat(d.attempt()).isEqualTo(owner - 100));
      engine.disconnect(owner, ""); // the worker process died with the task
    }

    assertThat(lease()).isEmpty();
    assertThat(engine.deadLetters("q", 0, 10).page()).singleElement().satisfies(letter ->
        assertThat(letter.attempts()).extracting(TaskError::type).containsOnly("io.taskmaster.WorkerLost"));
    assertThat(results).singleElement().satisfies(r -> assertThat(r.error().type()).isEqualTo("io.taskmaster.WorkerLost"));
  }

  @Test
  void anExpiredLeaseCountsAsAnAttempt() {
    put("slow");
    for (int attempt = 1; attempt <= 3; attempt++) {
      assertThat(lease()).hasSize(1);
      advance(LEASE);
      engine.expireLeases();
    }

    assertThat(engine.deadLetters("q", 0, 10).total()).isEqualTo(1);
    assertThat(engine.deadLetters("q", 0, 10).page().get(0).lastError().type()).isEqualTo("io.taskmaster.LeaseExpired");
  }

  @Test
  void aReleaseIsNotAFailure() {
    put("t1");
    for (int i = 0; i < 5; i++) {
      Delivery delivery = lease().get(0);
      engine.settle(WORKER, List.of(Settlement.release(delivery.leaseId())));
    }

    assertThat(lease()).hasSize(1);
    assertThat(engine.stats().dead()).isZero();
  }

  @Test
  void deadLettersCanBeRetriedWithFreshAttemptsAndThenSucceed() {
    put("t1");
    put("t2");
    engine.settle(WORKER, lease().stream().map(d -> Settlement.fail(d.leaseId(), TaskError.of("Boom", "x", "")))
        .toList());
    for (int i = 0; i < 2; i++) {
      advance(Duration.ofMinutes(1));
      engine.promoteDue();
      engine.settle(WORKER, lease().stream().map(d -> Settlement.fail(d.leaseId(), TaskError.of("Boom", "x", "")))
          .toList());
    }
    assertThat(engine.deadLetters("q", 0, 10).total()).isEqualTo(2);

    assertThat(engine.retryDeadLetters("q", List.of("t2"))).isEqualTo(1);
    List<Delivery> leased = lease();
    assertThat(leased).singleElement().satisfies(d -> {
      assertThat(d.taskId()).isEqualTo("t2");
      assertThat(d.attempt()).isEqualTo(1);
    });
    List<TaskResult> later = new ArrayList<>();
    engine.awaitResult(WORKER, "t2", later::add);
    engine.settle(WORKER, List.of(Settlement.ack(leased.get(0).leaseId(), "7".getBytes(StandardCharsets.UTF_8))));
    assertThat(later).singleElement().satisfies(r -> assertThat(r.succeeded()).isTrue());

    assertThat(engine.deadLetters("q", 0, 10).page()).extracting(l -> l.task().id()).containsExactly("t1");
    assertThat(engine.purgeDeadLetters("q")).isEqualTo(1);
    assertThat(engine.deadLetters("q", 0, 10).total()).isZero();
  }

  @Test
  void aPutReusingTheIdOfADeadLetterIsRefusedEvenAfterItsResultExpired() {
    QueueEngine shortResults = new QueueEngine(new EngineSettings(1000, Duration.ofSeconds(1), 1000, LEASE, 1,
        BACKOFF, BACKOFF, Long.MAX_VALUE, Map.of()), ticker, Clock.fixed(NOW, ZoneOffset.UTC));
    shortResults.put(List.of(new TaskMessage("t1", "q", "t", Map.of(), new byte[0])));
    List<Delivery> leased = new ArrayList<>();
    shortResults.lease(WORKER, "q", 1, false, leased::addAll);
    shortResults.settle(WORKER, List.of(Settlement.fail(leased.get(0).leaseId(), TaskError.of("Boom", "x", ""))));
    advance(Duration.ofMinutes(5));
    shortResults.put(List.of(new TaskMessage("other", "q", "t", Map.of(), new byte[0]))); // expires old results

    assertThatThrownBy(() -> shortResults.put(List.of(new TaskMessage("t1", "q", "t", Map.of(), new byte[0]))))
        .isInstanceOfSatisfying(EngineException.class,
            e -> assertThat(e.reason()).isEqualTo(EngineException.Reason.DUPLICATE_TASK_ID));
  }

  @Test
  void longBackoffsSaturateAtTheirCapInsteadOfOverflowing() {
    QueueEngine patient = new QueueEngine(new EngineSettings(1000, Duration.ofHours(1), 1000, LEASE, 100,
        Duration.ofHours(1), Duration.ofHours(10), Long.MAX_VALUE, Map.of()), ticker, Clock.fixed(NOW, ZoneOffset.UTC));
    patient.put(List.of(new TaskMessage("t1", "q", "t", Map.of(), new byte[0])));
    for (int attempt = 1; attempt <= 70; attempt++) {
      List<Delivery> leased = new ArrayList<>();
      patient.lease(WORKER, "q", 1, false, leased::addAll);
      assertThat(leased).as("attempt %d", attempt).hasSize(1);
      patient.settle(WORKER, List.of(Settlement.fail(leased.get(0).leaseId(), TaskError.of("Boom", "x", ""))));
      advance(Duration.ofHours(10));
      assertThat(patient.promoteDue()).hasSize(1);
    }
  }

  @Test
  void deadLettersArePagedInTheOrderTheyDied() {
    for (int i = 0; i < 5; i++) {
      put("t" + i);
    }
    for (int round = 0; round < 3; round++) {
      engine.settle(WORKER, lease().stream().map(d -> Settlement.fail(d.leaseId(), TaskError.of("Boom", "x", "")))
          .toList());
      advance(Duration.ofMinutes(1));
      engine.promoteDue();
    }

    // Retry jitter decides the order they died in; a page is a slice of that order.
    List<String> all = engine.deadLetters("q", 0, 10).page().stream().map(l -> l.task().id()).toList();
    var page = engine.deadLetters("q", 1, 2);
    assertThat(page.total()).isEqualTo(5);
    assertThat(page.page()).extracting(l -> l.task().id()).containsExactlyElementsOf(all.subList(1, 3));
  }
}
