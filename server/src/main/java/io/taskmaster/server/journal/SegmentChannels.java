package io.taskmaster.server.journal;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Opens a new segment for writing. Tests wrap it to inject disk faults (a full disk, a failing fsync). */
@FunctionalInterface
interface SegmentChannels {
  FileChannel create(Path file) throws IOException;

  SegmentChannels FILES = file -> FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
}
