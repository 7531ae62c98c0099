package io.taskmaster.cli.options;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.FileAppender;
import java.nio.file.Path;
import java.util.Locale;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Option;

/**
 * {@code --log-level} and {@code --log-file}: logs go to stderr (stdout is for results) and, when asked, to a file
 * as well. Lines about a task carry its id.
 */
public final class LoggingOptions {
  private static final String PATTERN =
      "%d{yyyy-MM-dd HH:mm:ss.SSS} %-5level [%thread] %logger{0}%replace( task=%X{taskId}){' task=$', ''} - %msg%n";

  @Option(names = "--log-level", paramLabel = "LEVEL", defaultValue = "INFO",
      description = "ERROR, WARN, INFO, DEBUG or TRACE (default: ${DEFAULT-VALUE}).")
  String level;

  @Option(names = "--log-file", paramLabel = "FILE", description = "Also append log lines to this file.")
  Path file;

  @Option(names = "--verbose", description = "Print stack traces with errors.")
  public boolean verbose;

  /** Applies the options to Logback; call before anything logs. */
  public void apply() {
    Level parsed = Level.toLevel(level.toUpperCase(Locale.ROOT), null);
    if (parsed == null) {
      throw new IllegalArgumentException("--log-level '" + level + "' is not a level; use ERROR, WARN, INFO, DEBUG "
          + "or TRACE");
    }
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    context.reset();
    Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.setLevel(parsed);
    context.getLogger("io.netty").setLevel(Level.WARN);

    ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
    console.setContext(context);
    console.setName("stderr");
    console.setTarget("System.err");
    console.setEncoder(encoder(context));
    console.start();
    root.addAppender(console);

    if (file != null) {
      FileAppender<ILoggingEvent> appender = new FileAppender<>();
      appender.setContext(context);
      appender.setName("file");
      appender.setFile(file.toString());
      appender.setAppend(true);
      appender.setEncoder(encoder(context));
      appender.start();
      if (!appender.isStarted()) {
        throw new IllegalArgumentException("cannot write the log file " + file + "; check the directory exists and "
            + "is writable");
      }
      root.addAppender(appender);
    }
  }

  private static PatternLayoutEncoder encoder(LoggerContext context) {
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(context);
    encoder.setPattern(PATTERN);
    encoder.start();
    return encoder;
  }
}
