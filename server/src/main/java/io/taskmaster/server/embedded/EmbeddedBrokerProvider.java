package io.taskmaster.server.embedded;

import io.taskmaster.broker.Broker;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.broker.BrokerProvider;
import io.taskmaster.server.engine.EngineSettings;
import io.taskmaster.server.engine.QueueEngine;
import io.taskmaster.server.lease.LeaseReaper;
import io.taskmaster.time.Ticker;
import java.net.URI;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Serves {@code embedded:} URIs. Every broker opened on the same name shares one engine for the life of the JVM, so
 * a producer and a worker that each open {@code embedded:} see the same queues; {@code embedded:other} is a separate
 * set of queues (tests use a fresh name each).
 */
public final class EmbeddedBrokerProvider implements BrokerProvider {
  private static final Map<String, QueueEngine> ENGINES = new ConcurrentHashMap<>();

  @Override
  public Set<String> schemes() {
    return Set.of("embedded");
  }

  @Override
  public String artifact() {
    return "taskmaster-server";
  }

  @Override
  public Broker open(URI uri, BrokerOptions options) {
    String name = uri.getSchemeSpecificPart();
    if (name == null || name.isEmpty()) {
      name = "default";
    }
    QueueEngine engine = ENGINES.computeIfAbsent(name, n -> {
      QueueEngine created = new QueueEngine(EngineSettings.defaults(), Ticker.system());
      LeaseReaper.start(created, "embedded-" + n); // lives as long as the engine: the life of the JVM
      return created;
    });
    return new EmbeddedBroker(engine, name);
  }
}
