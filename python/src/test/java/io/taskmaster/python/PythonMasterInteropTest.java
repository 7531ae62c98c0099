package io.taskmaster.python;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.taskmaster.broker.AuthenticationException;
import io.taskmaster.broker.BrokerUnavailableException;
import io.taskmaster.python.bridge.PythonMasterWorker;
import io.taskmaster.python.client.PythonManager;
import io.taskmaster.python.client.PythonQueue;
import io.taskmaster.python.client.PythonRemoteException;
import io.taskmaster.testkit.PythonProcess;
import io.taskmaster.testkit.Pythons;
import io.taskmaster.worker.BuiltinTasks;
import io.taskmaster.worker.Handlers;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Taskmaster against a Python master: the tutorial's master served by a Java worker, and the Java client API. */
class PythonMasterInteropTest {
  private static final String KEY = "abc";

  private static int freePort() {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @ParameterizedTest(name = "Python {0}")
  @MethodSource("io.taskmaster.testkit.Pythons#versions")
  void theTutorialMasterGetsAllTenResultsFromATaskmasterWorker(String version) throws Exception {
    Path python = Pythons.require(version);
    int port = freePort();
    // The worker starts first: it waits for the master, as the CLI's does.
    PythonMasterWorker worker = new PythonMasterWorker(new PythonMasterWorker.Settings("127.0.0.1", port,
        KEY.getBytes(StandardCharsets.UTF_8), "get_task_queue", "get_result_queue", "square", 2),
        new Handlers().add(new BuiltinTasks()));
    long[] done = new long[1];
    java.util.concurrent.CountDownLatch stop = new java.util.concurrent.CountDownLatch(1); // never asked here
    Thread serving = new Thread(() -> {
      try {
        done[0] = worker.run(wait -> stop.await(wait.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    serving.start();
    try (PythonProcess.Running master = PythonProcess.start(python, Pythons.script("task_master.py"), port, KEY)) {
      assertThat(master.awaitExit()).as(master.stderr()).isZero();
      serving.join(60_000);
      Matcher puts = Pattern.compile("Put task (\\d+)").matcher(master.stdout());
      List<String> expected = new java.util.ArrayList<>();
      while (puts.find()) {
        long n = Long.parseLong(puts.group(1));
        expected.add("Result: " + n * n);
      }
      assertThat(expected).hasSize(10);
      assertThat(master.stdout().lines().filter(line -> line.startsWith("Result: ")))
          .containsExactlyInAnyOrderElementsOf(expected);
      assertThat(master.stdout()).contains("master exit.");
      assertThat(done[0]).isEqualTo(10);
      assertThat(serving.isAlive()).as("the worker ends when the master goes away").isFalse();
    }
  }

  @Test
  void theJavaClientUsesAPythonMastersQueuesWithAClearEmptyResult() {
    Path python = Pythons.require("3.13");
    int port = freePort();
    try (PythonProcess.Running server = PythonProcess.start(python, Pythons.script("queue_server.py"), port, KEY)) {
      server.awaitStdout("serving");
      try (PythonManager manager = PythonManager.connect("127.0.0.1", port, KEY.getBytes(StandardCharsets.UTF_8))) {
        PythonQueue tasks = manager.queue("get_task_queue");
        assertThat(tasks.get(Duration.ofMillis(100), Integer.class)).as("queue.Empty is an empty result").isEmpty();
        tasks.put(7);
        tasks.put(Map.of("name", "héllo ✓", "sizes", List.of(1, 2)));
        tasks.put(new byte[] {0, -1});
        assertThat(tasks.size()).isEqualTo(3);
        assertThat(tasks.get(Duration.ofSeconds(5), Integer.class)).contains(7);
        assertThat(tasks.get(Duration.ofSeconds(5), Map.class)).contains(Map.of("name", "héllo ✓", "sizes",
            List.of(1, 2)));
        assertThat(new String(tasks.getJson(Duration.ofSeconds(5)).orElseThrow(), StandardCharsets.UTF_8))
            .isEqualTo("{\"$bytes\":\"AP8=\"}");
        assertThatThrownBy(() -> manager.queue("get_nothing")).isInstanceOf(PythonRemoteException.class)
            .hasMessageContaining("get_nothing");
        // Any registered object, any exposed method: here the queue's own, through the generic proxy.
        io.taskmaster.python.client.PythonProxy results = manager.proxy("get_result_queue");
        assertThat(results.exposed()).contains("put", "get", "qsize", "empty");
        results.call("put", "héllo");
        assertThat(results.call("empty")).isEqualTo(false);
        assertThat(results.call("get", List.of(true, 5))).isEqualTo("héllo");
        assertThatThrownBy(() -> results.call("get_nowait")).isInstanceOf(PythonRemoteException.class)
            .extracting(e -> ((PythonRemoteException) e).pythonType()).asString().endsWith("Empty");
      }
      assertThatThrownBy(() -> PythonManager.connect("127.0.0.1", port, "wrong".getBytes(StandardCharsets.UTF_8)))
          .isInstanceOf(AuthenticationException.class).hasMessageContaining("rejected the auth key")
          .hasMessageNotContaining("wrong");
    }
    assertThatThrownBy(() -> PythonManager.connect("127.0.0.1", port, KEY.getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(BrokerUnavailableException.class).hasMessageContaining("is it running");
  }
}
