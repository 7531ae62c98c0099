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
    return Brokers.open(uri, BrokerOptions.withKey(key.key()));
  }
}
