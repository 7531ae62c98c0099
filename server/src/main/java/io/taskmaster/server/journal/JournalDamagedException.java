package io.taskmaster.server.journal;

import java.nio.file.Path;

/** A journal record is damaged and valid records follow it: starting would silently lose them. */
public final class JournalDamagedException extends RuntimeException {
  private final Path file;
  private final long offset;

  JournalDamagedException(Path file, long offset, long recordIndex, String what) {
    super("the journal is damaged: " + what + " at byte offset " + offset + " (record " + recordIndex + ") of "
        + file + ", and sound records follow it. The master does not start on a damaged journal, so that nothing "
        + "after the damage is silently lost. Restore the data directory from a backup, or start once with "
        + "--truncate-damaged-journal to cut the journal at the damage (the changes recorded after it are lost).");
    this.file = file;
    this.offset = offset;
  }

  public Path file() {
    return file;
  }

  public long offset() {
    return offset;
  }
}
