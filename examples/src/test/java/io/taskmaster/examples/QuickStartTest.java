package io.taskmaster.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The README's quick start is this module's QuickStart, word for word, and it runs. */
class QuickStartTest {
  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

  @Test
  void quickStartPrintsTheSquares() {
    PrintStream original = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      QuickStart.main(new String[0]);
    } finally {
      System.setOut(original);
    }
    assertThat(captured.toString(StandardCharsets.UTF_8).lines()).containsExactly("1", "4", "9", "16", "25");
  }

  @Test
  void readmeShowsTheCompiledQuickStart() throws IOException {
    String source = Files.readString(ROOT.resolve("examples/src/main/java/io/taskmaster/examples/QuickStart.java"));
    String region = source.substring(source.indexOf("// tag::quickstart[]") + "// tag::quickstart[]".length(),
        source.indexOf("// end::quickstart[]")).strip();
    String readme = Files.readString(ROOT.resolve("README.md"));

    assertThat(readme).as("README.md must contain QuickStart.java's quickstart region verbatim").contains(region);
  }
}
