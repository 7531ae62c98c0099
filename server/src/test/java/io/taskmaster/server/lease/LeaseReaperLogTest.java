package io.taskmaster.server.lease;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.server.engine.EngineSettings;
import io.taskmaster.server.engine.QueueEngine;
import io.taskmaster.testkit.logs.LogCapture;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The master's line about expired leases names their tasks, as every task-related log line does. */
class LeaseReaperLogTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private final AtomicLong now = new AtomicLong(1_000_000_000L);
  private final QueueEngine engine =
      new QueueEngine(EngineSettings.defaults().withVisibilityTimeout(TIMEOUT), now::get);
  @RegisterExtension
  final LogCapture logs = LogCapture.of(LeaseReaper.class, Level.INFO);

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
      await().atMost(Duration.ofSeconds(30)).until(() -> !logs.events().isEmpty());
    }

    assertThat(logs.events()).hasSize(1);
    assertThat(logs.events().get(0).getFormattedMessage())
        .startsWith("12 lease(s) expired")
        .endsWith(String.join(", ", ids.subList(0, 10)) + " and 2 more");
  }
}
