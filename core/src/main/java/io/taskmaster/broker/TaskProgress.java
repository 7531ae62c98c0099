package io.taskmaster.broker;

/**
 * How far a running task has come, as its handler reported it: {@code done} of {@code total} (0 when the total is
 * unknown), and a short message for people.
 */
public record TaskProgress(String taskId, long done, long total, String message) {
  /** Messages are cut to this many characters: progress is for a status line, not a log. */
  public static final int MAX_MESSAGE = 1000;

  public TaskProgress {
    if (done < 0 || total < 0) {
      throw new IllegalArgumentException("progress counts must not be negative, were " + done + " of " + total);
    }
    message = message == null ? "" : message.length() > MAX_MESSAGE ? message.substring(0, MAX_MESSAGE) : message;
  }

  /** The fraction done, 0 to 1, or -1 when the total is unknown. */
  public double fraction() {
    return total == 0 ? -1 : Math.min(1.0, (double) done / total);
  }

  @Override
  public String toString() {
    String counts = total > 0 ? done + "/" + total + String.format(" (%.0f%%)", 100 * fraction()) : done + " done";
    return message.isEmpty() ? counts : counts + ": " + message;
  }
}
