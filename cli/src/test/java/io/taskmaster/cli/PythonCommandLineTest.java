package io.taskmaster.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskmaster.broker.AuthKey;
import io.taskmaster.broker.Broker;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.broker.Brokers;
import io.taskmaster.queue.RawQueue;
import io.taskmaster.testkit.JavaProcess;
import io.taskmaster.testkit.PythonProcess;
import io.taskmaster.testkit.Pythons;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Python interop as a user runs it: `taskmaster master --python-port`, `taskmaster worker --python-master`. */
class PythonCommandLineTest {
  private static final Duration START = Duration.ofSeconds(60);

  @TempDir
  Path dir;

  private Path keyFile() throws IOException {
    // The tutorial's key, written by an editor: the trailing newline is not part of the key.
    return Files.writeString(dir.resolve("key.txt"), "abc\n");
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  @ParameterizedTest(name = "Python {0}")
  @ValueSource(strings = {"3.6", "3.13"})
  void theTutorialWorkerServesAMasterStartedWithPythonPort(String version) throws Exception {
    Path python = Pythons.require(version);
    int pythonPort = freePort();
    try (JavaProcess master = JavaProcess.start(Main.class.getName(), List.of("master", "--port", "0",
        "--authkey-file", keyFile().toString(), "--python-port", Integer.toString(pythonPort)), Map.of())) {
      String uri = "taskmaster://" + master.awaitStderr("master listening on taskmaster://(\\S+) ", START);
      master.awaitStderr("Python managers listener on", START);
      assertThat(master.stderr()).contains("The auth key is only 3 bytes");
      Set<String> expected = new HashSet<>();
      try (Broker broker = Brokers.open(uri, BrokerOptions.withKey(AuthKey.of("abc")))) {
        for (int n = 1; n <= 10; n++) {
          new RawQueue(broker, "tasks").putJson(n * 111);
          expected.add(n * 111 + " * " + n * 111 + " = " + (n * 111) * (n * 111));
        }
        PythonProcess worker = PythonProcess.run(python, Pythons.script("task_worker.py"), pythonPort, "abc", 10, 0);
        assertThat(worker.exitCode()).as(worker.stderr()).isZero();
        Set<String> results = new HashSet<>();
        for (int i = 0; i < 10; i++) {
          results.add(new RawQueue(broker, "results").takeJson(START, String.class).orElseThrow());
        }
        assertThat(results).isEqualTo(expected);
      }
      master.terminate();
      assertThat(master.awaitExit(START)).isZero();
    }
  }

  @ParameterizedTest(name = "Python {0}")
  @ValueSource(strings = {"3.6", "3.13"})
  void theTutorialMasterGetsItsResultsFromATaskmasterWorker(String version) throws Exception {
    Path python = Pythons.require(version);
    int port = freePort();
    try (JavaProcess worker = JavaProcess.start(Main.class.getName(), List.of("worker", "--python-master",
        "127.0.0.1:" + port, "--authkey-file", keyFile().toString(), "--python-task", "square"), Map.of())) {
      worker.awaitStderr("retrying until it is up", START);
      try (PythonProcess.Running master = PythonProcess.start(python, Pythons.script("task_master.py"), port,
          "abc")) {
        assertThat(master.awaitExit()).as(master.stderr()).isZero();
        assertThat(master.stdout().lines().filter(line -> line.startsWith("Result: "))).hasSize(10);
      }
      assertThat(worker.awaitExit(START)).as(worker.stderr()).isZero();
      assertThat(worker.stderr()).contains("10 task(s) succeeded");
    }
  }

  @Test
  void aShortKeyOffLoopbackIsRefusedUnlessAllowed() throws Exception {
    try (JavaProcess refused = JavaProcess.start(Main.class.getName(), List.of("master", "--port", "0",
        "--authkey-file", keyFile().toString(), "--python-port", "0", "--python-host", "0.0.0.0"), Map.of())) {
      assertThat(refused.awaitExit(START)).isEqualTo(ExitCodes.USAGE);
      assertThat(refused.stderr()).contains("--allow-weak-key").doesNotContain("abc");
    }
    try (JavaProcess allowed = JavaProcess.start(Main.class.getName(), List.of("master", "--port", "0",
        "--authkey-file", keyFile().toString(), "--python-port", "0", "--python-host", "0.0.0.0",
        "--allow-weak-key"), Map.of())) {
      allowed.awaitStderr("Python managers listener on 0.0.0.0", START);
      assertThat(allowed.stderr()).contains("not encrypted");
      allowed.terminate();
      assertThat(allowed.awaitExit(START)).isZero();
    }
  }
}
