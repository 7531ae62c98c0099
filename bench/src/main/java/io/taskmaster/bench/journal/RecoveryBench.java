package io.taskmaster.bench.journal;

import io.taskmaster.broker.TaskMessage;
import io.taskmaster.server.engine.EngineSettings;
import io.taskmaster.server.engine.QueueEngine;
import io.taskmaster.server.journal.FsyncMode;
import io.taskmaster.server.journal.Journal;
import io.taskmaster.server.journal.JournalSettings;
import io.taskmaster.time.Ticker;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * How long a master takes to start on a journal of N live tasks: writes N tasks (50-byte payloads, in puts of 1000)
 * into a fresh data directory, stops, then times the replay and the restore into a new engine, twice: on the
 * history as written, and after a checkpoint has replaced it.
 *
 * <pre>java -Xmx4g -cp bench/target/taskmaster-bench.jar io.taskmaster.bench.journal.RecoveryBench DIR [N]</pre>
 */
public final class RecoveryBench {
  private RecoveryBench() {}

  public static void main(String[] args) throws IOException {
    if (args.length < 1) {
      System.err.println("usage: RecoveryBench DIR [TASKS]   (DIR is emptied first)");
      System.exit(2);
    }
    Path dir = Path.of(args[0]);
    int tasks = args.length > 1 ? Integer.parseInt(args[1]) : 1_000_000;
    clear(dir);
    EngineSettings settings = EngineSettings.defaults();
    JournalSettings journalSettings = JournalSettings.in(dir).withFsync(FsyncMode.BATCH);
    long started = System.nanoTime();
    try (Journal journal = Journal.open(journalSettings)) {
      QueueEngine engine = new QueueEngine(settings, Ticker.system(), Clock.systemUTC(), journal);
      engine.restore(journal.recovered());
      byte[] payload = "{\"n\":12345678901234567890123456789012345678901}".getBytes(StandardCharsets.UTF_8);
      for (int from = 0; from < tasks; from += 1000) {
        List<TaskMessage> batch = new ArrayList<>(1000);
        for (int i = from; i < Math.min(tasks, from + 1000); i++) {
          batch.add(new TaskMessage("task-" + i, "bench", "square", Map.of(), payload));
        }
        engine.put(batch);
      }
      engine.durable().join();
    }
    System.out.printf(Locale.ROOT, "wrote %d live tasks in %.1f s; journal %.1f MiB%n", tasks,
        (System.nanoTime() - started) / 1e9, size(dir) / 1048576.0);
    time("recovery from the history as written", dir, settings, journalSettings, tasks, false);
    time("recovery after a checkpoint", dir, settings, journalSettings, tasks, true);
  }

  private static void time(String what, Path dir, EngineSettings settings, JournalSettings journalSettings,
      int tasks, boolean checkpointFirst) throws IOException {
    if (checkpointFirst) {
      try (Journal journal = Journal.open(journalSettings)) {
        QueueEngine engine = new QueueEngine(settings, Ticker.system(), Clock.systemUTC(), journal);
        engine.restore(journal.recovered());
        long started = System.nanoTime();
        journal.checkpoint(engine);
        System.out.printf(Locale.ROOT, "checkpoint of %d tasks: %.1f s; journal now %.1f MiB%n", tasks,
            (System.nanoTime() - started) / 1e9, size(dir) / 1048576.0);
      }
    }
    System.gc();
    long started = System.nanoTime();
    try (Journal journal = Journal.open(journalSettings)) {
      QueueEngine engine = new QueueEngine(settings, Ticker.system(), Clock.systemUTC(), journal);
      engine.restore(journal.recovered());
      double seconds = (System.nanoTime() - started) / 1e9;
      long ready = engine.stats().ready();
      if (ready != tasks) {
        throw new IllegalStateException("recovered " + ready + " tasks, expected " + tasks);
      }
      System.out.printf(Locale.ROOT, "RESULT %s: %d tasks in %.2f s (%.0f tasks/s)%n", what, tasks, seconds,
          tasks / seconds);
    }
  }

  private static long size(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.mapToLong(file -> file.toFile().length()).sum();
    }
  }

  private static void clear(Path dir) throws IOException {
    Files.createDirectories(dir);
    try (Stream<Path> files = Files.list(dir)) {
      for (Path file : files.toList()) {
        Files.delete(file);
      }
    }
  }
}
