package io.taskmaster.cli.options;

import java.util.Locale;
import picocli.CommandLine;

/** Parses sizes such as {@code 16MiB}, {@code 64KiB}, {@code 1048576}, up to 2047 MiB ({@link Large}: more). */
public final class ByteSize implements CommandLine.ITypeConverter<Integer> {
  @Override
  public Integer convert(String value) {
    long bytes = parse(value);
    if (bytes > Integer.MAX_VALUE) {
      throw new CommandLine.TypeConversionException("'" + value + "' is out of range; use at most 2047MiB");
    }
    return (int) bytes;
  }

  /** Sizes of any magnitude, such as {@code 8GiB}. */
  public static final class Large implements CommandLine.ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
      return parse(value);
    }
  }

  static long parse(String value) {
    String text = value.trim().toLowerCase(Locale.ROOT);
    long multiplier = 1;
    for (String[] unit : new String[][] {{"gib", "1073741824"}, {"mib", "1048576"}, {"kib", "1024"}, {"b", "1"}}) {
      if (text.endsWith(unit[0])) {
        multiplier = Long.parseLong(unit[1]);
        text = text.substring(0, text.length() - unit[0].length()).trim();
        break;
      }
    }
    try {
      long number = Long.parseLong(text);
      if (number < 0 || number > Long.MAX_VALUE / multiplier) {
        throw new CommandLine.TypeConversionException("'" + value + "' is out of range");
      }
      return number * multiplier;
    } catch (NumberFormatException e) {
      throw new CommandLine.TypeConversionException("'" + value + "' is not a size; write e.g. 16MiB, 64KiB or 4096");
    }
  }
}
