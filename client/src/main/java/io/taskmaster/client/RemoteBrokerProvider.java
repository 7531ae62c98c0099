package io.taskmaster.client;

import io.taskmaster.broker.Broker;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.broker.BrokerProvider;
import java.net.URI;
import java.util.Set;

/** Serves {@code taskmaster://host:port} URIs (port 5000 when omitted). */
public final class RemoteBrokerProvider implements BrokerProvider {
  public static final int DEFAULT_PORT = 5000;

  @Override
  public Set<String> schemes() {
    return Set.of("taskmaster");
  }

  @Override
  public Broker open(URI uri, BrokerOptions options) {
    String host = uri.getHost();
    if (host == null || host.isEmpty()) {
      throw new IllegalArgumentException("broker URI '" + uri + "' names no host; use taskmaster://HOST:PORT, "
          + "e.g. taskmaster://127.0.0.1:5000");
    }
    if (uri.getUserInfo() != null) {
      // The URI itself is left out of this message: its user part may be a secret.
      throw new IllegalArgumentException("broker URIs carry no credentials (this one has a user part); give the "
          + "key with --authkey-file or the TASKMASTER_AUTHKEY variable");
    }
    int port = uri.getPort() == -1 ? DEFAULT_PORT : uri.getPort();
    return RemoteBroker.connect(host, port, options);
  }
}
