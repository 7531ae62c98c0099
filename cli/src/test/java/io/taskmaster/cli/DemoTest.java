package io.taskmaster.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskmaster.testkit.JavaProcess;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** {@code taskmaster demo}: the tutorial's scenario, with real worker JVMs, ends by itself with exit 0. */
class DemoTest {
  private static final Pattern RESULT = Pattern.compile("(?m)^(\\d+) \\* (\\d+) = (\\d+)$");

  @Test
  void playsTheTutorialScenarioAndExitsZero() {
    try (JavaProcess demo = JavaProcess.start(Main.class.getName(), List.of("demo"), Map.of())) {
      int exit = demo.awaitExit(Duration.ofSeconds(90));

      assertThat(exit).as("exit code; stderr:%n%s", demo.stderr()).isZero();
      String out = demo.stdout();
      assertThat(out).contains("started 2 worker processes").contains("workers stopped; master exit.");
      assertThat(out.lines().filter(line -> line.startsWith("Put task "))).hasSize(10);
      Matcher results = RESULT.matcher(out);
      int count = 0;
      while (results.find()) {
        long n = Long.parseLong(results.group(1));
        assertThat(results.group(2)).isEqualTo(results.group(1));
        assertThat(Long.parseLong(results.group(3))).isEqualTo(n * n);
        count++;
      }
      assertThat(count).isEqualTo(10);
      assertThat(demo.stderr()).doesNotContain("ERROR").doesNotContain("Exception");
    }
  }
}
