package io.taskmaster.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.taskmaster.task.RemoteTaskException;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The process pool: child JVMs that crash (System.exit, OutOfMemoryError, kill -9) are replaced and never take the
 * pool or the caller down; a task that kills every process it reaches fails with WorkerCrashedException.
 */
class ProcessPoolTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  @Test
  void processesRunTasksInMapOrderAndAsTheyComplete() {
    try (TaskPool pool = TaskPool.processes(2, PoolTasks.class)) {
      List<Integer> inputs = IntStream.rangeClosed(1, 100).boxed().toList();
      List<Integer> squares = inputs.stream().map(n -> n * n).toList();
      assertThat(pool.map(PoolTasks.SQUARE, inputs)).containsExactlyElementsOf(squares);
      List<Integer> unordered = new ArrayList<>();
      pool.imapUnordered(PoolTasks.SQUARE, inputs).forEach(unordered::add);
      assertThat(unordered).containsExactlyInAnyOrderElementsOf(squares);
      assertThatThrownBy(() -> pool.apply(PoolTasks.BOOM, "in a child")).isInstanceOf(RemoteTaskException.class)
          .hasMessageContaining("in a child");
      assertThat(pool.workerPids()).hasSize(2).doesNotContain(ProcessHandle.current().pid());
    }
  }

  @Test
  void threadsPerProcessRunThatManyTasksAtOnceOnPlatformThreads() {
    String thread = runAtOnceInOneProcess(TaskPool.Options.defaults().withThreadsPerProcess(2), 2);
    assertThat(thread).as("a CPU-bound worker's thread").startsWith("taskmaster-task-");
  }

  @Test
  void ioThreadsPerProcessRunThatManyTasksAtOnceOutsideTheCpuBoundThreads() {
    String thread = runAtOnceInOneProcess(TaskPool.Options.defaults().withIoThreadsPerProcess(20), 20);
    assertThat(thread).as("a virtual or IO thread").doesNotStartWith("taskmaster-task-");
  }

  /**
   * In a pool of one process, sees {@code count} long waits report their start at once, cancels them, and returns
   * the name of the thread a task then runs on.
   */
  private static String runAtOnceInOneProcess(TaskPool.Options options, int count) {
    try (TaskPool pool = TaskPool.processes(1, options, PoolTasks.class)) {
      List<TaskFuture<Integer>> waits = IntStream.range(0, count)
          .mapToObj(i -> pool.applyAsync(PoolTasks.SLOW, 600_000)).toList();
      Awaitility.await(count + " tasks running at once in one process").atMost(WAIT)
          .until(() -> waits.stream().allMatch(wait -> wait.progress().isPresent()));
      waits.forEach(wait -> assertThat(wait.cancel(true)).isTrue());
      return pool.apply(PoolTasks.THREAD, "");
    }
  }

  @Test
  void aProcessThatExitsIsReplacedAndItsTaskFailsAfterItsLastAttemptNamingTheExit() {
    try (TaskPool pool = TaskPool.processes(2, TaskPool.Options.defaults().withMaxAttempts(2), PoolTasks.class)) {
      assertThatThrownBy(() -> pool.apply(PoolTasks.EXIT, 7)).isInstanceOf(WorkerCrashedException.class)
          .hasMessageContaining("exited with code 7");
      Awaitility.await("both crashes seen").atMost(WAIT).until(() -> pool.crashes() == 2);
      Awaitility.await("both processes replaced").atMost(WAIT).until(() -> pool.workerPids().size() == 2);
      assertThat(pool.apply(PoolTasks.SQUARE, 12)).as("the pool goes on").isEqualTo(144);
    }
  }

  @Test
  void aProcessKilledWithSigkillOnItsTasksLastAttemptIsNamedWithTheSignal() {
    try (TaskPool pool = TaskPool.processes(1, TaskPool.Options.defaults().withMaxAttempts(1), PoolTasks.class)) {
      TaskFuture<Integer> running = pool.applyAsync(PoolTasks.SLOW, 600_000);
      Awaitility.await("the task's first report").atMost(WAIT).until(() -> running.progress().isPresent());
      long pid = pool.workerPids().get(0);

      ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly); // kill -9

      String crash = "worker-1 (pid " + pid + ") was killed by SIGKILL (exit code 137)";
      assertThat(running).failsWithin(WAIT).withThrowableThat().havingCause()
          .isInstanceOfSatisfying(WorkerCrashedException.class, e -> assertThat(e.crash()).isEqualTo(crash))
          .withMessageContaining("task " + running.taskId() + " failed after its last attempt")
          .withMessageContaining(crash);
      assertThat(pool.apply(PoolTasks.SQUARE, 5)).as("served by the replacement").isEqualTo(25);
    }
  }

  @Test
  void aProcessOutOfMemoryIsReplaced() {
    TaskPool.Options small = TaskPool.Options.defaults().withMaxAttempts(1).withJvmOptions("-Xmx64m");
    try (TaskPool pool = TaskPool.processes(1, small, PoolTasks.class)) {
      assertThatThrownBy(() -> pool.apply(PoolTasks.HOG, 8)).isInstanceOf(WorkerCrashedException.class)
          .hasMessageContaining("out of memory");
      assertThat(pool.apply(PoolTasks.SQUARE, 3)).isEqualTo(9);
    }
  }

  @Test
  void aHandlerThatIgnoresItsTimeLimitHasItsProcessKilledAndReplaced() {
    try (TaskPool pool = TaskPool.processes(1, TaskPool.Options.defaults().withMaxAttempts(1), PoolTasks.class)) {
      CompletableFuture<Integer> stubborn = pool.applyAsync(PoolTasks.STUBBORN, 120_000, Duration.ofMillis(300));
      assertThat(stubborn).failsWithin(WAIT).withThrowableThat().havingCause()
          .isInstanceOf(WorkerCrashedException.class).withMessageContaining("ignored its interruption at its time limit");
      assertThat(pool.apply(PoolTasks.SQUARE, 4)).as("served by the replacement").isEqualTo(16);
    }
  }

  @Test
  void aTaskCancelledByItsCallerNeverStartsIfQueuedAndIsInterruptedInItsProcessIfRunning() {
    try (TaskPool pool = TaskPool.processes(1, PoolTasks.class)) {
      TaskFuture<Integer> running = pool.applyAsync(PoolTasks.SLOW, 600_000);
      List<String> reports = new java.util.concurrent.CopyOnWriteArrayList<>();
      running.onProgress(report -> reports.add(report.message()));
      Awaitility.await("the task's first report").atMost(WAIT).until(() -> reports.contains("started"));
      long pid = pool.workerPids().get(0);
      TaskFuture<Integer> queued = pool.applyAsync(PoolTasks.SLOW, 600_000);

      assertThat(queued.cancel(true)).as("a task behind the running one is cancelled on the master").isTrue();
      assertThat(queued).isCancelled();
      assertThat(running.cancel(true)).isTrue();

      assertThat(pool.apply(PoolTasks.SQUARE, 7)).as("the one process is free again").isEqualTo(49);
      assertThat(pool.workerPids()).as("interrupted, not killed").containsExactly(pid);
      assertThat(pool.crashes()).isZero();
    }
  }

  @Test
  void aRunningHandlerThatIgnoresItsCancellationHasItsProcessKilledAndReplaced() {
    try (TaskPool pool = TaskPool.processes(1, PoolTasks.class)) {
      TaskFuture<Integer> stubborn = pool.applyAsync(PoolTasks.STUBBORN, 600_000);
      Awaitility.await("the task's first report").atMost(WAIT).until(() -> stubborn.progress().isPresent());
      long pid = pool.workerPids().get(0);

      assertThat(stubborn.cancel(true)).isTrue();
      assertThat(stubborn).isCancelled();

      Awaitility.await("the stuck process replaced").atMost(WAIT).until(() -> pool.crashes() == 1);
      assertThat(pool.apply(PoolTasks.SQUARE, 8)).as("served by the replacement").isEqualTo(64);
      assertThat(pool.workerPids()).doesNotContain(pid);
    }
  }

  @Test
  void terminateKillsTheProcessesAndFailsWhatIsNotDone() {
    TaskPool pool = TaskPool.processes(1, PoolTasks.class);
    TaskFuture<Integer> running = pool.applyAsync(PoolTasks.SLOW, 600_000);
    Awaitility.await("the task's first report").atMost(WAIT).until(() -> running.progress().isPresent());
    TaskFuture<Integer> queued = pool.applyAsync(PoolTasks.SQUARE, 2);
    ProcessHandle child = ProcessHandle.of(pool.workerPids().get(0)).orElseThrow();

    pool.terminate();

    assertThat(List.of(running, queued)).allSatisfy(future -> assertThat(future).failsWithin(Duration.ZERO)
        .withThrowableThat().havingCause().withMessageContaining("terminated"));
    assertThat(child.onExit()).as("the worker process is gone").succeedsWithin(WAIT);
    assertThat(pool.crashes()).as("a process the pool stops is not a crash").isZero();
    assertThatThrownBy(() -> pool.apply(PoolTasks.SQUARE, 2)).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void aProcessKilledMidTaskHasItsTaskRunAgainOnAnother() throws Exception {
    try (TaskPool pool = TaskPool.processes(2, PoolTasks.class)) {
      pool.apply(PoolTasks.SQUARE, 1); // both up
      CompletableFuture<Integer> slow = pool.applyAsync(PoolTasks.SLOW, 2_000);
      List<Long> before = pool.workerPids();
      // kill -9 both: whichever holds the task dies; the replacement runs it again
      for (long pid : before) {
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
      }
      assertThat(slow).succeedsWithin(WAIT).isEqualTo(2_000);
      Awaitility.await("both crashes seen").atMost(WAIT).until(() -> pool.crashes() == 2);
      assertThat(pool.workerPids()).doesNotContainAnyElementsOf(before);
    }
  }

  @Test
  void processesKilledTogetherAreEachNamedInTheFailureOfTheirOwnTask() {
    try (TaskPool pool = TaskPool.processes(2, TaskPool.Options.defaults().withMaxAttempts(1), PoolTasks.class)) {
      List<TaskFuture<Integer>> running = IntStream.range(0, 2)
          .mapToObj(i -> pool.applyAsync(PoolTasks.SLOW_SAYING_PID, 600_000)).toList();
      Awaitility.await("each task running, in its own process").atMost(WAIT).until(() ->
          running.stream().allMatch(task -> task.progress().isPresent())
              && !pidOf(running.get(0)).equals(pidOf(running.get(1))));
      pool.workerPids().forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));

      for (TaskFuture<Integer> task : running) {
        assertThat(task).failsWithin(WAIT).withThrowableThat().havingCause()
            .isInstanceOf(WorkerCrashedException.class)
            .withMessageContaining("(pid " + pidOf(task) + ") was killed by SIGKILL");
      }
    }
  }

  private static String pidOf(TaskFuture<Integer> task) {
    return task.progress().orElseThrow().message();
  }

  @Test
  void childOutputIsForwardedWithItsPrefixOrWrittenToFiles(@TempDir Path logs) throws Exception {
    PrintStream console = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try (TaskPool pool = TaskPool.processes(1, PoolTasks.class)) {
      pool.apply(PoolTasks.SAY, "hello from the child");
      long pid = pool.workerPids().get(0);
      Awaitility.await("a prefixed line").atMost(WAIT).until(() ->
          captured.toString(StandardCharsets.UTF_8).contains("[worker-1 pid " + pid + "] hello from the child"));
    } finally {
      System.setErr(console);
    }
    try (TaskPool pool = TaskPool.processes(1, TaskPool.Options.defaults().withOutputDirectory(logs),
        PoolTasks.class)) {
      pool.apply(PoolTasks.SAY, "to the file");
      Awaitility.await("the worker's log file").atMost(WAIT).until(() -> Files.exists(logs.resolve(
          "worker-1.err.log")) && Files.readString(logs.resolve("worker-1.err.log")).contains("to the file"));
    }
  }
}
