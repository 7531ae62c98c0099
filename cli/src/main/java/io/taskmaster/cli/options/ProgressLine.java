package io.taskmaster.cli.options;

import io.taskmaster.broker.TaskProgress;
import java.io.PrintWriter;

/**
 * Shows a task's progress on stderr while {@code submit --wait} waits: a bar redrawn in place on a terminal, else
 * (a pipe, a log file) one line per report, at most one a second and always the last.
 */
public final class ProgressLine {
  private static final int WIDTH = 30;
  private static final long LINE_INTERVAL_NANOS = 1_000_000_000L;

  private final PrintWriter err;
  private final boolean terminal;
  private long lastLineNanos;
  private boolean drawn;

  public ProgressLine(PrintWriter err, boolean terminal) {
    this.err = err;
    this.terminal = terminal;
  }

  public synchronized void show(TaskProgress progress) {
    if (terminal) {
      err.print("\r" + bar(progress) + " " + progress + "\u001b[K");
      err.flush();
      drawn = true;
      return;
    }
    long now = System.nanoTime();
    boolean last = progress.total() > 0 && progress.done() >= progress.total();
    if (last || lastLineNanos == 0 || now - lastLineNanos >= LINE_INTERVAL_NANOS) {
      lastLineNanos = now;
      err.println("progress " + progress);
      err.flush();
    }
  }

  /** Ends the bar's line, so that what follows starts on a fresh one. */
  public synchronized void finish() {
    if (drawn) {
      err.println();
      err.flush();
      drawn = false;
    }
  }

  static String bar(TaskProgress progress) {
    double fraction = progress.fraction();
    if (fraction < 0) {
      return "[" + "?".repeat(WIDTH) + "]";
    }
    int filled = (int) Math.round(fraction * WIDTH);
    return "[" + "#".repeat(filled) + ".".repeat(WIDTH - filled) + "]";
  }
}
