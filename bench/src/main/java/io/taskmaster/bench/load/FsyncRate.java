package io.taskmaster.bench.load;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Comparator;
import java.util.stream.Stream;

/** The physical bound of a durable queue: how many small appends a disk makes durable per second, one at a time. */
final class FsyncRate {
  private FsyncRate() {}

  static double measure(Path directory, Duration duration) throws IOException {
    Files.createDirectories(directory);
    Path file = directory.resolve("fsync-rate.tmp");
    ByteBuffer record = ByteBuffer.allocate(64);
    long count = 0;
    long started = System.nanoTime();
    long end = started + duration.toNanos();
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      while (System.nanoTime() < end) {
        record.clear();
        channel.write(record);
        channel.force(false);
        count++;
      }
    } finally {
      Files.deleteIfExists(file);
    }
    return count / ((System.nanoTime() - started) / 1e9);
  }

  /** Empties a data directory so every run starts from nothing. */
  static void clear(Path directory) throws IOException {
    if (!Files.isDirectory(directory)) {
      return;
    }
    try (Stream<Path> files = Files.walk(directory)) {
      for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
        if (!file.equals(directory)) {
          Files.delete(file);
        }
      }
    }
  }
}
