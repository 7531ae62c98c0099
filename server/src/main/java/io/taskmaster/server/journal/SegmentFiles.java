package io.taskmaster.server.journal;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** The segment files of a data directory: {@code segment-<20-digit number>.tmj}, replayed in number order. */
final class SegmentFiles {
  private static final Pattern NAME = Pattern.compile("segment-(\\d{20})\\.tmj");

  private SegmentFiles() {}

  static Path path(Path directory, long number) {
    return directory.resolve(String.format("segment-%020d.tmj", number));
  }

  /** The number in a segment file's name, or -1 for any other file. */
  static long number(Path file) {
    Matcher matcher = NAME.matcher(file.getFileName().toString());
    return matcher.matches() ? Long.parseLong(matcher.group(1)) : -1;
  }

  /** The segments in the directory, oldest first. */
  static List<Path> list(Path directory) throws IOException {
    List<Path> segments = new ArrayList<>();
    try (Stream<Path> files = Files.list(directory)) {
      files.filter(file -> number(file) >= 0).forEach(segments::add);
    }
    segments.sort((a, b) -> Long.compare(number(a), number(b)));
    return segments;
  }

  /** Makes a file's creation, rename or deletion in the directory durable. */
  static void syncDirectory(Path directory) throws IOException {
    try (FileChannel dir = FileChannel.open(directory, StandardOpenOption.READ)) {
      dir.force(true);
    }
  }
}
