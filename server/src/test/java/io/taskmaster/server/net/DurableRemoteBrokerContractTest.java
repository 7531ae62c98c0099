package io.taskmaster.server.net;

import io.taskmaster.broker.AuthKey;
import io.taskmaster.broker.Broker;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.broker.Brokers;
import io.taskmaster.server.engine.EngineSettings;
import io.taskmaster.server.journal.JournalSettings;
import io.taskmaster.server.master.Master;
import io.taskmaster.testkit.BrokerContractTest;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/**
 * The contract against a master with a journal (fsync always): acknowledgements that wait for the disk must change
 * nothing a client can see but the time they take.
 */
class DurableRemoteBrokerContractTest extends BrokerContractTest {
  private static final AuthKey KEY = AuthKey.of("durable-contract-key-0123456789abcdef");
  private static Master master;

  @TempDir
  static Path dataDir;

  @BeforeAll
  static void startMaster() {
    master = Master.start(MasterSettings.of(0, KEY),
        EngineSettings.defaults().withRetryBackoff(Duration.ofMillis(50), Duration.ofMinutes(5)),
        JournalSettings.in(dataDir));
  }

  @AfterAll
  static void stopMaster() {
    master.close();
  }

  @Override
  protected Broker openBroker() {
    return Brokers.open(master.uri(), BrokerOptions.withKey(KEY));
  }
}
