package io.taskmaster.server.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskmaster.broker.Delivery;
import io.taskmaster.broker.SettleStatus;
import io.taskmaster.broker.Settlement;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.broker.TaskResult;
import io.taskmaster.task.TaskError;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import io.taskmaster.server.journal.FsyncMode;
import io.taskmaster.server.journal.Journal;
import io.taskmaster.server.journal.JournalSettings;
import org.junit.jupiter.api.Test;

/**
 * Model-based test of the engine and its journal (reliability-tests.md row 19): random sequences of put, lease, ack,
 * fail, release, disconnect, the passing of time, checkpoints and master restarts (the engine is dropped and a new
 * one is rebuilt from the journal), each step checked against a simple model of where every task is. Seeded: a
 * failure names its seed and step, and {@code -Dtaskmaster.model.seed=N} replays it.
 */
class QueueEngineModelTest {
  private static final int SEQUENCES = 300;
  private static final int STEPS = 200;
  private static final Duration LEASE = Duration.ofSeconds(30);
  /** Backoff and cap equal: every retry is due within one second, so the model knows when tasks come back. */
  private static final Duration BACKOFF = Duration.ofSeconds(1);
  private static final int MAX_ATTEMPTS = 3;
  private static final int OWNERS = 3;

  private enum State { READY, LEASED, RETRYING, DEAD, DONE }

  private static final class ModelTask {
    State state = State.READY;
    int attempts;
    long owner;
    long leaseId;
    long leasedAtNanos;
  }

  @org.junit.jupiter.api.io.TempDir
  java.nio.file.Path dataDirs;

  private JournalSettings journalIn(java.nio.file.Path dir) {
    return JournalSettings.in(dir).withFsync(FsyncMode.NONE);
  }

  @Test
  void theEngineFollowsTheModel() throws java.io.IOException {
    long fixed = Long.getLong("taskmaster.model.seed", 0L);
    SplittableRandom seeds = new SplittableRandom();
    for (int sequence = 0; sequence < SEQUENCES; sequence++) {
      long seed = fixed != 0 ? fixed : seeds.nextLong();
      try {
        run(new SplittableRandom(seed), java.nio.file.Files.createTempDirectory(dataDirs, "seq"));
      } catch (AssertionError e) {
        throw new AssertionError("model sequence failed; replay with -Dtaskmaster.model.seed=" + seed + ": "
            + e.getMessage(), e);
      }
      if (fixed != 0) {
        return;
      }
    }
  }

  private static final EngineSettings SETTINGS = EngineSettings.defaults().withVisibilityTimeout(LEASE)
      .withMaxAttempts(MAX_ATTEMPTS).withRetryBackoff(BACKOFF, BACKOFF);
  private static final Instant EPOCH = Instant.parse("2026-11-25T00:00:00Z");

  /**
   * A wall clock that moves with the test's monotonic one: the journal keeps retry times as wall-clock times, so
   * after a restart they must mean the same as the deadlines the engine held.
   */
  private static Clock wallClock(AtomicLong now) {
    return new Clock() {
      @Override
      public java.time.ZoneId getZone() {
        return ZoneOffset.UTC;
      }

      @Override
      public Clock withZone(java.time.ZoneId zone) {
        return this;
      }

      @Override
      public Instant instant() {
        return EPOCH.plusNanos(now.get());
      }
    };
  }

  /** The journal of the sequence running; replaced at each restart. */
  private Journal journal;

  private void run(SplittableRandom random, java.nio.file.Path dataDir) {
    journal = Journal.open(journalIn(dataDir));
    try {
      run(random, dataDir, new AtomicLong(1_000_000_000L));
    } finally {
      journal.close();
    }
  }

  private void run(SplittableRandom random, java.nio.file.Path dataDir, AtomicLong now) {
    QueueEngine engine = new QueueEngine(SETTINGS, now::get, wallClock(now), journal);
    Map<String, ModelTask> model = new HashMap<>();
    Map<String, TaskResult> results = new HashMap<>();
    int nextId = 0;
    for (int step = 0; step < STEPS; step++) {
      int op = random.nextInt(100);
      String what;
      if (op < 25) {
        String id = "t" + nextId++;
        engine.put(List.of(new TaskMessage(id, "q", "t", Map.of(), new byte[0])));
        engine.awaitResult(0, id, result -> results.put(result.taskId(), result));
        model.put(id, new ModelTask());
        what = "put " + id;
      } else if (op < 45) {
        long owner = 1 + random.nextInt(OWNERS);
        int max = 1 + random.nextInt(3);
        List<Delivery> leased = new ArrayList<>();
        engine.lease(owner, "q", max, false, leased::addAll);
        long ready = model.values().stream().filter(t -> t.state == State.READY).count();
        assertThat(leased).as("lease %d", max).hasSize((int) Math.min(max, ready));
        for (Delivery delivery : leased) {
          ModelTask task = model.get(delivery.taskId());
          assertThat(task.state).as("leased %s", delivery.taskId()).isEqualTo(State.READY);
          task.state = State.LEASED;
          task.attempts++;
          assertThat(delivery.attempt()).as("attempt of %s", delivery.taskId()).isEqualTo(task.attempts);
          task.owner = owner;
          task.leaseId = delivery.leaseId();
          task.leasedAtNanos = now.get();
        }
        what = "lease " + leased.size();
      } else if (op < 75) {
        List<Map.Entry<String, ModelTask>> held = model.entrySet().stream()
            .filter(e -> e.getValue().state == State.LEASED).toList();
        if (held.isEmpty()) {
          continue;
        }
        Map.Entry<String, ModelTask> pick = held.get(random.nextInt(held.size()));
        ModelTask task = pick.getValue();
        boolean wrongOwner = random.nextInt(10) == 0;
        long owner = wrongOwner ? task.owner % OWNERS + 1 : task.owner;
        int kind = random.nextInt(3);
        Settlement settlement = switch (kind) {
          case 0 -> Settlement.ack(task.leaseId, "1".getBytes(StandardCharsets.UTF_8));
          case 1 -> Settlement.fail(task.leaseId, TaskError.of("Boom", "attempt " + task.attempts, "w"));
          default -> Settlement.release(task.leaseId);
        };
        SettleStatus status = engine.settle(owner, List.of(settlement)).get(0);
        if (wrongOwner) {
          assertThat(status).as("settle by another owner").isEqualTo(SettleStatus.UNKNOWN_LEASE);
          continue;
        }
        assertThat(status).isEqualTo(SettleStatus.OK);
        if (kind == 0) {
          task.state = State.DONE;
        } else if (kind == 1) {
          task.state = task.attempts < MAX_ATTEMPTS ? State.RETRYING : State.DEAD;
        } else {
          task.state = State.READY;
          task.attempts--;
        }
        what = "settle " + kind + " " + pick.getKey();
      } else if (op < 80) {
        long owner = 1 + random.nextInt(OWNERS);
        engine.disconnect(owner, "");
        for (ModelTask task : model.values()) {
          if (task.state == State.LEASED && task.owner == owner) {
            task.state = task.attempts < MAX_ATTEMPTS ? State.READY : State.DEAD;
          }
        }
        what = "disconnect " + owner;
      } else if (op < 84) {
        // The master dies and a new one starts on its journal: leased tasks lost that delivery, counted as an attempt.
        journal.close();
        journal = Journal.open(journalIn(dataDir));
        engine = new QueueEngine(SETTINGS, now::get, wallClock(now), journal);
        engine.restore(journal.recovered());
        for (ModelTask task : model.values()) {
          if (task.state == State.LEASED) {
            task.state = task.attempts < MAX_ATTEMPTS ? State.READY : State.DEAD;
          }
        }
        Map<String, TaskResult> before = new HashMap<>(results);
        results.clear();
        for (String id : model.keySet()) {
          engine.awaitResult(0, id, result -> results.put(result.taskId(), result));
        }
        before.forEach((id, result) -> {
          if (model.get(id).state == State.DONE) {
            assertThat(results.get(id)).as("result of %s after a restart", id).isNotNull()
                .satisfies(r -> assertThat(r.value()).isEqualTo(result.value()));
          }
        });
        what = "restart";
      } else if (op < 86) {
        journal.checkpoint(engine);
        what = "checkpoint";
      } else {
        Duration step2 = random.nextBoolean() ? BACKOFF : Duration.ofSeconds(1 + random.nextInt(40));
        now.addAndGet(step2.toNanos());
        engine.expireLeases();
        engine.promoteDue();
        for (ModelTask task : model.values()) {
          if (task.state == State.LEASED && now.get() - task.leasedAtNanos >= LEASE.toNanos()) {
            task.state = task.attempts < MAX_ATTEMPTS ? State.READY : State.DEAD;
          }
          if (task.state == State.RETRYING) {
            task.state = State.READY; // every backoff is at most one second
          }
        }
        what = "advance " + step2;
      }
      check(engine, model, results, what + " at step " + step);
    }
  }

  private static void check(QueueEngine engine, Map<String, ModelTask> model, Map<String, TaskResult> results,
      String after) {
    Map<State, Long> counts = new HashMap<>();
    model.values().forEach(task -> counts.merge(task.state, 1L, Long::sum));
    EngineStats stats = engine.stats();
    assertThat(stats.ready()).as("ready after %s", after).isEqualTo(counts.getOrDefault(State.READY, 0L));
    assertThat(engine.size("q")).as("size after %s", after).isEqualTo(counts.getOrDefault(State.READY, 0L));
    assertThat(stats.leased()).as("leased after %s", after).isEqualTo(counts.getOrDefault(State.LEASED, 0L));
    assertThat(stats.delayed()).as("retrying after %s", after).isEqualTo(counts.getOrDefault(State.RETRYING, 0L));
    assertThat(stats.dead()).as("dead after %s", after).isEqualTo(counts.getOrDefault(State.DEAD, 0L));
    model.forEach((id, task) -> {
      TaskResult result = results.get(id);
      switch (task.state) {
        case DONE -> assertThat(result).as("result of %s after %s", id, after).isNotNull()
            .satisfies(r -> assertThat(r.succeeded()).isTrue());
        case DEAD -> assertThat(result).as("result of %s after %s", id, after).isNotNull()
            .satisfies(r -> assertThat(r.succeeded()).isFalse());
        default -> assertThat(result).as("no result yet for %s after %s", id, after).isNull();
      }
    });
  }
}
