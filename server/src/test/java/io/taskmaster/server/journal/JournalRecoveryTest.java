package io.taskmaster.server.journal;

import static io.taskmaster.server.journal.JournaledEngine.task;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.taskmaster.broker.DeadLetter;
import io.taskmaster.broker.Delivery;
import io.taskmaster.broker.Settlement;
import io.taskmaster.broker.TaskOptions;
import io.taskmaster.server.engine.EngineException;
import io.taskmaster.server.engine.EngineStats;
import io.taskmaster.task.TaskError;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a restarted master finds in its journal: every acknowledged change, and the outcome of every lost lease. */
class JournalRecoveryTest {
  @TempDir
  Path dir;

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void aRestartFindsEveryAcknowledgedChange() {
    try (JournaledEngine before = JournaledEngine.open(JournalSettings.in(dir))) {
      before.put(task("a1", "q"), task("a2", "q"), task("a3", "q"));
      before.put(task("p", "q", TaskOptions.DEFAULTS.withPriority(9)));
      before.put(task("later", "q", TaskOptions.DEFAULTS.withRunAt(Instant.now().plusSeconds(3600))));
      before.put(task("u", "q", new TaskOptions(0, 0, 0, 0, "invoice-7")));
      before.put(task("z", "poison", TaskOptions.DEFAULTS.withMaxAttempts(1)));

      Delivery p = before.lease("q", 1).get(0);
      assertThat(p.taskId()).isEqualTo("p");
      before.settle(Settlement.ack(p.leaseId(), bytes("42")));
      Delivery a1 = before.lease("q", 1).get(0);
      before.settle(Settlement.fail(a1.leaseId(), TaskError.of("Boom", "first try", "w1")));
      assertThat(before.lease("q", 1).get(0).taskId()).isEqualTo("a2"); // leased when the master stops
      assertThat(before.engine.cancel("a3")).isEqualTo(io.taskmaster.broker.CancelOutcome.CANCELLED);
      JournaledEngine.await(before.engine.durable());
      Delivery z = before.lease("poison", 1).get(0);
      before.settle(Settlement.fail(z.leaseId(), TaskError.of("Poison", "always fails", "w1")));
    }

    try (JournaledEngine after = JournaledEngine.open(JournalSettings.in(dir))) {
      assertThat(new String(after.result("p").value(), StandardCharsets.UTF_8)).isEqualTo("42");
      assertThat(after.result("a3").error().type()).isEqualTo("io.taskmaster.TaskCancelled");
      List<DeadLetter> dead = after.engine.deadLetters("poison", 0, 10).page();
      assertThat(dead).singleElement().satisfies(letter -> {
        assertThat(letter.task().id()).isEqualTo("z");
        assertThat(letter.attempts()).extracting(TaskError::message).containsExactly("always fails");
      });
      EngineStats stats = after.engine.stats();
      assertThat(stats.ready()).as("a2, lost with the master, and u").isEqualTo(2);
      assertThat(stats.delayed()).as("a1 waiting for its retry, and the task put for later").isEqualTo(2);
      assertThat(stats.leased()).isZero();

      List<Delivery> again = after.lease("q", 10);
      assertThat(again).extracting(Delivery::taskId).containsExactly("a2", "u");
      assertThat(again.get(0).attempt()).as("the delivery lost with the master counted").isEqualTo(2);
      assertThatThrownBy(() -> after.put(task("u2", "q", new TaskOptions(0, 0, 0, 0, "invoice-7"))))
          .isInstanceOf(EngineException.class).hasMessageContaining("invoice-7");
      assertThatThrownBy(() -> after.put(task("p", "q")))
          .as("a settled task's id stays taken while its result is kept")
          .isInstanceOf(EngineException.class).hasMessageContaining("already known");
    }
  }

  @Test
  void aTaskLeasedAtEveryCrashIsDeadLetteredAfterItsLastAttempt() {
    // Row 16: a task that kills the master whenever it runs still reaches the dead letters.
    try (JournaledEngine first = JournaledEngine.open(JournalSettings.in(dir))) {
      first.put(task("killer", "q", TaskOptions.DEFAULTS.withMaxAttempts(2)));
      first.lease("q", 1);
      JournaledEngine.await(first.engine.durable());
    }
    try (JournaledEngine second = JournaledEngine.open(JournalSettings.in(dir))) {
      assertThat(second.lease("q", 1)).singleElement().extracting(Delivery::attempt).isEqualTo(2);
      JournaledEngine.await(second.engine.durable());
    }
    try (JournaledEngine third = JournaledEngine.open(JournalSettings.in(dir))) {
      assertThat(third.lease("q", 1)).isEmpty();
      assertThat(third.engine.deadLetters("q", 0, 10).page()).singleElement().satisfies(letter ->
          assertThat(letter.attempts()).extracting(TaskError::type)
              .containsExactly("io.taskmaster.MasterRestarted", "io.taskmaster.MasterRestarted"));
    }
  }

  @Test
  void anOrderlyStopReturnsLeasesWithoutSpendingAnAttempt() {
    try (JournaledEngine first = JournaledEngine.open(JournalSettings.in(dir))) {
      first.put(task("t", "q", TaskOptions.DEFAULTS.withMaxAttempts(1)));
      first.lease("q", 1);
      assertThat(first.engine.returnAllLeases()).isEqualTo(1);
    }
    try (JournaledEngine second = JournaledEngine.open(JournalSettings.in(dir))) {
      assertThat(second.lease("q", 1)).singleElement().extracting(Delivery::attempt).isEqualTo(1);
    }
  }

  @Test
  void aTaskCancelledWhileLeasedEndsCancelledAfterACrashOrACheckpoint() throws Exception {
    try (JournaledEngine first = JournaledEngine.open(JournalSettings.in(dir))) {
      first.engine.onCancelRequested(JournaledEngine.WORKER, leaseId -> { });
      first.put(task("before-checkpoint", "q"), task("after-checkpoint", "q"), task("other", "q"));
      first.lease("q", 2);
      assertThat(first.engine.cancel("before-checkpoint")).isEqualTo(io.taskmaster.broker.CancelOutcome.STOPPING);
      first.journal.checkpoint(first.engine); // a snapshot carries the first cancellation; the second is a record after it
      assertThat(first.engine.cancel("after-checkpoint")).isEqualTo(io.taskmaster.broker.CancelOutcome.STOPPING);
      JournaledEngine.await(first.engine.durable());
    } // a crash: the leases were never settled
    try (JournaledEngine second = JournaledEngine.open(JournalSettings.in(dir))) {
      assertThat(second.result("before-checkpoint").error().type()).isEqualTo("io.taskmaster.TaskCancelled");
      assertThat(second.result("after-checkpoint").error().type()).isEqualTo("io.taskmaster.TaskCancelled");
      assertThat(second.lease("q", 10)).extracting(Delivery::taskId).containsExactly("other");
    }
  }

  @Test
  void deadLettersRetriedAndPurgedStaySo() {
    try (JournaledEngine first = JournaledEngine.open(JournalSettings.in(dir))) {
      for (String id : List.of("d1", "d2", "d3")) {
        first.put(task(id, "q", TaskOptions.DEFAULTS.withMaxAttempts(1)));
        Delivery delivery = first.lease("q", 1).get(0);
        first.settle(Settlement.fail(delivery.leaseId(), TaskError.of("Boom", id, "w")));
      }
      first.engine.retryDeadLetters("q", List.of("d2"));
      JournaledEngine.await(first.engine.durable());
    }
    try (JournaledEngine second = JournaledEngine.open(JournalSettings.in(dir))) {
      assertThat(second.engine.deadLetters("q", 0, 10).page()).extracting(letter -> letter.task().id())
          .containsExactly("d1", "d3");
      assertThat(second.lease("q", 5)).extracting(Delivery::taskId, Delivery::attempt)
          .containsExactly(org.assertj.core.groups.Tuple.tuple("d2", 1));
      second.engine.purgeDeadLetters("q");
      JournaledEngine.await(second.engine.durable());
    }
    try (JournaledEngine third = JournaledEngine.open(JournalSettings.in(dir))) {
      // d1 and d3 stay purged; d2 was leased on its only attempt when the master stopped, so it is dead again.
      assertThat(third.engine.deadLetters("q", 0, 10).page()).singleElement().satisfies(letter -> {
        assertThat(letter.task().id()).isEqualTo("d2");
        assertThat(letter.lastError().type()).isEqualTo("io.taskmaster.MasterRestarted");
      });
      assertThat(third.engine.stats().ready()).isZero();
    }
  }

  @Test
  void aResentPutIsRefusedAsADuplicateWhileItsTaskIsPendingOrItsResultKeptAcrossRestarts() {
    // Row 18: the task id is the idempotency key. A producer that lost the acknowledgement resends the same id:
    // DUPLICATE_TASK_ID tells it the first put landed; exactly one task runs.
    try (JournaledEngine first = JournaledEngine.open(JournalSettings.in(dir))) {
      first.put(task("order-42", "q"));
      for (int retry = 0; retry < 3; retry++) {
        assertThatThrownBy(() -> first.put(task("order-42", "q"))).isInstanceOf(EngineException.class)
            .extracting(e -> ((EngineException) e).reason()).isEqualTo(EngineException.Reason.DUPLICATE_TASK_ID);
      }
    }
    try (JournaledEngine second = JournaledEngine.open(JournalSettings.in(dir))) {
      assertThatThrownBy(() -> second.put(task("order-42", "q"))).isInstanceOf(EngineException.class)
          .hasMessageContaining("already known");
      Delivery only = second.lease("q", 10).get(0);
      second.settle(Settlement.ack(only.leaseId(), bytes("charged")));
    }
    try (JournaledEngine third = JournaledEngine.open(JournalSettings.in(dir))) {
      assertThatThrownBy(() -> third.put(task("order-42", "q"))).as("while its result is kept (1 h by default)")
          .isInstanceOf(EngineException.class).hasMessageContaining("already known");
      assertThat(third.engine.stats().ready() + third.engine.stats().leased()).isZero();
    }
  }

  @Test
  void aSecondMasterOnTheSameDirectoryIsRefused() {
    try (JournaledEngine first = JournaledEngine.open(JournalSettings.in(dir))) {
      assertThatThrownBy(() -> Journal.open(JournalSettings.in(dir)))
          .hasMessageContaining("in use by another master").hasMessageContaining(dir.toString());
    }
  }

  @Test
  void aCheckpointKeepsTheStateAndDeletesTheHistoryBeforeIt() throws Exception {
    JournalSettings small = JournalSettings.in(dir).withSegmentBytes(4096, 4096);
    List<String> pendingBefore;
    try (JournaledEngine first = JournaledEngine.open(small)) {
      for (int i = 0; i < 400; i++) {
        first.put(task("t" + i, "q"));
      }
      for (Delivery delivery : first.lease("q", 350)) {
        first.settle(Settlement.ack(delivery.leaseId(), null)); // raw items: nothing kept
      }
      long segmentsBefore = SegmentFiles.list(dir).size();
      assertThat(segmentsBefore).isGreaterThan(5);
      assertThat(first.journal.checkpointDue()).isTrue();
      first.journal.checkpoint(first.engine);
      assertThat(SegmentFiles.list(dir).size()).isLessThan((int) segmentsBefore / 2);
      pendingBefore = first.lease("q", 1000).stream().map(Delivery::taskId).collect(Collectors.toList());
      first.engine.returnAllLeases();
    }
    try (JournaledEngine second = JournaledEngine.open(small)) {
      assertThat(second.lease("q", 1000)).extracting(Delivery::taskId).containsExactlyElementsOf(pendingBefore)
          .hasSize(50);
    }
  }

  @Test
  void aCrashBetweenACheckpointAndTheDeletionsItAllowsReplaysToTheSameState() throws Exception {
    // Row 6: whatever subset of the older segments survives (they are deleted oldest first), replay is the same.
    JournalSettings small = JournalSettings.in(dir).withSegmentBytes(4096, 4096);
    Path[] copy = new Path[1];
    long checkpointSegment;
    try (JournaledEngine first = JournaledEngine.open(small)) {
      for (int i = 0; i < 200; i++) {
        first.put(task("t" + i, "q"));
      }
      for (Delivery delivery : first.lease("q", 150)) {
        first.settle(Settlement.ack(delivery.leaseId(), ("r" + delivery.taskId()).getBytes(StandardCharsets.UTF_8)));
      }
      first.journal.beforeDeletingSegments = () -> copy[0] = copyOf(dir);
      first.journal.checkpoint(first.engine);
      checkpointSegment = first.journal.lastCheckpointSegment;
    }
    long older = SegmentFiles.list(copy[0]).stream().filter(f -> SegmentFiles.number(f) < checkpointSegment).count();
    assertThat(older).isGreaterThan(3);
    for (int deleted = 0; deleted <= older; deleted++) {
      Path trial = copyOf(copy[0]);
      for (Path segment : SegmentFiles.list(trial).subList(0, deleted)) {
        Files.delete(segment);
      }
      try (JournaledEngine restarted = JournaledEngine.open(JournalSettings.in(trial))) {
        EngineStats stats = restarted.engine.stats();
        assertThat(stats.ready()).as("with the %d oldest segments deleted", deleted).isEqualTo(50);
        assertThat(stats.storedResults()).isEqualTo(150);
        assertThat(new String(restarted.result("t0").value(), StandardCharsets.UTF_8)).isEqualTo("rt0");
      }
    }
  }

  static Path copyOf(Path source) {
    try {
      Path target = Files.createTempDirectory(source.getParent(), "copy");
      try (var files = Files.list(source)) {
        for (Path file : files.filter(f -> SegmentFiles.number(f) >= 0).toList()) {
          Files.copy(file, target.resolve(file.getFileName()));
        }
      }
      return target;
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
