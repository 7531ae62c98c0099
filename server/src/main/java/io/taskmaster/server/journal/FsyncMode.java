package io.taskmaster.server.journal;

/** When the journal forces its writes to the disk, and so what an acknowledgement promises. */
public enum FsyncMode {
  /**
   * A put or settlement is acknowledged only once it is on disk (fdatasync). Concurrent writers share one fsync
   * (group commit). Survives a crash of the process, the operating system or the power. The default.
   */
  ALWAYS,
  /**
   * A change is acknowledged once the operating system has it; the journal is forced to disk at least every batch
   * window. Survives a crash of the process; a power loss or kernel crash can lose the changes acknowledged in the
   * last window.
   */
  BATCH,
  /**
   * Acknowledged at once and written in the background, never forced. A crash of the process can lose the changes
   * of the last few milliseconds, a power loss everything the operating system had not written yet.
   */
  NONE;

  /** Parses {@code always}, {@code batch} or {@code none}, ignoring case. */
  public static FsyncMode parse(String text) {
    for (FsyncMode mode : values()) {
      if (mode.name().equalsIgnoreCase(text.trim())) {
        return mode;
      }
    }
    throw new IllegalArgumentException("fsync mode must be always, batch or none, was '" + text + "'");
  }
}
