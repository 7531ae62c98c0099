package io.taskmaster.bench.load;

import java.util.List;
import java.util.function.LongUnaryOperator;

/** A figure read for each process from the OS, summed over processes, and its change per task. */
final class ProcessReadings {
  private ProcessReadings() {}

  /** The sum of {@code reading} (pid to figure, -1 when unknown) over the processes, or -1 if any is unknown. */
  static long sum(List<Process> processes, LongUnaryOperator reading) {
    long total = 0;
    for (Process process : processes) {
      long value = reading.applyAsLong(process.pid());
      if (value < 0) {
        return -1;
      }
      total += value;
    }
    return total;
  }

  /** The change between two readings per task, divided by {@code unit}; NaN when either reading is unknown. */
  static double perTask(long before, long after, long tasks, double unit) {
    return before < 0 || after < 0 ? Double.NaN : (after - before) / unit / tasks;
  }
}
