package io.taskmaster.server.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import io.taskmaster.broker.AuthKey;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.protocol.message.Message;
import io.taskmaster.server.engine.EngineSettings;
import io.taskmaster.server.engine.QueueEngine;
import io.taskmaster.testkit.logs.LogCapture;
import io.taskmaster.time.Ticker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The master's line about a client that disconnected holding leases names their tasks, as every task line does. */
class DisconnectLogTest {
  private static final AuthKey KEY = AuthKey.of("disconnect-log-test-key-0f3c9a27d1");

  @RegisterExtension
  final LogCapture logs = LogCapture.of(ServerSession.class, Level.INFO);

  @Test
  void aClientThatDisconnectsHoldingLeasesIsLoggedWithTheirTaskIds() throws Exception {
    QueueEngine engine = new QueueEngine(EngineSettings.defaults(), Ticker.system());
    List<String> ids = new ArrayList<>();
    for (int i = 1; i <= 12; i++) {
      ids.add("task-" + i);
      engine.put(List.of(new TaskMessage("task-" + i, "q", "t", Map.of(), new byte[0])));
    }
    try (MasterServer server = new MasterServer(MasterSettings.of(0, KEY), engine).start()) {
      int port;
      try (RawClient worker = RawClient.connect(server.port())) {
        worker.authenticate(KEY);
        worker.send(1, new Message.Name("worker-7")).read(Message.Named.class);
        worker.send(2, new Message.Lease("q", 12, 0));
        assertThat(worker.read(Message.Leased.class).deliveries()).hasSize(12);
        port = worker.localAddress().getPort();
      }

      await().atMost(Duration.ofSeconds(30)).until(() -> disconnectLines().size() == 1);
      assertThat(disconnectLines().get(0)).isEqualTo("client worker-7 at /127.0.0.1:" + port + " disconnected "
          + "holding 12 lease(s); the tasks are ready again: " + String.join(", ", ids.subList(0, 10))
          + " and 2 more");
      assertThat(engine.size("q")).isEqualTo(12);
    }
  }

  private List<String> disconnectLines() {
    return logs.lines(Level.INFO).stream().filter(line -> line.contains("disconnected")).toList();
  }
}
