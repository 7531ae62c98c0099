package io.taskmaster.server.lease;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.server.engine.EngineSettings;
import io.taskmaster.server.engine.QueueEngine;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The master's line about expired leases names their tasks, as every task-related log line does. */
class LeaseReaperLogTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private final AtomicLong now = new AtomicLong(1_000_000_000L);
  private final QueueEngine engine =
      new QueueEngine(EngineSettings.defaults().withVisibilityTimeout(TIMEOUT), now::get);
  private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
  private final Logger reaperLog = (Logger) LoggerFactory.getLogger(LeaseReaper.class);
  private Level levelBefore;

  @BeforeEach
  void captureLogs() {
    logs.start();
    levelBefore = reaperLog.getLevel();
    reaperLog.setLevel(Level.INFO); // the tests' logging configuration may keep INFO quiet
    reaperLog.addAppender(logs);
  }

  @AfterEach
  void stopCapturing() {
    reaperLog.detachAppender(logs);
    reaperLog.setLevel(levelBefore);
  }

  @Test
  void expiredLeasesAreLoggedWithTheirTaskIds() {
    List<String> ids = new ArrayList<>();
    for (int i = 1; i <= 12; i++) {
      ids.add("task-" + i);
      engine.put(List.of(new TaskMessage("task-" + i, "q", "t", Map.of(), new byte[0])));
    }
    engine.lease(1, "q", 12, false, leased -> { });
    now.addAndGet(TIMEOUT.toNanos());

    try (LeaseReaper reaper = LeaseReaper.start(engine, "log-test")) {
      await().atMost(Duration.ofSeconds(30)).until(() -> !logs.list.isEmpty());
    }

    assertThat(logs.list).hasSize(1);
    assertThat(logs.list.get(0).getFormattedMessage())
        .startsWith("12 lease(s) expired")
        .endsWith(String.join(", ", ids.subList(0, 10)) + " and 2 more");
  }
}
