package io.taskmaster.time;

import java.time.Duration;
import java.util.Locale;

/** Parses the durations people write in options and URIs: {@code 500ms}, {@code 10s}, {@code 2m}, {@code 1h}. */
public final class Durations {
  private Durations() {}

  public static Duration parse(String value) {
    String text = value.trim().toLowerCase(Locale.ROOT);
    try {
      if (text.endsWith("ms")) {
        return Duration.ofMillis(Long.parseLong(text.substring(0, text.length() - 2)));
      } else if (text.endsWith("s")) {
        return Duration.ofSeconds(Long.parseLong(text.substring(0, text.length() - 1)));
      } else if (text.endsWith("m")) {
        return Duration.ofMinutes(Long.parseLong(text.substring(0, text.length() - 1)));
      } else if (text.endsWith("h")) {
        return Duration.ofHours(Long.parseLong(text.substring(0, text.length() - 1)));
      }
    } catch (NumberFormatException e) {
      // falls through to the error below
    }
    throw new IllegalArgumentException("'" + value + "' is not a duration; write e.g. 500ms, 10s, 2m or 1h");
  }
}
