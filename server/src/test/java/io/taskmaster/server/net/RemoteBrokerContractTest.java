package io.taskmaster.server.net;

import io.taskmaster.broker.AuthKey;
import io.taskmaster.broker.Broker;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.broker.Brokers;
import io.taskmaster.server.engine.EngineSettings;
import io.taskmaster.server.master.Master;
import java.time.Duration;
import io.taskmaster.testkit.BrokerContractTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The contract, over real sockets against a master on an ephemeral loopback port. */
class RemoteBrokerContractTest extends BrokerContractTest {
  private static final AuthKey KEY = AuthKey.of("contract-test-key-0123456789abcdef");
  private static Master master;

  @BeforeAll
  static void startMaster() {
    // Short retry backoffs keep the retry tests quick; the rules are the same as in production.
    master = Master.start(MasterSettings.of(0, KEY),
        EngineSettings.defaults().withRetryBackoff(Duration.ofMillis(50), Duration.ofMinutes(5)));
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
