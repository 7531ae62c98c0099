package io.taskmaster.bench.load;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskmaster.json.JsonCodec;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code taskmaster bench} end to end, small: an embedded master, a worker JVM, the warm-up asking the worker for
 * its JIT time, and the one RESULT line the peers' harness reads.
 */
class LoadBenchTest {

  @Test
  void aSmallRunWarmsUpTimesAndEndsWithOneResultLine() throws Exception {
    Run run = run("--mode", "single", "--tasks", "300", "--workers", "1", "--warmup", "200", "--warmup-seconds",
        "0", "--warmup-max-seconds", "0", "--rounds", "20", "--json");
    assertThat(run.exitCode).as(run.err).isZero();
    assertThat(run.err).contains("warm-up round 1: 200 untimed tasks in").contains("ms in the busiest JVM");
    assertThat(run.out).containsPattern("(?m)^RESULT tasks_per_s=[0-9.]+ p50_us=[0-9.]+ p99_us=[0-9.]+ ")
        .contains("\"system\":\"taskmaster|java|single\"");
    String jsonLine = run.out.lines().filter(line -> line.startsWith("{")).findFirst().orElseThrow();
    JsonNode figures = JsonCodec.mapper().readTree(jsonLine);
    assertThat(figures.get("n").asInt()).isEqualTo(300);
    assertThat(figures.get("tasks_per_s").asDouble()).isPositive();
    assertThat(figures.get("switches_per_task").isNumber()).as(jsonLine).isTrue();
  }

  @Test
  void aWrongModeIsAUsageError() {
    Run run = run("--mode", "fast");
    assertThat(run.exitCode).isEqualTo(2);
    assertThat(run.err).contains("--mode must be single or batch");
  }

  @Test
  void aWarmUpCapBelowItsMinimumIsAUsageError() {
    Run run = run("--warmup-seconds", "10", "--warmup-max-seconds", "5");
    assertThat(run.exitCode).isEqualTo(2);
    assertThat(run.err).contains("--warmup-max-seconds at least --warmup-seconds");
  }

  @Test
  void helpFormatsEveryDescription() {
    Run run = run("--help");
    assertThat(run.exitCode).isZero();
    // picocli prints a warning and the raw text when a description is not a valid format string (a lone %).
    assertThat(run.err).doesNotContain("picocli WARN");
    assertThat(run.out).containsPattern("compiled\\s+for\\s+over\\s+2%\\s+of\\s+it").doesNotContain("%n");
  }

  private record Run(int exitCode, String out, String err) {}

  /** Runs the tool in this JVM; its figures go to System.out and its progress to System.err, as from the shell. */
  private static Run run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream stdout = System.out;
    PrintStream stderr = System.err;
    int exitCode;
    try (PrintStream capturedOut = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream capturedErr = new PrintStream(err, true, StandardCharsets.UTF_8)) {
      System.setOut(capturedOut);
      System.setErr(capturedErr);
      exitCode = new CommandLine(new LoadBench()).execute(args);
    } finally {
      System.setOut(stdout);
      System.setErr(stderr);
    }
    return new Run(exitCode, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }
}
