package io.taskmaster.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskmaster.broker.AuthKey;
import io.taskmaster.testkit.JavaProcess;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How `taskmaster master --data-dir` reports what it found, and refuses what it must. */
class MasterDataDirTest {
  private static final String SECRET = "data-dir-test-key-0123456789abcdef";
  private static final Duration START = Duration.ofSeconds(60);

  @TempDir
  Path dataDir;

  private JavaProcess master(String... extra) {
    List<String> args = new ArrayList<>(List.of("master", "--port", "0", "--data-dir", dataDir.toString()));
    args.addAll(List.of(extra));
    return JavaProcess.start(Main.class.getName(), args, Map.of(AuthKey.ENV, SECRET));
  }

  @Test
  void aSecondMasterOnTheSameDirectoryIsRefused() {
    try (JavaProcess first = master()) {
      first.awaitStderr("master listening on", START);
      try (JavaProcess second = master()) {
        assertThat(second.awaitExit(START)).isEqualTo(ExitCodes.FAILED);
        assertThat(second.stderr()).contains("in use by another master").contains(dataDir.toString());
      }
      first.terminate();
      assertThat(first.awaitExit(START)).isZero();
    }
  }

  @Test
  void aDamagedJournalStopsTheStartWithExitCode65AndSaysWhereAndWhatToDo() throws IOException {
    try (JavaProcess first = master()) {
      first.awaitStderr("master listening on", START);
      first.terminate();
      assertThat(first.awaitExit(START)).isZero();
    }
    // A second segment after the first: damage in the first is not a torn tail.
    try (JavaProcess second = master()) {
      second.awaitStderr("master listening on", START);
      second.terminate();
      assertThat(second.awaitExit(START)).isZero();
    }
    Path oldest;
    try (Stream<Path> files = Files.list(dataDir)) {
      oldest = files.filter(file -> file.getFileName().toString().startsWith("segment-")).sorted().findFirst()
          .orElseThrow();
    }
    try (RandomAccessFile file = new RandomAccessFile(oldest.toFile(), "rw")) {
      file.seek(3);
      file.write('X');
    }
    try (JavaProcess damaged = master()) {
      assertThat(damaged.awaitExit(START)).isEqualTo(ExitCodes.DATA_DAMAGED);
      assertThat(damaged.stderr()).contains(oldest.getFileName().toString()).contains("byte offset 0")
          .contains("--truncate-damaged-journal");
    }
  }

  @Test
  void anUnknownFsyncModeIsAUsageError() {
    try (JavaProcess master = master("--fsync", "sometimes")) {
      assertThat(master.awaitExit(START)).isEqualTo(ExitCodes.USAGE);
      assertThat(master.stderr()).contains("fsync mode must be always, batch or none, was 'sometimes'");
    }
  }
}
