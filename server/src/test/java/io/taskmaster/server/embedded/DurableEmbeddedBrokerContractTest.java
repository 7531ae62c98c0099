package io.taskmaster.server.embedded;

import io.taskmaster.broker.Broker;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.broker.Brokers;
import io.taskmaster.testkit.BrokerContractTest;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The contract on an embedded broker with a journal: {@code embedded:NAME?data-dir=DIR}. */
class DurableEmbeddedBrokerContractTest extends BrokerContractTest {
  @TempDir
  static Path dataDir;

  @Override
  protected Broker openBroker() {
    return Brokers.open("embedded:durable-contract?retry-backoff=50ms&data-dir=" + dataDir.toUri().getPath(),
        BrokerOptions.defaults());
  }
}
