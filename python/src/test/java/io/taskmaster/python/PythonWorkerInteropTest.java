package io.taskmaster.python;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.taskmaster.broker.Broker;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.broker.Brokers;
import io.taskmaster.python.listener.PythonListener;
import io.taskmaster.python.listener.PythonListenerSettings;
import io.taskmaster.queue.RawQueue;
import io.taskmaster.testkit.PythonProcess;
import io.taskmaster.testkit.Pythons;
import io.taskmaster.server.embedded.EmbeddedBroker;
import io.taskmaster.server.engine.EngineSettings;
import io.taskmaster.server.engine.QueueEngine;
import io.taskmaster.time.Ticker;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.LoggerFactory;

/**
 * Unmodified Python workers and producers against a Taskmaster master's managers port, under every Python 3.6 to
 * 3.13 the machine has: the tutorial's worker, every queue method with the values that must cross, a wrong key,
 * and many Python workers at once.
 */
class PythonWorkerInteropTest {
  /** The tutorial's key: short keys are allowed on loopback, with a warning. */
  private static final String KEY = "abc";

  private QueueEngine engine;
  private PythonListener listener;
  private Broker broker;

  @BeforeEach
  void startListener() {
    engine = new QueueEngine(EngineSettings.defaults(), Ticker.system());
    listener = PythonListener.start(new PythonListenerSettings("127.0.0.1", 0, KEY.getBytes(StandardCharsets.UTF_8),
        PythonListenerSettings.defaultQueues(), 16 << 20, Duration.ofSeconds(10), 100, false), engine);
    broker = new EmbeddedBroker(engine, "python-test");
  }

  @AfterEach
  void stop() {
    broker.close();
    listener.close();
  }

  private RawQueue queue(String name) {
    return new RawQueue(broker, name);
  }

  @ParameterizedTest(name = "Python {0}")
  @MethodSource("io.taskmaster.testkit.Pythons#versions")
  void theTutorialWorkerServesATaskmasterQueue(String version) throws InterruptedException {
    Path python = Pythons.require(version);
    Random random = new Random(version.hashCode());
    Set<String> expected = new HashSet<>();
    for (int i = 0; i < 10; i++) {
      int n = random.nextInt(10_000);
      queue("tasks").putJson(n);
      expected.add(n + " * " + n + " = " + (long) n * n);
    }

    PythonProcess worker = PythonProcess.run(python, Pythons.script("task_worker.py"), listener.port(), KEY, 11, 0);

    assertThat(worker.exitCode()).as(worker.stderr()).isZero();
    assertThat(worker.stdout()).contains("worker exit.");
    assertThat(worker.stdout().split("task queue is empty.", -1)).as("one queue.Empty, raised in Python").hasSize(2);
    Set<String> results = new HashSet<>();
    for (int i = 0; i < 10; i++) {
      results.add(queue("results").takeJson(Duration.ofSeconds(5), String.class).orElseThrow());
    }
    assertThat(results).isEqualTo(expected);
    assertThat(queue("results").size()).isZero();
  }

  @ParameterizedTest(name = "Python {0}")
  @MethodSource("io.taskmaster.testkit.Pythons#versions")
  void everyQueueMethodKeepsItsPythonMeaning(String version) {
    Path python = Pythons.require(version);

    PythonProcess run = PythonProcess.run(python, Pythons.script("queue_methods.py"), listener.port(), KEY);

    assertThat(run.exitCode()).as(run.stderr()).isZero();
    assertThat(run.stdout().lines()).containsExactly(
        "empty True 0 False",
        "qsize 11 False",
        "roundtrip True",
        "bytes type bytes",
        "get_nowait now",
        "Empty raised", "Empty raised", "Empty raised",
        "TypeError True",
        "big True",
        "done");
  }

  @Test
  void whatAPythonProducerPutsJavaReadsAsJson() throws InterruptedException {
    Path python = Pythons.require("3.13");

    PythonProcess producer = PythonProcess.run(python, Pythons.script("producer.py"), listener.port(), KEY);

    assertThat(producer.exitCode()).as(producer.stderr()).isZero();
    List<String> items = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      items.add(new String(queue("tasks").take(Duration.ofSeconds(5)).orElseThrow(), StandardCharsets.UTF_8));
    }
    assertThat(items).containsExactly("{\"$bytes\":\"AP8=\"}", "{\"k\":\"v\",\"2\":3}", "\"h\u00e9llo\"", "[1,2.5]",
        "1180591620717411303424");
  }

  @ParameterizedTest(name = "Python {0}")
  @MethodSource("wrongKeyVersions")
  void aWrongKeyIsRefusedOnBothSides(String version) {
    Path python = Pythons.require(version);
    Logger sessionLog = (Logger) LoggerFactory.getLogger(PythonListener.class);
    ListAppender<ILoggingEvent> logged = new ListAppender<>();
    logged.start();
    sessionLog.addAppender(logged);
    try {
      PythonProcess worker = PythonProcess.run(python, Pythons.script("task_worker.py"), listener.port(), "wrong", 1,
          0);

      assertThat(worker.exitCode()).isNotZero();
      assertThat(worker.stderr()).contains("AuthenticationError").contains("digest sent was rejected");
      assertThat(logged.list).extracting(ILoggingEvent::getFormattedMessage)
          .anySatisfy(line -> assertThat(line).contains("wrong auth key").doesNotContain("wrong\""));
    } finally {
      sessionLog.detachAppender(logged);
    }
  }

  static List<String> wrongKeyVersions() {
    return List.of("3.6", "3.11", "3.12", "3.13"); // both challenge schemes, both sides of the 3.12 change
  }

  @Test
  void manyPythonWorkersAtOnceShareTheQueue() throws InterruptedException {
    Path python = Pythons.require("3.13");
    int tasks = 200;
    Set<String> expected = new HashSet<>();
    for (int n = 0; n < tasks; n++) {
      queue("tasks").putJson(n);
      expected.add(n + " * " + n + " = " + n * n);
    }
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<CompletableFuture<PythonProcess>> workers = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        workers.add(CompletableFuture.supplyAsync(() -> PythonProcess.run(python, Pythons.script("task_worker.py"),
            listener.port(), KEY, tasks / 8 + 5, 0), pool));
      }
      for (CompletableFuture<PythonProcess> worker : workers) {
        assertThat(worker.join().exitCode()).as(worker.join().stderr()).isZero();
      }
    } finally {
      pool.shutdown();
    }
    Set<String> results = new HashSet<>();
    for (int i = 0; i < tasks; i++) {
      results.add(queue("results").takeJson(Duration.ofSeconds(5), String.class).orElseThrow());
    }
    assertThat(results).as("every task served exactly once").isEqualTo(expected);
  }
}
