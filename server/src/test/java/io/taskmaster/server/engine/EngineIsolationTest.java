package io.taskmaster.server.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The engine is a state machine; IO stays at the edge (ARCHITECTURE.md). Its sources may not import networking,
 * files or the wall clock's static shortcuts, so that it stays testable in microseconds with a fake clock.
 */
class EngineIsolationTest {
  private static final Path ENGINE = Path.of("src/main/java/io/taskmaster/server/engine");
  private static final List<String> FORBIDDEN = List.of(
      "import io.netty", "import java.net.", "import java.nio.channels", "import java.nio.file", "import java.io.File",
      "System.currentTimeMillis", "Instant.now(", "System.nanoTime");

  @Test
  void engineSourcesImportNoIoAndReadNoClockDirectly() throws IOException {
    List<Path> sources;
    try (Stream<Path> files = Files.list(ENGINE)) {
      sources = files.filter(path -> path.toString().endsWith(".java")).toList();
    }
    assertThat(sources).as("engine sources found from %s", Path.of("").toAbsolutePath()).isNotEmpty();
    for (Path source : sources) {
      String text = Files.readString(source);
      for (String forbidden : FORBIDDEN) {
        assertThat(text).as("%s must not use %s", source.getFileName(), forbidden).doesNotContain(forbidden);
      }
    }
  }
}
