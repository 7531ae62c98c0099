package io.taskmaster.server.embedded;

import io.taskmaster.broker.Broker;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.broker.BrokerProvider;
import io.taskmaster.server.engine.EngineSettings;
import io.taskmaster.server.engine.QueueEngine;
import io.taskmaster.server.lease.LeaseReaper;
import io.taskmaster.server.retry.RetryPromoter;
import io.taskmaster.time.Durations;
import io.taskmaster.time.Ticker;
import java.net.URI;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Serves {@code embedded:} URIs. Every broker opened on the same name shares one engine for the life of the JVM, so
 * a producer and a worker that each open {@code embedded:} see the same queues; {@code embedded:other} is a separate
 * set of queues (tests use a fresh name each).
 *
 * <p>Delivery rules can follow the name: {@code embedded:jobs?lease-timeout=10s&max-attempts=5&retry-backoff=200ms}.
 * The first open of a name decides them; opening it again with other rules is an error.
 */
public final class EmbeddedBrokerProvider implements BrokerProvider {
  private record Engine(QueueEngine engine, EngineSettings settings) {}

  private static final Map<String, Engine> ENGINES = new ConcurrentHashMap<>();

  @Override
  public Set<String> schemes() {
    return Set.of("embedded");
  }

  @Override
  public Broker open(URI uri, BrokerOptions options) {
    String part = uri.getSchemeSpecificPart() == null ? "" : uri.getSchemeSpecificPart();
    int query = part.indexOf('?');
    String name = query < 0 ? part : part.substring(0, query);
    if (name.isEmpty()) {
      name = "default";
    }
    EngineSettings settings = query < 0 ? EngineSettings.defaults() : settings(part.substring(query + 1));
    Engine engine = ENGINES.computeIfAbsent(name, n -> {
      QueueEngine created = new QueueEngine(settings, Ticker.system());
      // Both live as long as the engine: the life of the JVM.
      LeaseReaper.start(created, "embedded-" + n);
      RetryPromoter.start(created, "embedded-" + n);
      return new Engine(created, settings);
    });
    if (query >= 0 && !engine.settings().equals(settings)) {
      throw new IllegalArgumentException("embedded:" + name + " is already open with other settings ("
          + engine.settings() + "); use another name for other delivery rules");
    }
    return new EmbeddedBroker(engine.engine(), name);
  }

  private static EngineSettings settings(String query) {
    EngineSettings settings = EngineSettings.defaults();
    for (String pair : query.split("&")) {
      int equals = pair.indexOf('=');
      String key = equals < 0 ? pair : pair.substring(0, equals);
      String value = equals < 0 ? "" : pair.substring(equals + 1);
      settings = switch (key) {
        case "lease-timeout" -> settings.withVisibilityTimeout(Durations.parse(value));
        case "max-attempts" -> settings.withMaxAttempts(parseInt(key, value));
        case "retry-backoff" -> settings.withRetryBackoff(Durations.parse(value),
            max(Durations.parse(value), settings.maxRetryBackoff()));
        default -> throw new IllegalArgumentException("unknown embedded broker setting '" + key
            + "'; known: lease-timeout, max-attempts, retry-backoff");
      };
    }
    return settings;
  }

  private static java.time.Duration max(java.time.Duration a, java.time.Duration b) {
    return a.compareTo(b) >= 0 ? a : b;
  }

  private static int parseInt(String key, String value) {
    try {
      return Integer.parseInt(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + " must be a whole number, was '" + value + "'");
    }
  }
}
