package io.taskmaster.server.journal;

import io.taskmaster.server.engine.EngineChange;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the segments of a data directory in order and hands each change to a consumer.
 *
 * <p>Damage is told apart from a torn tail by what follows it. A crash can only tear the end of the newest segment
 * (older ones were forced before it was started), so damage there with no sound record after it is a write the crash
 * interrupted: the file is cut at the last sound record, with a warning. Any other damage means bits changed on a
 * disk: the start is refused with the file, offset and record index, unless the operator asked to cut there.
 */
final class JournalReader {
  private static final Logger log = LoggerFactory.getLogger(JournalReader.class);

  /** What was read: counts for the start-up log line. */
  record Summary(int segments, long records, long bytes) {}

  private JournalReader() {}

  static Summary read(List<Path> segments, boolean truncateDamaged, Consumer<EngineChange> sink) throws IOException {
    long records = 0;
    long bytes = 0;
    for (int i = 0; i < segments.size(); i++) {
      Path file = segments.get(i);
      boolean newest = i == segments.size() - 1;
      Cut cut = readSegment(file, newest, truncateDamaged, sink);
      records += cut.records;
      bytes += cut.soundBytes;
      if (cut.damaged) {
        truncate(file, cut.soundBytes);
        if (!newest) {
          // Only reachable with truncateDamaged: everything after the cut goes, or replay would resume mid-history.
          for (Path later : segments.subList(i + 1, segments.size())) {
            log.warn("deleting journal segment {}: it follows the damage that was cut", later);
            Files.delete(later);
          }
          return new Summary(i + 1, records, bytes);
        }
      }
    }
    return new Summary(segments.size(), records, bytes);
  }

  private record Cut(long records, int soundBytes, boolean damaged) {}

  private static Cut readSegment(Path file, boolean newest, boolean truncateDamaged, Consumer<EngineChange> sink)
      throws IOException {
    MappedByteBuffer mapped;
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      if (channel.size() > Integer.MAX_VALUE) {
        throw new JournalDamagedException(file, 0, 0, "a segment larger than 2 GiB");
      }
      mapped = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size());
    }
    ByteBuffer bytes = mapped;
    String headerDamage = RecordFormat.checkSegmentHeader(bytes);
    if (headerDamage != null) {
      if (newest && !RecordFormat.soundRecordAfter(bytes, 0)) {
        log.warn("journal segment {} has a torn header ({}): the crash came as it was created; it is emptied", file,
            headerDamage);
        return new Cut(0, 0, true);
      }
      if (truncateDamaged) {
        log.error("journal segment {}: {}; cut there as --truncate-damaged-journal asks", file, headerDamage);
        return new Cut(0, 0, true);
      }
      throw new JournalDamagedException(file, 0, 0, headerDamage);
    }
    int offset = RecordFormat.SEGMENT_HEADER_BYTES;
    long index = 0;
    while (offset < bytes.limit()) {
      int length = RecordFormat.soundRecordAt(bytes, offset);
      if (length < 0) {
        String damage = RecordFormat.damageAt(bytes, offset);
        if (newest && !RecordFormat.soundRecordAfter(bytes, offset)) {
          log.warn("journal segment {} ends with a torn record at byte offset {} (record {}: {}), written when the "
              + "master stopped; the journal is cut there", file, offset, index, damage);
          return new Cut(index, offset, true);
        }
        if (truncateDamaged) {
          log.error("journal segment {} is damaged at byte offset {} (record {}: {}); cut there as "
              + "--truncate-damaged-journal asks: the changes recorded after it are lost", file, offset, index, damage);
          return new Cut(index, offset, true);
        }
        throw new JournalDamagedException(file, offset, index, damage);
      }
      ByteBuffer payload = ByteBuffer.allocate(length);
      payload.put(bytes.slice(offset + RecordFormat.RECORD_HEADER_BYTES, length)).flip();
      EngineChange change;
      try {
        change = ChangeCodec.decode(new RecordInput(payload));
      } catch (IllegalArgumentException e) {
        throw new JournalDamagedException(file, offset, index, "a record whose checksum matches but whose content "
            + "cannot be read (" + e.getMessage() + ")");
      }
      sink.accept(change);
      offset += RecordFormat.RECORD_HEADER_BYTES + length;
      index++;
    }
    return new Cut(index, offset, false);
  }

  private static void truncate(Path file, long size) throws IOException {
    if (size == 0) {
      Files.delete(file);
    } else {
      try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
        channel.truncate(size);
        channel.force(true);
      }
    }
    SegmentFiles.syncDirectory(file.getParent());
  }
}
