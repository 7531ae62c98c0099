package io.taskmaster.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskmaster.broker.AuthKey;
import io.taskmaster.pool.TaskPool;
import io.taskmaster.server.master.Master;
import io.taskmaster.server.net.MasterSettings;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** Every example runs, on small inputs, and gives the right answer. */
class ExamplesTest {
  /** There are 17,984 primes below 200,000. */
  private static final long PRIMES_BELOW_200K = 17_984;

  @Test
  void primesAreCountedTheSameOnOneThreadTwoThreadsAndTwoProcesses() {
    List<long[]> ranges = PrimeTasks.ranges(200_000, 8);
    assertThat(CpuBoundPrimes.count(TaskPool.threads(1, new PrimeTasks()), ranges)).isEqualTo(PRIMES_BELOW_200K);
    assertThat(CpuBoundPrimes.count(TaskPool.threads(2, new PrimeTasks()), ranges)).isEqualTo(PRIMES_BELOW_200K);
    assertThat(CpuBoundPrimes.count(TaskPool.processes(2, PrimeTasks.class), ranges)).isEqualTo(PRIMES_BELOW_200K);
  }

  @Test
  void thousandsOfWaitsRunAtOnce() {
    IoBoundWaits.Outcome outcome = IoBoundWaits.run(10_000, 1_000);
    assertThat(outcome.done()).isEqualTo(10_000);
    assertThat(outcome.mostAtOnce()).as("waits in flight at the same moment").isGreaterThanOrEqualTo(1_000);
  }

  @Test
  void thePipelineCountsWordsThroughTwoQueues() throws InterruptedException {
    Map<String, Integer> counts = WordPipeline.count("embedded:pipeline-test", List.of("the quick brown fox",
        "jumps over the lazy dog", "The end"));
    assertThat(counts).containsEntry("the", 3).containsEntry("fox", 1).containsEntry("end", 1).hasSize(9);
  }

  @Test
  void theTutorialPairRunsOverTheNetwork() throws Exception {
    AuthKey key = AuthKey.of("tutorial-pair-key-0123456789abcdef");
    ExecutorService workerThread = Executors.newSingleThreadExecutor();
    try (Master master = Master.start(MasterSettings.of(0, key))) {
      Future<List<String>> worker = workerThread.submit(() -> TutorialPair.worker(master.uri(), key, 11));
      List<String> results = TutorialPair.master(master.uri(), key);
      assertThat(results).hasSize(10).allSatisfy(line -> assertThat(line).matches("Result: (\\d+) \\* \\1 = \\d+"));
      assertThat(worker.get()).contains("task queue is empty.", "worker exit.");
    } finally {
      workerThread.shutdownNow();
    }
  }
}
