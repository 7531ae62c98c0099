package io.taskmaster.server.journal;

import io.taskmaster.server.engine.EngineChange;
import io.taskmaster.server.engine.EngineLog;
import io.taskmaster.server.engine.QueueEngine;
import io.taskmaster.server.engine.RecoveredState;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The durable journal of a master's data directory: segments of checksummed records of every engine change,
 * appended with group commit, replayed on start, and compacted by checkpoints. Layout and guarantees:
 * docs/journal-format.md.
 *
 * <p>Start-up: lock the directory (one master per directory), replay every segment ({@link #recovered()}), then
 * append to a new segment. Compaction: once the history written since the last checkpoint outweighs it twice, the
 * engine writes its whole state as snapshot records into a new segment; when they are on disk, every older segment
 * is deleted. Disk use follows the live tasks, and so does the time a restart takes.
 */
public final class Journal implements EngineLog, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Journal.class);
  /** Tasks snapshot per hold of the engine's lock during a checkpoint. */
  private static final int CHECKPOINT_CHUNK = 4096;
  /** Segments left by many restarts are compacted even when they hold little. */
  private static final int MAX_SEGMENTS = 32;

  private final JournalSettings settings;
  private final FileChannel lockChannel;
  private final FileLock lock;
  private final JournalWriter writer;
  private RecoveredState recovered;
  /** A seam for tests of a crash between a checkpoint and the deletion of the segments it replaces. */
  Runnable beforeDeletingSegments = () -> {};
  /** The segment the last checkpoint began, for tests. */
  volatile long lastCheckpointSegment;
  private long checkpointStartBytes;
  private long lastCheckpointBytes;

  private Journal(JournalSettings settings, FileChannel lockChannel, FileLock lock, JournalWriter writer,
      RecoveredState recovered, long recoveredBytes) {
    this.settings = settings;
    this.lockChannel = lockChannel;
    this.lock = lock;
    this.writer = writer;
    this.recovered = recovered;
    this.lastCheckpointBytes = recoveredBytes;
  }

  /** Opens the data directory, replays it, and starts a new segment for what comes next. */
  public static Journal open(JournalSettings settings) {
    return open(settings, SegmentChannels.FILES);
  }

  static Journal open(JournalSettings settings, SegmentChannels channels) {
    Path directory = settings.directory().toAbsolutePath();
    FileChannel lockChannel = null;
    try {
      createPrivateDirectory(directory);
      lockChannel = FileChannel.open(directory.resolve("taskmaster.lock"), StandardOpenOption.CREATE,
          StandardOpenOption.WRITE);
      FileLock lock = tryLock(lockChannel, directory);
      long started = System.nanoTime();
      List<Path> segments = SegmentFiles.list(directory);
      Replay replay = new Replay();
      JournalReader.Summary summary = JournalReader.read(segments, settings.truncateDamaged(), replay);
      RecoveredState state = replay.state();
      List<Path> left = SegmentFiles.list(directory);
      // What a crashed process wrote may still be only in the page cache: force it before the next segment starts,
      // or a power loss now would leave a torn tail in a segment that is no longer the newest (read as damage).
      for (Path segment : left) {
        try (FileChannel channel = FileChannel.open(segment, StandardOpenOption.WRITE)) {
          channel.force(true);
        }
      }
      long next = left.isEmpty() ? 1 : SegmentFiles.number(left.get(left.size() - 1)) + 1;
      JournalWriter writer = new JournalWriter(directory, settings.fsync(), settings.batchWindow().toNanos(),
          settings.segmentBytes(), next, privateFiles(channels));
      log.info("journal {}: replayed {} record(s) of {} segment(s), {} KiB, in {} ms: {} pending task(s), {} dead "
          + "letter(s), {} stored result(s); fsync {}", directory, summary.records(), summary.segments(),
          summary.bytes() / 1024, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started), state.pending().size(),
          state.dead().size(), state.results().size(), describe(settings));
      return new Journal(settings, lockChannel, lock, writer, state, summary.bytes());
    } catch (IOException e) {
      closeQuietly(lockChannel);
      throw new UncheckedIOException("cannot open the journal in " + directory + ": " + e.getMessage(), e);
    } catch (RuntimeException e) {
      closeQuietly(lockChannel);
      throw e;
    }
  }

  private static String describe(JournalSettings settings) {
    return switch (settings.fsync()) {
      case ALWAYS -> "always (acknowledged means on disk)";
      case BATCH -> "batch (a power loss can lose up to " + settings.batchWindow().toMillis()
          + " ms of acknowledged changes)";
      case NONE -> "none (a crash can lose recent acknowledged changes)";
    };
  }

  private static void createPrivateDirectory(Path directory) throws IOException {
    if (Files.isDirectory(directory)) {
      return;
    }
    if (FileSystems.getDefault().supportedFileAttributeViews().contains("posix")) {
      Files.createDirectories(directory, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(
          "rwx------")));
    } else {
      Files.createDirectories(directory);
    }
  }

  /** Segments hold task payloads and results: readable by the master's user only. */
  private static SegmentChannels privateFiles(SegmentChannels channels) {
    if (channels != SegmentChannels.FILES
        || !FileSystems.getDefault().supportedFileAttributeViews().contains("posix")) {
      return channels;
    }
    return file -> FileChannel.open(file, java.util.Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
  }

  private static FileLock tryLock(FileChannel channel, Path directory) throws IOException {
    FileLock lock;
    try {
      lock = channel.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null;
    }
    if (lock == null) {
      throw new IllegalStateException("the data directory " + directory + " is in use by another master (its "
          + "taskmaster.lock is held); stop that master or choose another --data-dir");
    }
    return lock;
  }

  /** What the replay found; handed to the engine once, then dropped. */
  public RecoveredState recovered() {
    RecoveredState state = recovered;
    recovered = null;
    return state == null ? RecoveredState.EMPTY : state;
  }

  @Override
  public void append(EngineChange change) {
    writer.append(change);
  }

  @Override
  public void checkWritable() {
    writer.checkWritable();
  }

  @Override
  public java.util.concurrent.CompletableFuture<Void> durable() {
    return writer.durable();
  }

  /** Whether the history since the last checkpoint is worth compacting. */
  boolean checkpointDue() {
    long since = writer.bytesAppended() - checkpointStartBytes;
    if (since >= settings.checkpointAfterBytes() && since >= 2 * lastCheckpointBytes) {
      return true;
    }
    try {
      return SegmentFiles.list(settings.directory()).size() > MAX_SEGMENTS;
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * Writes a checkpoint of {@code engine} into a new segment and, once it is on disk, deletes the older segments.
   * A crash at any step leaves a journal that replays to the same state: before the deletions the old segments are
   * all there and replay before the checkpoint, after them the checkpoint stands alone.
   */
  public void checkpoint(QueueEngine engine) {
    long started = System.nanoTime();
    long[] first = new long[2];
    long records = engine.checkpoint(() -> {
      first[0] = writer.rotate();
      first[1] = writer.bytesAppended();
    }, CHECKPOINT_CHUNK);
    long written = writer.bytesAppended() - first[1];
    lastCheckpointSegment = first[0];
    try {
      writer.forced().get(5, TimeUnit.MINUTES);
    } catch (Exception e) {
      log.error("the journal checkpoint could not be forced to disk ({}); the older segments are kept", e.toString());
      return;
    }
    beforeDeletingSegments.run();
    int deleted = 0;
    try {
      for (Path segment : SegmentFiles.list(settings.directory())) {
        if (SegmentFiles.number(segment) < first[0]) {
          Files.delete(segment);
          deleted++;
        }
      }
      SegmentFiles.syncDirectory(settings.directory());
    } catch (IOException e) {
      log.error("deleting journal segments older than the checkpoint failed ({}); they are retried at the next "
          + "checkpoint and replay stays correct meanwhile", e.toString());
    }
    checkpointStartBytes = first[1];
    lastCheckpointBytes = written;
    log.info("journal checkpoint: {} record(s), {} KiB in {} ms; {} older segment(s) deleted", records,
        written / 1024, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started), deleted);
  }

  /** Writes and forces everything appended, then releases the data directory. */
  @Override
  public void close() {
    writer.close();
    try {
      lock.release();
    } catch (IOException e) {
      log.warn("releasing the data directory lock failed: {}", e.toString());
    }
    closeQuietly(lockChannel);
  }

  private static void closeQuietly(FileChannel channel) {
    if (channel != null) {
      try {
        channel.close();
      } catch (IOException ignored) {
        // Closing after a failure: the failure is what gets reported.
      }
    }
  }
}
