package io.taskmaster.bench.load;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * CPU time spent by this process and by the worker processes, read from the OS. CPU per task is a steadier figure
 * than throughput on a shared machine: a neighbour's load stretches the wall clock, not the work done per task.
 */
final class CpuTime {
  /** Linux reports utime and stime in clock ticks; 100 per second on every common kernel configuration. */
  private static final long TICKS_PER_SECOND = 100;

  private CpuTime() {}

  /** Nanoseconds of CPU this JVM has used, or -1 where the platform does not say. */
  static long ofThisProcess() {
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
      return os.getProcessCpuTime();
    }
    return -1;
  }

  /** Nanoseconds of CPU the given processes have used (user + system), or -1 without /proc. */
  static long of(List<Process> processes) {
    return ProcessReadings.sum(processes, CpuTime::of);
  }

  private static long of(long pid) {
    try {
      String line = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      // Fields after the command name, which is in parentheses and may hold spaces: state is field 3.
      String[] fields = line.substring(line.lastIndexOf(')') + 2).split(" ");
      long ticks = Long.parseLong(fields[11]) + Long.parseLong(fields[12]); // utime (14), stime (15)
      return ticks * (1_000_000_000L / TICKS_PER_SECOND);
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /** Microseconds of CPU per task between two readings; NaN when either reading is unknown. */
  static double perTaskMicros(long before, long after, long tasks) {
    return ProcessReadings.perTask(before, after, tasks, 1e3);
  }
}
