package io.taskmaster.cli.options;

import io.taskmaster.time.Durations;
import java.time.Duration;
import picocli.CommandLine;

/** Parses durations such as {@code 500ms}, {@code 10s}, {@code 2m}, {@code 1h}. */
public final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
  @Override
  public Duration convert(String value) {
    try {
      return Durations.parse(value);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.TypeConversionException(e.getMessage());
    }
  }
}
