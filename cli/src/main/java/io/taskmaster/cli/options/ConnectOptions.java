package io.taskmaster.cli.options;

import io.taskmaster.broker.Broker;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.broker.Brokers;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code --connect URI} plus the key, for commands that talk to a master. */
public final class ConnectOptions {
  @Option(names = "--connect", paramLabel = "URI", defaultValue = "taskmaster://127.0.0.1:5000",
      description = "The master to use (default: ${DEFAULT-VALUE}).")
  public String uri;

  @Mixin
  public KeyOptions key;

  public Broker open() {
    return open(null);
  }

  /** Opens the broker with a name for this client (null for none) that the master shows in its logs and errors. */
  public Broker open(String clientName) {
    return Brokers.open(uri, BrokerOptions.withKey(key.key()).clientName(clientName));
  }
}
