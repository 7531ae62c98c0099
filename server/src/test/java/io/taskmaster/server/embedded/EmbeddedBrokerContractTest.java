package io.taskmaster.server.embedded;

import io.taskmaster.broker.Broker;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.broker.Brokers;
import io.taskmaster.testkit.BrokerContractTest;

class EmbeddedBrokerContractTest extends BrokerContractTest {
  @Override
  protected Broker openBroker() {
    // Short retry backoffs keep the retry tests quick; the rules are the same as in production.
    return Brokers.open("embedded:contract?retry-backoff=50ms", BrokerOptions.defaults());
  }
}
