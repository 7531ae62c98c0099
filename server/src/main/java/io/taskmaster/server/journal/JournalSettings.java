package io.taskmaster.server.journal;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Where and how the journal keeps the engine's changes.
 *
 * @param directory the data directory; created if missing, locked against a second master
 * @param fsync when writes are forced to disk, and so what an acknowledgement promises
 * @param batchWindow with {@link FsyncMode#BATCH}: the longest time between two forces (the loss window)
 * @param segmentBytes a segment file is closed and a new one started once it holds this many bytes
 * @param checkpointAfterBytes a checkpoint is written (and older segments deleted) once this many bytes were
 *     written since the last one and they outweigh it twice
 * @param truncateDamaged on a damaged record that valid records follow: cut the journal there (losing what
 *     follows) instead of refusing to start
 */
public record JournalSettings(
    Path directory,
    FsyncMode fsync,
    Duration batchWindow,
    long segmentBytes,
    long checkpointAfterBytes,
    boolean truncateDamaged) {

  public static final long DEFAULT_SEGMENT_BYTES = 64L << 20;

  public JournalSettings {
    if (batchWindow.isNegative() || batchWindow.isZero()) {
      throw new IllegalArgumentException("the fsync batch window must be positive, was " + batchWindow);
    }
    if (segmentBytes < 4096) {
      throw new IllegalArgumentException("segments must hold at least 4096 bytes, asked for " + segmentBytes);
    }
    if (checkpointAfterBytes < 1) {
      throw new IllegalArgumentException("checkpointAfterBytes must be positive, was " + checkpointAfterBytes);
    }
  }

  /** fsync always, 64 MiB segments, a checkpoint after 128 MiB of history, 100 ms batch window. */
  public static JournalSettings in(Path directory) {
    return new JournalSettings(directory, FsyncMode.ALWAYS, Duration.ofMillis(100), DEFAULT_SEGMENT_BYTES,
        2 * DEFAULT_SEGMENT_BYTES, false);
  }

  public JournalSettings withFsync(FsyncMode mode) {
    return new JournalSettings(directory, mode, batchWindow, segmentBytes, checkpointAfterBytes, truncateDamaged);
  }

  public JournalSettings withBatchWindow(Duration window) {
    return new JournalSettings(directory, fsync, window, segmentBytes, checkpointAfterBytes, truncateDamaged);
  }

  public JournalSettings withSegmentBytes(long bytes, long checkpointAfter) {
    return new JournalSettings(directory, fsync, batchWindow, bytes, checkpointAfter, truncateDamaged);
  }

  public JournalSettings withTruncateDamaged(boolean truncate) {
    return new JournalSettings(directory, fsync, batchWindow, segmentBytes, checkpointAfterBytes, truncate);
  }
}
