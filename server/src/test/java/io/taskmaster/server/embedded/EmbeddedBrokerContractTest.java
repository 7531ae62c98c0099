package io.taskmaster.server.embedded;

import io.taskmaster.broker.Broker;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.broker.Brokers;
import io.taskmaster.testkit.BrokerContractTest;

class EmbeddedBrokerContractTest extends BrokerContractTest {
  @Override
  protected Broker openBroker() {
    return Brokers.open("embedded:contract", BrokerOptions.defaults());
  }
}
