package io.taskmaster.server.journal;

import static io.taskmaster.server.journal.JournaledEngine.task;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.taskmaster.broker.Delivery;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A torn tail is cut, damage anywhere else stops the start (reliability-tests.md rows 4 and 5). Twenty tasks are
 * put one per record; each test damages a copy of that journal and starts on it.
 */
class JournalDamageTest {
  private static final int TASKS = 20;

  @TempDir
  Path dir;
  private Path segment;
  private List<Integer> offsets;

  @BeforeEach
  void writeTwentyRecords() throws IOException {
    try (JournaledEngine engine = JournaledEngine.open(JournalSettings.in(dir))) {
      for (int i = 0; i < TASKS; i++) {
        engine.put(task("t" + i, "q"));
      }
    }
    List<Path> segments = SegmentFiles.list(dir);
    segment = segments.get(0);
    offsets = recordOffsets(segment);
    assertThat(offsets).hasSize(TASKS);
  }

  /** The start of every record of a sound segment. */
  static List<Integer> recordOffsets(Path file) throws IOException {
    ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(file));
    List<Integer> offsets = new ArrayList<>();
    int offset = RecordFormat.SEGMENT_HEADER_BYTES;
    while (offset < bytes.limit()) {
      int length = RecordFormat.soundRecordAt(bytes, offset);
      assertThat(length).as("record at %d", offset).isPositive();
      offsets.add(offset);
      offset += RecordFormat.RECORD_HEADER_BYTES + length;
    }
    return offsets;
  }

  private static List<String> readyIds(JournaledEngine engine) {
    return engine.lease("q", 100).stream().map(Delivery::taskId).toList();
  }

  private static List<String> firstIds(int count) {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      ids.add("t" + i);
    }
    return ids;
  }

  @Test
  void aTornLastRecordIsCutAtEveryByteOffsetAndEverythingBeforeItKept() throws IOException {
    int lastStart = offsets.get(TASKS - 1);
    long size = Files.size(segment);
    for (long cut = lastStart + 1; cut < size; cut++) {
      Path trial = JournalRecoveryTest.copyOf(dir);
      Path torn = trial.resolve(segment.getFileName());
      try (RandomAccessFile file = new RandomAccessFile(torn.toFile(), "rw")) {
        file.setLength(cut);
      }
      try (JournaledEngine restarted = JournaledEngine.open(JournalSettings.in(trial))) {
        assertThat(readyIds(restarted)).as("cut at %d", cut).containsExactlyElementsOf(firstIds(TASKS - 1));
      }
      assertThat(Files.size(torn)).as("cut back to the last sound record").isEqualTo(lastStart);
    }
  }

  @Test
  void zerosAfterTheLastRecordAreTakenForATornTail() throws IOException {
    // A crash after the file grew but before its data reached the disk leaves zeros.
    Files.write(segment, new byte[300], java.nio.file.StandardOpenOption.APPEND);
    try (JournaledEngine restarted = JournaledEngine.open(JournalSettings.in(dir))) {
      assertThat(readyIds(restarted)).containsExactlyElementsOf(firstIds(TASKS));
    }
  }

  @Test
  void aFlippedBitAnywhereInAMiddleRecordStopsTheStartNamingFileOffsetAndRecord() throws IOException {
    int record = 7;
    int start = offsets.get(record);
    int end = offsets.get(record + 1);
    Random random = new Random(20261125);
    List<Integer> positions = new ArrayList<>(List.of(start, start + 3, start + 4, start + 8, start + 12));
    for (int i = 0; i < 10; i++) {
      positions.add(start + random.nextInt(end - start));
    }
    for (int position : positions) {
      Path trial = JournalRecoveryTest.copyOf(dir);
      flipBit(trial.resolve(segment.getFileName()), position, random.nextInt(8));
      assertThatThrownBy(() -> Journal.open(JournalSettings.in(trial)))
          .as("bit flipped at byte %d", position)
          .isInstanceOf(JournalDamagedException.class)
          .hasMessageContaining(segment.getFileName().toString())
          .hasMessageContaining("byte offset " + start)
          .hasMessageContaining("record " + record)
          .hasMessageContaining("--truncate-damaged-journal");
    }
  }

  @Test
  void aLengthFieldTurnedHugeIsDamageNotAnAllocation() throws IOException {
    try (RandomAccessFile file = new RandomAccessFile(segment.toFile(), "rw")) {
      file.seek(offsets.get(3));
      file.writeInt(Integer.MAX_VALUE - 8);
    }
    assertThatThrownBy(() -> Journal.open(JournalSettings.in(dir)))
        .isInstanceOf(JournalDamagedException.class).hasMessageContaining("record 3");
  }

  @Test
  void withTruncateDamagedTheJournalIsCutAtTheDamageAndTheRestStarts() throws IOException {
    flipBit(segment, offsets.get(12) + 20, 3);
    try (JournaledEngine restarted = JournaledEngine.open(JournalSettings.in(dir).withTruncateDamaged(true))) {
      assertThat(readyIds(restarted)).containsExactlyElementsOf(firstIds(12));
    }
    try (JournaledEngine again = JournaledEngine.open(JournalSettings.in(dir))) {
      assertThat(again.engine.stats().ready()).as("the cut journal starts without the flag").isEqualTo(12);
    }
  }

  @Test
  void damageInAnOlderSegmentIsNeverTakenForATornTail() throws IOException {
    // The last record of a sealed segment: a torn tail there is impossible, so it is damage.
    try (JournaledEngine more = JournaledEngine.open(JournalSettings.in(dir))) {
      more.put(task("next", "q"));
    }
    assertThat(SegmentFiles.list(dir)).hasSize(2);
    try (RandomAccessFile file = new RandomAccessFile(segment.toFile(), "rw")) {
      file.setLength(offsets.get(TASKS - 1) + 5);
    }
    assertThatThrownBy(() -> Journal.open(JournalSettings.in(dir)))
        .isInstanceOf(JournalDamagedException.class).hasMessageContaining("record " + (TASKS - 1));
  }

  @Test
  void aFileThatIsNotAJournalIsRefused() throws IOException {
    Files.write(segment, "GET / HTTP/1.1\r\n\r\n and more bytes to look like something".getBytes());
    try (JournaledEngine more = JournaledEngine.open(JournalSettings.in(JournalRecoveryTest.copyOf(dir)))) {
      // newest segment, nothing sound in it: a torn creation, emptied with a warning
      assertThat(more.engine.stats().ready()).isZero();
    }
    Path older = SegmentFiles.path(dir, 0);
    Files.write(older, "not a journal segment, and long enough to have a header".getBytes());
    assertThatThrownBy(() -> Journal.open(JournalSettings.in(dir)))
        .isInstanceOf(JournalDamagedException.class).hasMessageContaining("segment header");
  }

  static void flipBit(Path file, long position, int bit) throws IOException {
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
      raf.seek(position);
      int value = raf.read();
      raf.seek(position);
      raf.write(value ^ (1 << bit));
    }
  }
}
