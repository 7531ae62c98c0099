package io.taskmaster.testkit.logs;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.List;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.slf4j.LoggerFactory;

/**
 * What one logger writes during each test, at a level the test chooses (the tests' logging configuration keeps INFO
 * quiet); the logger is put back as it was after the test. Register it on a field:
 *
 * <pre>{@code @RegisterExtension final LogCapture logs = LogCapture.of(LeaseReaper.class, Level.INFO);}</pre>
 *
 * Lines logged on other threads (event loops, duties) may be read while they come: {@link #events()} copies them
 * under the appender's own lock.
 */
public final class LogCapture implements BeforeEachCallback, AfterEachCallback {
  private final Logger logger;
  private final Level level;
  private final ListAppender<ILoggingEvent> appender = new ListAppender<>();
  private Level levelBefore;

  private LogCapture(Logger logger, Level level) {
    this.logger = logger;
    this.level = level;
  }

  /** Captures the logger of {@code owner} from {@code level} up. */
  public static LogCapture of(Class<?> owner, Level level) {
    return new LogCapture((Logger) LoggerFactory.getLogger(owner), level);
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    appender.start();
    levelBefore = logger.getLevel();
    logger.setLevel(level);
    logger.addAppender(appender);
  }

  @Override
  public void afterEach(ExtensionContext context) {
    logger.detachAppender(appender);
    logger.setLevel(levelBefore);
    appender.stop();
  }

  /** The events logged so far in this test, oldest first. */
  public List<ILoggingEvent> events() {
    synchronized (appender) { // AppenderBase appends holding this lock
      return List.copyOf(appender.list);
    }
  }

  /** The formatted messages of the events logged at {@code at} so far in this test, oldest first. */
  public List<String> lines(Level at) {
    return events().stream().filter(event -> event.getLevel() == at).map(ILoggingEvent::getFormattedMessage)
        .toList();
  }
}
