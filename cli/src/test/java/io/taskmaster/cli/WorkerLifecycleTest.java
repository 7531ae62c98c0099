package io.taskmaster.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskmaster.broker.AuthKey;
import io.taskmaster.broker.Broker;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.broker.Brokers;
import io.taskmaster.producer.Producer;
import io.taskmaster.producer.SubmitOptions;
import io.taskmaster.producer.TaskHandle;
import io.taskmaster.broker.DeadLetters;
import io.taskmaster.broker.Delivery;
import io.taskmaster.server.engine.EngineSettings;
import io.taskmaster.server.master.Master;
import io.taskmaster.task.RemoteTaskException;
import io.taskmaster.server.net.MasterSettings;
import io.taskmaster.testkit.JavaProcess;
import io.taskmaster.testkit.TcpProxy;
import io.taskmaster.worker.BuiltinTasks;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/** A worker JVM against a master in the test JVM: SIGTERM drain, reconnects, waiting for a master. */
class WorkerLifecycleTest {
  private static final String SECRET = "lifecycle-test-key-0123456789abcdef";
  private static final AuthKey KEY = AuthKey.of(SECRET);
  private static final Duration START = Duration.ofSeconds(30);
  /** The pid of the supervised child crew-1 once it serves. */
  private static final String SERVING = "\\[crew-1 pid (\\d+)\\] .*worker crew-1 serving";

  private static JavaProcess worker(String uri, String... extra) {
    List<String> args = new java.util.ArrayList<>(List.of("worker", "--connect", uri, "--id", "w-life"));
    args.addAll(List.of(extra));
    return JavaProcess.start(Main.class.getName(), args, Map.of(AuthKey.ENV, SECRET));
  }

  @Test
  void sigtermFinishesTheTaskInHandThenExitsZero() {
    try (Master master = Master.start(MasterSettings.of(0, KEY));
        Broker broker = Brokers.open(master.uri(), BrokerOptions.withKey(KEY));
        JavaProcess worker = worker(master.uri(), "--concurrency", "1")) {
      worker.awaitStderr("worker w-life serving", START);
      TaskHandle<Long> slow = Producer.on(broker).submit(BuiltinTasks.SLEEP, 1500L);
      Awaitility.await("the worker holds the task").atMost(START)
          .until(() -> master.engine().stats().leased() == 1);

      worker.terminate();

      assertThat(slow.result()).succeedsWithin(START).isEqualTo(1500L);
      assertThat(worker.awaitExit(START)).as(worker.stderr()).isZero();
      assertThat(worker.stderr()).contains("SIGTERM received").contains("1 succeeded");
      assertThat(master.engine().stats().leased()).isZero();
    }
  }

  /** Row 39, second case: a task longer than the grace period is released at once, not after its lease runs out. */
  @Test
  void sigtermReleasesATaskThatOutlastsTheGracePeriod() {
    try (Master master = Master.start(MasterSettings.of(0, KEY),
            EngineSettings.defaults().withVisibilityTimeout(Duration.ofMinutes(10)));
        Broker broker = Brokers.open(master.uri(), BrokerOptions.withKey(KEY));
        JavaProcess worker = worker(master.uri(), "--concurrency", "1", "--grace", "1s")) {
      worker.awaitStderr("worker w-life serving", START);
      Producer.on(broker).submit(BuiltinTasks.SLEEP, 120_000L);
      Awaitility.await("the worker holds the task").atMost(START)
          .until(() -> master.engine().stats().leased() == 1);

      worker.terminate();

      assertThat(worker.awaitExit(START)).as(worker.stderr()).isZero();
      Awaitility.await("released for another worker, well before its 10 min lease").atMost(START)
          .until(() -> master.engine().stats().leased() == 0 && master.engine().size("tasks") == 1);
      Delivery again = broker.lease("tasks", 1, Duration.ZERO).join().get(0);
      assertThat(again.attempt()).as("a release is not an attempt").isEqualTo(1);
    }
  }

  @Test
  void reconnectsAfterAMasterRestartAndSaysSoOnce() {
    Master first = Master.start(MasterSettings.of(0, KEY));
    int port = first.port();
    try (JavaProcess worker = worker(first.uri())) {
      worker.awaitStderr("worker w-life serving", START);
      first.close();
      worker.awaitStderr("lost the connection to the master", START);

      try (Master second = Master.start(MasterSettings.of(port, KEY));
          Broker broker = Brokers.open(second.uri(), BrokerOptions.withKey(KEY))) {
        TaskHandle<Long> handle = Producer.on(broker).submit(BuiltinTasks.SQUARE, 9L);

        assertThat(handle.result()).succeedsWithin(START).isEqualTo(81L);
        worker.awaitStderr("reconnected to the master", START);
        assertThat(count(worker.stderr(), "lost the connection to the master")).isEqualTo(1);
        assertThat(count(worker.stderr(), "reconnected to the master")).isEqualTo(1);
      }
    }
  }

  @Test
  void waitsForAMasterThatIsNotUpYet() {
    Master probe = Master.start(MasterSettings.of(0, KEY));
    int port = probe.port();
    probe.close();
    try (JavaProcess worker = worker("taskmaster://127.0.0.1:" + port)) {
      worker.awaitStderr("retrying until it is up", START);

      try (Master master = Master.start(MasterSettings.of(port, KEY));
          Broker broker = Brokers.open(master.uri(), BrokerOptions.withKey(KEY))) {
        TaskHandle<Long> handle = Producer.on(broker).submit(BuiltinTasks.SQUARE, 5L);
        assertThat(handle.result()).succeedsWithin(START).isEqualTo(25L);
      }
    }
  }

  @Test
  void killedWorkersTaskGoesToAnotherWorker() {
    try (Master master = Master.start(MasterSettings.of(0, KEY));
        Broker broker = Brokers.open(master.uri(), BrokerOptions.withKey(KEY));
        JavaProcess doomed = worker(master.uri(), "--concurrency", "1")) {
      doomed.awaitStderr("worker w-life serving", START);
      TaskHandle<Long> slow = Producer.on(broker).submit(BuiltinTasks.SLEEP, 60_000L);
      Awaitility.await().atMost(START).until(() -> master.engine().stats().leased() == 1);

      doomed.kill();
      Awaitility.await("the lease returns").atMost(START).until(() -> master.engine().stats().leased() == 0);
      assertThat(master.engine().size("tasks")).isEqualTo(1);
      assertThat(slow.result()).isNotDone();

      // Another worker takes it over and finishes it (reliability-tests.md row 13).
      TaskHandle<Long> quick = Producer.on(broker).submit(BuiltinTasks.SQUARE, 12L);
      try (JavaProcess heir = worker(master.uri(), "--concurrency", "2")) {
        assertThat(quick.result()).succeedsWithin(START).isEqualTo(144L);
        Awaitility.await("the heir runs the orphaned task").atMost(START)
            .until(() -> master.engine().stats().leased() == 1);
      }
    }
  }

  /** A task that kills every worker it reaches ends in the dead letters instead of looping (row 15). */
  @Test
  void aPoisonTaskThatKillsItsWorkersIsDeadLettered() {
    try (Master master = Master.start(MasterSettings.of(0, KEY), EngineSettings.defaults().withMaxAttempts(2));
        Broker broker = Brokers.open(master.uri(), BrokerOptions.withKey(KEY))) {
      TaskHandle<String> poison = Producer.on(broker).submit(GreetingTasks.CRASH, "boom");
      for (int victim = 1; victim <= 2; victim++) {
        try (JavaProcess worker = worker(master.uri(), "--tasks", GreetingTasks.class.getName())) {
          assertThat(worker.awaitExit(START)).as("worker %d dies on the poison task", victim).isEqualTo(3);
        }
      }

      assertThat(poison.result()).failsWithin(START).withThrowableThat()
          .havingRootCause().isInstanceOfSatisfying(RemoteTaskException.class,
              e -> assertThat(e.remoteType()).isEqualTo("io.taskmaster.WorkerLost"));
      DeadLetters dead = broker.deadLetters("tasks", 0, 10).join();
      assertThat(dead.page()).singleElement().satisfies(letter ->
          assertThat(letter.attempts()).hasSize(2).allSatisfy(error ->
              assertThat(error.type()).isEqualTo("io.taskmaster.WorkerLost")));
    }
  }

  /**
   * Row 11: a worker paused (SIGSTOP) past its lease loses the task to another worker; when it resumes, its late
   * outcome is refused and the other worker's result is the one the producer gets.
   */
  @Test
  void aPausedWorkersLateOutcomeIsRefusedAndTheHeirsResultStands() throws Exception {
    try (Master master = Master.start(MasterSettings.of(0, KEY),
            EngineSettings.defaults().withVisibilityTimeout(Duration.ofSeconds(2)));
        Broker broker = Brokers.open(master.uri(), BrokerOptions.withKey(KEY));
        JavaProcess paused = worker(master.uri(), "--concurrency", "1")) {
      paused.awaitStderr("worker w-life serving", START);
      TaskHandle<Long> task = Producer.on(broker).submit(BuiltinTasks.SLEEP, 1500L);
      Awaitility.await().atMost(START).until(() -> master.engine().stats().leased() == 1);

      signal(paused, "STOP");
      try (JavaProcess heir = JavaProcess.start(Main.class.getName(), List.of("worker", "--connect", master.uri(),
          "--id", "w-heir"), Map.of(AuthKey.ENV, SECRET))) {
        assertThat(task.result()).succeedsWithin(START).isEqualTo(1500L);
      } finally {
        signal(paused, "CONT");
      }
      paused.awaitStderr("the lease was lost before the outcome arrived", START);
      assertThat(master.engine().stats().storedResults()).isEqualTo(1);
      assertThat(master.engine().stats().leased()).isZero();
      assertThat(broker.deadLetters("tasks", 0, 10).join().total()).isZero();
    }
  }

  /**
   * Row 14: a worker cut off by a partition (a proxy that holds every byte, as a black-holed route does) loses its
   * lease by timeout; another worker completes the task; after the partition heals, the first worker's late outcome
   * is refused and nothing is recorded twice.
   */
  @Test
  void aPartitionedWorkersLeaseIsReclaimedAndItsOutcomeRefusedAfterTheHeal() {
    try (Master master = Master.start(MasterSettings.of(0, KEY),
            EngineSettings.defaults().withVisibilityTimeout(Duration.ofSeconds(2)));
        TcpProxy proxy = TcpProxy.to(master.port());
        Broker broker = Brokers.open(master.uri(), BrokerOptions.withKey(KEY));
        JavaProcess cut = worker(proxy.uri(), "--concurrency", "1")) {
      cut.awaitStderr("worker w-life serving", START);
      TaskHandle<Long> task = Producer.on(broker).submit(BuiltinTasks.SLEEP, 1500L);
      Awaitility.await().atMost(START).until(() -> master.engine().stats().leased() == 1);

      proxy.stall();
      try (JavaProcess heir = JavaProcess.start(Main.class.getName(), List.of("worker", "--connect", master.uri(),
          "--id", "w-heir"), Map.of(AuthKey.ENV, SECRET))) {
        assertThat(task.result()).succeedsWithin(START).isEqualTo(1500L);
      } finally {
        proxy.heal();
      }
      cut.awaitStderr("the lease was lost before the outcome arrived", START);
      assertThat(master.engine().stats().storedResults()).isEqualTo(1);
      assertThat(master.engine().stats().leased()).isZero();
      assertThat(broker.deadLetters("tasks", 0, 10).join().total()).isZero();
    }
  }

  /** {@code taskmaster worker --processes 2}: a supervised child killed with SIGKILL is replaced; SIGTERM stops all. */
  @Test
  void workerProcessesAreSupervisedAndReplaced() throws Exception {
    try (Master master = Master.start(MasterSettings.of(0, KEY));
        Broker broker = Brokers.open(master.uri(), BrokerOptions.withKey(KEY));
        JavaProcess supervisor = JavaProcess.start(Main.class.getName(), List.of("worker", "--connect", master.uri(),
            "--processes", "2", "--id", "crew"), Map.of(AuthKey.ENV, SECRET))) {
      String pid = supervisor.awaitStderr("\\[crew-1 pid (\\d+)\\] .*worker crew-1 serving", START);
      supervisor.awaitStderr("\\[crew-2 pid \\d+\\] .*worker crew-2 serving", START);
      assertThat(Producer.on(broker).submit(BuiltinTasks.SQUARE, 6L).result()).succeedsWithin(START).isEqualTo(36L);

      ProcessHandle.of(Long.parseLong(pid)).orElseThrow().destroyForcibly();

      supervisor.awaitStderr("crew-1 \\(pid " + pid + "\\) was killed by SIGKILL.*starting a replacement", START);
      String replacement = supervisor.awaitStderr("\\[crew-1 pid (?!" + pid + ")(\\d+)\\] .*worker crew-1 serving",
          START);
      assertThat(replacement).isNotEqualTo(pid);
      assertThat(Producer.on(broker).submit(BuiltinTasks.SQUARE, 7L).result()).succeedsWithin(START).isEqualTo(49L);

      supervisor.terminate();
      assertThat(supervisor.awaitExit(START)).as(supervisor.stderr()).isZero();
      Awaitility.await("the children are gone").atMost(START)
          .until(() -> ProcessHandle.of(Long.parseLong(replacement)).map(h -> !h.isAlive()).orElse(true));
    }
  }

  /** A --processes child killed with SIGKILL while it runs a task is replaced, and the task runs again. */
  @Test
  void aSupervisedChildKilledMidTaskIsReplacedAndItsTaskRunsAgain() {
    try (Master master = Master.start(MasterSettings.of(0, KEY));
        Broker broker = Brokers.open(master.uri(), BrokerOptions.withKey(KEY));
        JavaProcess supervisor = supervisorOfOne(master.uri())) {
      String pid = supervisor.awaitStderr(SERVING, START);
      TaskHandle<Integer> task = Producer.on(broker).submit(GreetingTasks.RERUN, 0);
      Awaitility.await("the child holds the task").atMost(START).until(() -> master.engine().stats().leased() == 1);

      ProcessHandle.of(Long.parseLong(pid)).orElseThrow().destroyForcibly();

      assertThat(task.result()).as("run again, on its second attempt").succeedsWithin(START).isEqualTo(2);
      supervisor.awaitStderr("crew-1 \\(pid " + pid + "\\) was killed by SIGKILL.*starting a replacement", START);
      assertThat(supervisor.awaitStderr(replacing(pid), START)).isNotEqualTo(pid);
    }
  }

  /** As in a pool: a --processes child whose handler ignores its time limit exits, and is replaced. */
  @Test
  void aSupervisedChildWhoseHandlerIgnoresItsTimeLimitExitsAndIsReplaced() {
    try (Master master = Master.start(MasterSettings.of(0, KEY), EngineSettings.defaults().withMaxAttempts(1));
        Broker broker = Brokers.open(master.uri(), BrokerOptions.withKey(KEY));
        JavaProcess supervisor = supervisorOfOne(master.uri())) {
      String pid = supervisor.awaitStderr(SERVING, START);
      TaskHandle<String> deaf = Producer.on(broker).submit(GreetingTasks.DEAF, "x",
          SubmitOptions.defaults().timeout(Duration.ofMillis(300)));

      supervisor.awaitStderr("crew-1 \\(pid " + pid + "\\) exited with code 70 \\(a handler ignored its "
          + "interruption.*starting a replacement", START);
      assertThat(deaf.result()).failsWithin(START).withThrowableThat().havingRootCause()
          .isInstanceOfSatisfying(RemoteTaskException.class,
              e -> assertThat(e.remoteType()).isEqualTo("io.taskmaster.WorkerLost"));
      supervisor.awaitStderr(replacing(pid), START);
      assertThat(Producer.on(broker).submit(BuiltinTasks.SQUARE, 3L).result()).succeedsWithin(START).isEqualTo(9L);
    }
  }

  /** A --processes child notices its supervisor's death (its standard input ends) and stops: no orphans. */
  @Test
  void supervisedChildrenStopWhenTheirSupervisorIsKilled() {
    try (Master master = Master.start(MasterSettings.of(0, KEY));
        JavaProcess supervisor = supervisorOfOne(master.uri())) {
      ProcessHandle child = ProcessHandle.of(Long.parseLong(supervisor.awaitStderr(SERVING, START))).orElseThrow();
      try {
        supervisor.kill();
        assertThat(child.onExit()).as("the orphaned child exits").succeedsWithin(START);
      } finally {
        child.destroyForcibly();
      }
    }
  }

  /** The pid of a crew-1 that serves in place of the one with {@code pid}. */
  private static String replacing(String pid) {
    return "\\[crew-1 pid (?!" + pid + "\\b)(\\d+)\\] .*worker crew-1 serving";
  }

  /** {@code taskmaster worker --processes 1}: a supervisor of one child, crew-1, running one task at a time. */
  private static JavaProcess supervisorOfOne(String uri) {
    return JavaProcess.start(Main.class.getName(), List.of("worker", "--connect", uri, "--processes", "1",
        "--concurrency", "1", "--id", "crew", "--tasks", GreetingTasks.class.getName()), Map.of(AuthKey.ENV, SECRET));
  }

  private static void signal(JavaProcess process, String signal) throws Exception {
    Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid())).inheritIO().start();
    assertThat(kill.waitFor()).as("kill -%s", signal).isZero();
  }

  private static int count(String text, String needle) {
    int count = 0;
    for (int at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + 1)) {
      count++;
    }
    return count;
  }
}
