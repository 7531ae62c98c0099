package io.taskmaster.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.taskmaster.broker.AuthKey;
import io.taskmaster.broker.Broker;
import io.taskmaster.broker.BrokerException;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.broker.Brokers;
import io.taskmaster.broker.Delivery;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.testkit.JavaProcess;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Row 7 on a real limit: the master process gets a file-size limit (RLIMIT_FSIZE, as a full small filesystem would
 * refuse writes), so its journal writes fail with EFBIG. Puts are refused with STORAGE, never acknowledged and lost;
 * acknowledged tasks are still served; when the limit is lifted the master resumes by itself, and a restart finds
 * every acknowledged task.
 */
class MasterDiskFullTest {
  private static final String SECRET = "disk-full-test-key-0123456789abcdef";
  private static final Duration START = Duration.ofSeconds(60);

  @TempDir
  Path dataDir;

  private JavaProcess master() {
    JavaProcess master = JavaProcess.start(Main.class.getName(), List.of("master", "--port", "0", "--data-dir",
        dataDir.toString()), Map.of(AuthKey.ENV, SECRET));
    return master;
  }

  private static void limitFileSize(JavaProcess process, String soft) throws Exception {
    Process prlimit = new ProcessBuilder("prlimit", "--pid", Long.toString(process.pid()), "--fsize=" + soft
        + ":unlimited").redirectErrorStream(true).start();
    String output = new String(prlimit.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(prlimit.waitFor()).as("prlimit: %s", output).isZero();
  }

  private static TaskMessage task(String id) {
    return new TaskMessage(id, "q", "square", Map.of(), "{\"n\":1234567890}".getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void aFullDiskRefusesPutsAndTheMasterResumesWhenSpaceReturns() throws Exception {
    assumeThat(Files.isExecutable(Path.of("/usr/bin/prlimit"))).as("prlimit (util-linux) is installed").isTrue();
    List<String> acknowledged = new ArrayList<>();
    List<CompletableFuture<Void>> waiting = new ArrayList<>();
    String refusal = null;
    try (JavaProcess master = master()) {
      String uri = "taskmaster://" + master.awaitStderr("master listening on taskmaster://(\\S+) ", START);
      limitFileSize(master, "65536");
      try (Broker broker = Brokers.open(uri, BrokerOptions.withKey(AuthKey.of(SECRET)))) {
        for (int i = 0; i < 10_000 && refusal == null; i++) {
          CompletableFuture<Void> put = broker.put(List.of(task("t" + i)));
          try {
            put.get(2, TimeUnit.SECONDS);
            acknowledged.add("t" + i);
          } catch (TimeoutException e) {
            waiting.add(put); // its write failed: no acknowledgement until it is on disk
          } catch (ExecutionException e) {
            assertThat(e.getCause()).isInstanceOf(BrokerException.class);
            assertThat(((BrokerException) e.getCause()).code()).isEqualTo("STORAGE");
            refusal = e.getCause().getMessage();
          }
        }
        assertThat(refusal).as("a put is refused once the journal cannot be written").isNotNull()
            .contains("free disk space");
        assertThat(acknowledged).hasSizeGreaterThan(50);
        assertThat(waiting).allSatisfy(put -> assertThat(put).isNotDone());
        master.awaitStderr("File too large", START);
        List<Delivery> served = broker.lease("q", 1, Duration.ZERO).get(10, TimeUnit.SECONDS);
        assertThat(served).as("acknowledged tasks are still leased").singleElement()
            .extracting(Delivery::taskId).isEqualTo("t0");

        limitFileSize(master, "unlimited");
        for (CompletableFuture<Void> put : waiting) {
          assertThat(put).succeedsWithin(START);
        }
        master.awaitStderr("writable again", START);
        Awaitility.await("puts accepted again").atMost(START).ignoreExceptions()
            .until(() -> broker.put(List.of(task("after-" + System.nanoTime()))).get(10, TimeUnit.SECONDS) == null);
      }
      master.terminate();
      assertThat(master.awaitExit(START)).as(master.stderr()).isZero();
    }
    try (JavaProcess restarted = master()) {
      String uri = "taskmaster://" + restarted.awaitStderr("master listening on taskmaster://(\\S+) ", START);
      assertThat(restarted.stderr()).doesNotContain("torn").doesNotContain("damaged");
      try (Broker broker = Brokers.open(uri, BrokerOptions.withKey(AuthKey.of(SECRET)))) {
        List<String> recovered = new ArrayList<>();
        broker.lease("q", 10_000, Duration.ZERO).get(10, TimeUnit.SECONDS)
            .forEach(delivery -> recovered.add(delivery.taskId()));
        assertThat(recovered).containsAll(acknowledged);
      }
      restarted.terminate();
      assertThat(restarted.awaitExit(START)).isZero();
    }
  }
}
