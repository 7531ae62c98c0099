package io.taskmaster.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.taskmaster.testkit.JavaProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's three terminals: {@code taskmaster master}, {@code taskmaster worker}, {@code taskmaster submit},
 * each a real JVM talking over loopback.
 */
class CommandLineTest {
  private static final Duration START = Duration.ofSeconds(30);
  private static final String SECRET = "s3cret-key-for-the-cli-test-0123456789";

  @TempDir
  Path dir;
  private Path keyFile;
  private final List<JavaProcess> children = new ArrayList<>();

  @BeforeEach
  void writeKey() throws IOException {
    keyFile = dir.resolve("key.txt");
    Files.writeString(keyFile, SECRET + "\n");
  }

  @AfterEach
  void stopChildren() {
    children.forEach(JavaProcess::close);
  }

  private JavaProcess taskmaster(Map<String, String> environment, String... args) {
    JavaProcess child = JavaProcess.start(Main.class.getName(), List.of(args), environment);
    children.add(child);
    return child;
  }

  private String startMaster() {
    JavaProcess master = taskmaster(Map.of(), "master", "--port", "0", "--authkey-file", keyFile.toString());
    return "taskmaster://127.0.0.1:" + master.awaitStderr("listening on taskmaster://127\\.0\\.0\\.1:(\\d+)", START);
  }

  private JavaProcess startWorker(String uri, String... extra) {
    List<String> args = new ArrayList<>(List.of("worker", "--connect", uri, "--authkey-file", keyFile.toString(),
        "--tasks", GreetingTasks.class.getName()));
    args.addAll(List.of(extra));
    JavaProcess worker = taskmaster(Map.of(), args.toArray(String[]::new));
    worker.awaitStderr("worker \\S+ serving", START);
    return worker;
  }

  private JavaProcess submit(String uri, String... extra) {
    List<String> args = new ArrayList<>(List.of("submit", "--connect", uri, "--authkey-file", keyFile.toString()));
    args.addAll(List.of(extra));
    return taskmaster(Map.of(), args.toArray(String[]::new));
  }

  @Test
  void masterWorkerAndSubmitInThreeProcesses() {
    String uri = startMaster();
    startWorker(uri, "--concurrency", "2");

    JavaProcess square = submit(uri, "--queue", "tasks", "--type", "square", "--arg", "7", "--wait");
    assertThat(square.awaitExit(START)).as(square.stderr()).isZero();
    assertThat(square.stdout().strip()).isEqualTo("49");

    JavaProcess greet = submit(uri, "--type", "greet", "--arg", "\"Ada\"", "--wait");
    assertThat(greet.awaitExit(START)).as(greet.stderr()).isZero();
    assertThat(greet.stdout().strip()).isEqualTo("\"hello, Ada\"");

    JavaProcess counting = submit(uri, "--type", "count", "--arg", "5", "--wait");
    assertThat(counting.awaitExit(START)).as(counting.stderr()).isZero();
    assertThat(counting.stdout().strip()).isEqualTo("5");
    assertThat(counting.stderr()).as("the handler's progress, on stderr").contains("progress 5/5 (100%): step 5");

    JavaProcess noWait = submit(uri, "--type", "square", "--arg", "3");
    assertThat(noWait.awaitExit(START)).isZero();
    assertThat(noWait.stdout().strip()).matches("[0-9a-f-]{36}");
  }

  @Test
  void logLevelAndLogFileReachEveryLineAndTaskLinesCarryTheTaskId() throws IOException {
    Path masterLog = dir.resolve("master.log");
    Path workerLog = dir.resolve("worker.log");
    JavaProcess master = taskmaster(Map.of(), "master", "--port", "0", "--authkey-file", keyFile.toString(),
        "--log-level", "debug", "--log-file", masterLog.toString());
    String uri = "taskmaster://127.0.0.1:"
        + master.awaitStderr("listening on taskmaster://127\\.0\\.0\\.1:(\\d+)", START);
    startWorker(uri, "--log-level", "DEBUG", "--log-file", workerLog.toString());

    JavaProcess put = submit(uri, "--type", "square", "--arg", "6", "--log-level", "warn");
    assertThat(put.awaitExit(START)).as(put.stderr()).isZero();
    String taskId = put.stdout().strip();
    assertThat(put.stderr()).as("INFO and below are quiet at WARN").doesNotContain(" INFO ");

    // DEBUG reaches the file as well as stderr; the worker's lines about the task carry its id.
    await().atMost(START).untilAsserted(() -> assertThat(Files.readString(workerLog))
        .containsPattern("DEBUG .* task=" + taskId + " - task " + taskId + " \\(square\\) done in"));
    assertThat(Files.readString(masterLog)).contains("task " + taskId + " (square) put on queue 'tasks'");
    assertThat(master.stderr()).contains("task " + taskId + " (square) put on queue 'tasks'");

    JavaProcess badLevel = submit(uri, "--type", "square", "--arg", "6", "--log-level", "loud");
    assertThat(badLevel.awaitExit(START)).isEqualTo(ExitCodes.USAGE);
    assertThat(badLevel.stderr()).contains("--log-level 'loud' is not a level");
  }

  @Test
  void failedTaskExitsOneWithTheRemoteError() {
    String uri = startMaster();
    startWorker(uri, "--id", "worker-x");

    JavaProcess fail = submit(uri, "--type", "fail", "--arg", "\"no luck\"", "--wait", "--verbose");

    assertThat(fail.awaitExit(START)).isEqualTo(ExitCodes.FAILED);
    assertThat(fail.stderr()).contains("failed on worker worker-x").contains("IllegalStateException: no luck")
        .contains("remote stack trace").contains("at io.taskmaster.worker.BuiltinTasks");
  }

  @Test
  void deadLettersAreListedRetriedAndPurged() {
    JavaProcess master = taskmaster(Map.of(), "master", "--port", "0", "--authkey-file", keyFile.toString(),
        "--max-attempts", "2", "--retry-backoff", "100ms");
    String uri = "taskmaster://127.0.0.1:"
        + master.awaitStderr("listening on taskmaster://127\\.0\\.0\\.1:(\\d+)", START);
    startWorker(uri, "--id", "worker-d");
    JavaProcess fail = submit(uri, "--type", "fail", "--arg", "\"broken\"", "--wait");
    assertThat(fail.awaitExit(START)).isEqualTo(ExitCodes.FAILED);

    JavaProcess list = taskmaster(Map.of(), "dead", "list", "--connect", uri, "--authkey-file", keyFile.toString(),
        "--errors");
    assertThat(list.awaitExit(START)).as(list.stderr()).isZero();
    assertThat(list.stdout()).contains("1 dead letter(s) in queue 'tasks'").contains("2 attempt(s)")
        .contains("IllegalStateException: broken").contains("attempt 2 on worker-d");

    JavaProcess noChoice = taskmaster(Map.of(), "dead", "retry", "--connect", uri, "--authkey-file",
        keyFile.toString());
    assertThat(noChoice.awaitExit(START)).isEqualTo(ExitCodes.USAGE);
    assertThat(noChoice.stderr()).contains("--all");

    JavaProcess retry = taskmaster(Map.of(), "dead", "retry", "--all", "--connect", uri, "--authkey-file",
        keyFile.toString());
    assertThat(retry.awaitExit(START)).as(retry.stderr()).isZero();
    assertThat(retry.stdout()).contains("1 dead letter(s) of queue 'tasks' are queued again");

    // The retried task fails twice more and is dead again; then it is purged.
    org.awaitility.Awaitility.await().atMost(START).pollInterval(Duration.ofMillis(500)).until(() -> {
      JavaProcess again = taskmaster(Map.of(), "dead", "list", "--connect", uri, "--authkey-file",
          keyFile.toString());
      again.awaitExit(START);
      return again.stdout().contains("1 dead letter(s)");
    });
    JavaProcess purge = taskmaster(Map.of(), "dead", "purge", "--yes", "--connect", uri, "--authkey-file",
        keyFile.toString());
    assertThat(purge.awaitExit(START)).as(purge.stderr()).isZero();
    assertThat(purge.stdout()).contains("1 dead letter(s) of queue 'tasks' deleted");
  }

  @Test
  void aDelayedTaskCanBeCancelledFromTheCommandLine() {
    String uri = startMaster();
    JavaProcess later = submit(uri, "--type", "square", "--arg", "3", "--delay", "1h", "--priority", "7",
        "--unique-key", "nightly");
    assertThat(later.awaitExit(START)).as(later.stderr()).isZero();
    String id = later.stdout().strip();

    JavaProcess duplicate = submit(uri, "--type", "square", "--arg", "4", "--unique-key", "nightly");
    assertThat(duplicate.awaitExit(START)).isEqualTo(ExitCodes.FAILED);
    assertThat(duplicate.stderr()).contains("unique key 'nightly' belongs to task " + id);

    JavaProcess cancel = taskmaster(Map.of(), "cancel", "--id", id, "--connect", uri, "--authkey-file",
        keyFile.toString());
    assertThat(cancel.awaitExit(START)).as(cancel.stderr()).isZero();
    assertThat(cancel.stdout()).contains("task " + id + " cancelled");

    JavaProcess again = taskmaster(Map.of(), "cancel", "--id", id, "--connect", uri, "--authkey-file",
        keyFile.toString());
    assertThat(again.awaitExit(START)).isEqualTo(ExitCodes.FAILED);
    assertThat(again.stderr()).contains("no pending task " + id);
  }

  @Test
  void unknownTypeFailsNamingTheWorker() {
    String uri = startMaster();
    startWorker(uri, "--id", "worker-y");

    JavaProcess unknown = submit(uri, "--type", "resize", "--arg", "1", "--wait");

    assertThat(unknown.awaitExit(START)).isEqualTo(ExitCodes.FAILED);
    assertThat(unknown.stderr()).contains("no handler registered for 'resize' on worker worker-y");
  }

  @Test
  void wrongKeyIsRefusedOnBothSidesWithoutShowingTheKey() throws IOException {
    JavaProcess master = taskmaster(Map.of(), "master", "--port", "0", "--authkey-file", keyFile.toString());
    String uri = "taskmaster://127.0.0.1:"
        + master.awaitStderr("listening on taskmaster://127\\.0\\.0\\.1:(\\d+)", START);
    Path wrong = dir.resolve("wrong.txt");
    Files.writeString(wrong, "not-the-key-at-all");

    JavaProcess submit = taskmaster(Map.of(), "submit", "--connect", uri, "--authkey-file", wrong.toString(),
        "--type", "square", "--arg", "2", "--wait");

    assertThat(submit.awaitExit(START)).isEqualTo(ExitCodes.AUTH_FAILED);
    assertThat(submit.stderr()).contains("authentication failed").doesNotContain("not-the-key-at-all")
        .doesNotContain(SECRET);
    master.awaitStderr("authentication failed for a client at /127\\.0\\.0\\.1", START);
    assertThat(master.stderr()).doesNotContain(SECRET).doesNotContain("not-the-key-at-all");

    JavaProcess good = submit(uri, "--type", "square", "--arg", "2");
    assertThat(good.awaitExit(START)).as("the master still serves others: %s", good.stderr()).isZero();
  }

  @Test
  void keyFromTheEnvironmentWorks() {
    String uri = startMaster();
    startWorker(uri);

    JavaProcess submit = taskmaster(Map.of("TASKMASTER_AUTHKEY", SECRET), "submit", "--connect", uri, "--type",
        "square", "--arg", "12", "--wait");

    assertThat(submit.awaitExit(START)).as(submit.stderr()).isZero();
    assertThat(submit.stdout().strip()).isEqualTo("144");
  }

  @Test
  void masterRefusesToStartWithoutAKey() {
    JavaProcess master = taskmaster(Map.of(), "master", "--port", "0");

    assertThat(master.awaitExit(START)).isEqualTo(ExitCodes.USAGE);
    assertThat(master.stderr()).contains("no auth key").contains("--authkey-file").contains("--insecure");
  }

  @Test
  void masterRefusesAnOutputBufferLimitBelowTwoFrames() {
    JavaProcess master = taskmaster(Map.of(), "master", "--port", "0", "--authkey-file", keyFile.toString(),
        "--max-frame", "1MiB", "--max-output-buffer", "1MiB");

    assertThat(master.awaitExit(START)).isEqualTo(ExitCodes.USAGE);
    assertThat(master.stderr()).contains("at least two frames (2 x 1048576 bytes", "was 1048576 bytes",
        "--max-output-buffer 2MiB");
  }

  @Test
  void masterRefusesAHandshakeLimitPerAddressBelowOne() {
    JavaProcess master = taskmaster(Map.of(), "master", "--port", "0", "--authkey-file", keyFile.toString(),
        "--max-handshakes-per-address", "0");

    assertThat(master.awaitExit(START)).isEqualTo(ExitCodes.USAGE);
    assertThat(master.stderr()).contains("the limit on handshakes per address must be at least 1, was 0",
        "--max-handshakes-per-address 64");
  }

  @Test
  void insecureMasterWarnsLoudly() {
    JavaProcess master = taskmaster(Map.of(), "master", "--port", "0", "--insecure");

    master.awaitStderr("NO AUTHENTICATION", START);
    master.terminate();
    assertThat(master.awaitExit(START)).isZero();
  }

  @Test
  void unreachableMasterExitsWithUnavailable() {
    JavaProcess submit = submit("taskmaster://127.0.0.1:1", "--type", "square", "--arg", "2");

    assertThat(submit.awaitExit(START)).isEqualTo(ExitCodes.UNAVAILABLE);
    assertThat(submit.stderr()).contains("cannot reach the master at 127.0.0.1:1");
  }

  @Test
  void helpAndBadOptionsFollowUnixHabits() {
    JavaProcess help = taskmaster(Map.of(), "--help");
    assertThat(help.awaitExit(START)).isZero();
    assertThat(help.stdout()).contains("master").contains("worker").contains("submit").contains("demo")
        .contains("taskmaster bench").contains("65 the");
    for (String command : List.of("master", "worker", "submit", "cancel", "dead", "demo")) {
      JavaProcess commandHelp = taskmaster(Map.of(), command, "--help");
      assertThat(commandHelp.awaitExit(START)).as(command).isZero();
      assertThat(commandHelp.stdout() + commandHelp.stderr()).as(command + " --help").doesNotContain("picocli WARN")
          .contains("Usage: taskmaster " + command);
    }

    JavaProcess bad = taskmaster(Map.of(), "submit", "--type", "square", "--no-such-option");
    assertThat(bad.awaitExit(START)).isEqualTo(ExitCodes.USAGE);
    assertThat(bad.stderr()).contains("--no-such-option");

    // A required option missing too: the unknown one is still named, first.
    JavaProcess typo = taskmaster(Map.of(), "submit", "--typ", "square");
    assertThat(typo.awaitExit(START)).isEqualTo(ExitCodes.USAGE);
    assertThat(typo.stderr()).startsWith("Unknown option or argument: '--typ'");

    JavaProcess badPrefetch = taskmaster(Map.of(), "worker", "--prefetch", "lots", "--connect",
        "taskmaster://127.0.0.1:1");
    assertThat(badPrefetch.awaitExit(START)).isEqualTo(ExitCodes.USAGE);
    assertThat(badPrefetch.stderr()).contains("--prefetch 'lots'").contains("auto");
  }
}
