package io.taskmaster.bench.load;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * Context switches of processes, summed over their live threads (Linux's {@code /proc/<pid>/task/<tid>/status}). A
 * thread that sleeps until a frame comes and wakes for it costs at least one, and on a small machine such wake-ups,
 * not the work, bound a one-task-at-a-time workload: their count per task shows a change in how frames travel and
 * who waits for them, without the noise of a shared machine's clock. Threads that ended are not counted.
 */
final class ContextSwitches {
  private ContextSwitches() {}

  /** Switches of this JVM's threads, or -1 without /proc. */
  static long ofThisProcess() {
    return of(ProcessHandle.current().pid());
  }

  /** Switches of the given processes' threads, or -1 without /proc. */
  static long of(List<Process> processes) {
    return ProcessReadings.sum(processes, ContextSwitches::of);
  }

  private static long of(long pid) {
    Path tasks = Path.of("/proc", Long.toString(pid), "task");
    try (Stream<Path> threads = Files.list(tasks)) {
      return threads.mapToLong(ContextSwitches::ofThread).sum();
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  private static long ofThread(Path thread) {
    try {
      long count = 0;
      for (String line : Files.readAllLines(thread.resolve("status"))) {
        if (line.startsWith("voluntary_ctxt_switches:") || line.startsWith("nonvoluntary_ctxt_switches:")) {
          count += Long.parseLong(line.substring(line.indexOf(':') + 1).strip());
        }
      }
      return count;
    } catch (IOException e) {
      return 0; // the thread ended meanwhile
    }
  }

  /** Switches per task between two readings; NaN when either reading is unknown. */
  static double perTask(long before, long after, long tasks) {
    return ProcessReadings.perTask(before, after, tasks, 1);
  }
}
