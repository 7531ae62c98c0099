package io.taskmaster.server.journal;

import static io.taskmaster.server.journal.JournaledEngine.task;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.taskmaster.broker.Delivery;
import io.taskmaster.server.engine.EngineException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Disk faults (reliability-tests.md rows 7 and 8) and group commit, through an injecting channel. */
class JournalFaultTest {
  @TempDir
  Path dir;

  private final FaultyChannels channels = new FaultyChannels();

  @Test
  void aFullDiskRefusesPutsLosesNothingAndRecoversWhenSpaceReturns() {
    try (JournaledEngine engine = JournaledEngine.open(JournalSettings.in(dir), channels)) {
      engine.put(task("before", "q"));
      channels.diskFull.set(true);
      engine.engine.put(List.of(task("in-flight", "q")));
      CompletableFuture<Void> ack = engine.engine.durable();
      Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> channels.writeFailures.get() > 0);
      assertThat(ack).as("not acknowledged while it is not on disk").isNotDone();
      assertThatThrownBy(() -> engine.engine.put(List.of(task("refused", "q"))))
          .isInstanceOf(EngineException.class).hasMessageContaining("free disk space")
          .extracting(e -> ((EngineException) e).reason()).isEqualTo(EngineException.Reason.STORAGE);
      assertThat(engine.lease("q", 1)).as("acknowledged tasks are still served").extracting(Delivery::taskId)
          .containsExactly("before");

      channels.diskFull.set(false);
      JournaledEngine.await(ack);
      engine.put(task("after", "q"));
    }
    try (JournaledEngine restarted = JournaledEngine.open(JournalSettings.in(dir))) {
      assertThat(restarted.lease("q", 10)).extracting(Delivery::taskId)
          .containsExactlyInAnyOrder("before", "in-flight", "after");
    }
  }

  @Test
  void aFailedFsyncStopsTheJournalForGoodAndARestartRecoversWhatWasOnDisk() {
    try (JournaledEngine engine = JournaledEngine.open(JournalSettings.in(dir), channels)) {
      engine.put(task("safe", "q"));
      channels.fsyncFails.set(true);
      engine.engine.put(List.of(task("unsure", "q")));
      assertThatThrownBy(() -> engine.engine.durable().get())
          .isInstanceOf(ExecutionException.class).hasMessageContaining("restarted");
      channels.fsyncFails.set(false);
      assertThatThrownBy(() -> engine.engine.put(List.of(task("later", "q"))))
          .as("no retry of the fsync, no trust in it: fail-stop")
          .isInstanceOf(EngineException.class).hasMessageContaining("fsync failed");
    }
    try (JournaledEngine restarted = JournaledEngine.open(JournalSettings.in(dir))) {
      assertThat(restarted.lease("q", 10)).extracting(Delivery::taskId).contains("safe").doesNotContain("later");
    }
  }

  @Test
  void aPowerLossKeepsEveryAcknowledgedPut() throws Exception {
    // Row 2 with fsync always: the disk keeps only what was forced, and every acknowledged put is in it.
    Map<String, Integer> acknowledged = powerLoss(JournalSettings.in(dir));
    assertThat(recoveredAfterLoss()).containsAll(acknowledged.keySet());
  }

  @Test
  void aPowerLossInBatchModeLosesOnlyWhatNoForceHadCoveredYet() throws Exception {
    // Row 2 with fsync batch: a put acknowledged before a force began is on disk once that force completed; only
    // those acknowledged in the last window, which no completed force covered, may be lost.
    Map<String, Integer> acknowledged = powerLoss(JournalSettings.in(dir).withFsync(FsyncMode.BATCH)
        .withBatchWindow(Duration.ofMillis(20)));
    Set<String> recovered = recoveredAfterLoss();
    acknowledged.forEach((id, forcesBegunAtAck) -> {
      if (forcesBegunAtAck < forcesCompletedAtLoss) {
        assertThat(recovered).as("%s, acknowledged before force %d began", id, forcesBegunAtAck + 1).contains(id);
      }
    });
    assertThat(forcesCompletedAtLoss).as("forces within the window while writers ran").isGreaterThan(1);
  }

  private int forcesCompletedAtLoss;

  private Path afterLoss() {
    return dir.resolveSibling(dir.getFileName() + "-power-loss");
  }

  /** Puts from 4 writers, then copies exactly what was forced (a power loss); ids to the forces begun at their ack. */
  private Map<String, Integer> powerLoss(JournalSettings settings) throws Exception {
    Map<String, Integer> acknowledged = new java.util.concurrent.ConcurrentHashMap<>();
    Map<String, Integer> ackedBeforeLoss;
    Path afterLoss = afterLoss();
    java.nio.file.Files.createDirectories(afterLoss);
    try (JournaledEngine engine = JournaledEngine.open(settings, channels)) {
      java.util.concurrent.atomic.AtomicBoolean running = new java.util.concurrent.atomic.AtomicBoolean(true);
      ExecutorService pool = Executors.newFixedThreadPool(4);
      for (int w = 0; w < 4; w++) {
        int writer = w;
        pool.submit(() -> {
          for (int i = 0; running.get(); i++) {
            String id = "w" + writer + "-" + i;
            engine.engine.put(List.of(task(id, "q")));
            JournaledEngine.await(engine.engine.durable());
            acknowledged.put(id, channels.forcesStarted.get());
          }
        });
      }
      // Several forces while writers run, so that the loss falls after some and in the middle of writes.
      Awaitility.await().atMost(Duration.ofSeconds(30))
          .until(() -> acknowledged.size() >= 500 && channels.forces.get() >= 4);
      ackedBeforeLoss = Map.copyOf(acknowledged);
      forcesCompletedAtLoss = channels.forces.get();
      for (var entry : channels.forcedLength.entrySet()) {
        byte[] bytes = java.nio.file.Files.readAllBytes(entry.getKey());
        java.nio.file.Files.write(afterLoss.resolve(entry.getKey().getFileName()),
            java.util.Arrays.copyOf(bytes, (int) (long) entry.getValue()));
      }
      running.set(false);
      pool.shutdown();
      assertThat(pool.awaitTermination(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
    }
    return ackedBeforeLoss;
  }

  private Set<String> recoveredAfterLoss() {
    try (JournaledEngine restarted = JournaledEngine.open(JournalSettings.in(afterLoss()))) {
      Set<String> recovered = new java.util.HashSet<>();
      restarted.lease("q", 100_000).forEach(delivery -> recovered.add(delivery.taskId()));
      return recovered;
    }
  }

  @Test
  void concurrentWritersShareOneFsync() throws Exception {
    int writers = 8;
    try (JournaledEngine engine = JournaledEngine.open(JournalSettings.in(dir), channels)) {
      int forcesAtStart = channels.forces.get();
      CountDownLatch gate = new CountDownLatch(1);
      channels.forceGate = gate;
      // The first put's fsync is held until every other writer has put and waits: they must share the next one.
      ExecutorService pool = Executors.newFixedThreadPool(writers);
      AtomicInteger put = new AtomicInteger();
      List<Future<?>> done = new ArrayList<>();
      for (int i = 0; i < writers; i++) {
        String id = "w" + i;
        done.add(pool.submit(() -> {
          engine.engine.put(List.of(task(id, "q")));
          put.incrementAndGet();
          JournaledEngine.await(engine.engine.durable());
        }));
      }
      Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> put.get() == writers);
      channels.forceGate = null;
      gate.countDown();
      for (Future<?> future : done) {
        future.get();
      }
      pool.shutdown();
      assertThat(channels.forces.get() - forcesAtStart).as("fsyncs for %d acknowledged puts", writers)
          .isLessThanOrEqualTo(2);
    }
  }

  @Test
  void batchModeAcknowledgesBeforeTheFsyncAndForcesWithinTheWindow() {
    JournalSettings batch = JournalSettings.in(dir).withFsync(FsyncMode.BATCH).withBatchWindow(Duration.ofMillis(50));
    try (JournaledEngine engine = JournaledEngine.open(batch, channels)) {
      int forcesAtStart = channels.forces.get();
      CountDownLatch gate = new CountDownLatch(1);
      channels.forceGate = gate;
      engine.put(task("t", "q")); // acknowledged although every fsync is held
      channels.forceGate = null;
      gate.countDown();
      Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> channels.forces.get() > forcesAtStart);
    }
  }

  @Test
  void noneModeNeverForcesButKeepsWhatTheProcessWrote() {
    JournalSettings none = JournalSettings.in(dir).withFsync(FsyncMode.NONE);
    try (JournaledEngine engine = JournaledEngine.open(none, channels)) {
      int forcesAtStart = channels.forces.get();
      for (int i = 0; i < 50; i++) {
        engine.put(task("t" + i, "q"));
      }
      assertThat(channels.forces.get()).isEqualTo(forcesAtStart);
    }
    try (JournaledEngine restarted = JournaledEngine.open(JournalSettings.in(dir))) {
      assertThat(restarted.engine.stats().ready()).isEqualTo(50);
    }
  }
}
