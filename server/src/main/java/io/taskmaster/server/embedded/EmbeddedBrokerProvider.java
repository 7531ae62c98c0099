package io.taskmaster.server.embedded;

import io.taskmaster.broker.Broker;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.broker.BrokerProvider;
import io.taskmaster.server.engine.EngineLog;
import io.taskmaster.server.engine.EngineSettings;
import io.taskmaster.server.engine.QueueEngine;
import io.taskmaster.server.journal.CheckpointDuty;
import io.taskmaster.server.journal.FsyncMode;
import io.taskmaster.server.journal.Journal;
import io.taskmaster.server.journal.JournalSettings;
import io.taskmaster.server.lease.LeaseReaper;
import io.taskmaster.server.retry.RetryPromoter;
import io.taskmaster.time.Durations;
import io.taskmaster.time.Ticker;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Serves {@code embedded:} URIs. Every broker opened on the same name shares one engine for the life of the JVM, so
 * a producer and a worker that each open {@code embedded:} see the same queues; {@code embedded:other} is a separate
 * set of queues (tests use a fresh name each).
 *
 * <p>Delivery rules can follow the name: {@code embedded:jobs?lease-timeout=10s&max-attempts=5&retry-backoff=200ms}.
 * So can a data directory, which makes the queues durable: {@code embedded:jobs?data-dir=/var/lib/app&fsync=always}
 * (the journal of {@code taskmaster master --data-dir}; fsync {@code always} by default). The first open of a name
 * decides them; opening it again with other settings is an error.
 */
public final class EmbeddedBrokerProvider implements BrokerProvider {
  private record Config(EngineSettings engine, JournalSettings journal) {}

  private record Engine(QueueEngine engine, Config config) {}

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
    Config config = query < 0 ? new Config(EngineSettings.defaults(), null) : config(part.substring(query + 1));
    Engine engine = ENGINES.computeIfAbsent(name, n -> {
      // The journal, the engine and its duties live as long as the JVM; acknowledged changes are on disk by then.
      Journal journal = config.journal() == null ? null : Journal.open(config.journal());
      QueueEngine created = new QueueEngine(config.engine(), Ticker.system(), Clock.systemUTC(),
          journal == null ? EngineLog.IN_MEMORY : journal);
      if (journal != null) {
        created.restore(journal.recovered());
        CheckpointDuty.start(journal, created, "embedded-" + n);
      }
      LeaseReaper.start(created, "embedded-" + n);
      RetryPromoter.start(created, "embedded-" + n);
      return new Engine(created, config);
    });
    if (query >= 0 && !engine.config().equals(config)) {
      throw new IllegalArgumentException("embedded:" + name + " is already open with other settings ("
          + engine.config() + "); use another name for other settings");
    }
    return new EmbeddedBroker(engine.engine(), name);
  }

  private static Config config(String query) {
    EngineSettings settings = EngineSettings.defaults();
    Path dataDir = null;
    FsyncMode fsync = FsyncMode.ALWAYS;
    for (String pair : query.split("&")) {
      int equals = pair.indexOf('=');
      String key = equals < 0 ? pair : pair.substring(0, equals);
      String value = equals < 0 ? "" : pair.substring(equals + 1);
      if (key.equals("data-dir")) {
        dataDir = Path.of(java.net.URLDecoder.decode(value, java.nio.charset.StandardCharsets.UTF_8));
        continue;
      }
      if (key.equals("fsync")) {
        fsync = FsyncMode.parse(value);
        continue;
      }
      settings = switch (key) {
        case "lease-timeout" -> settings.withVisibilityTimeout(Durations.parse(value));
        case "max-attempts" -> settings.withMaxAttempts(parseInt(key, value));
        case "retry-backoff" -> settings.withRetryBackoff(Durations.parse(value),
            max(Durations.parse(value), settings.maxRetryBackoff()));
        default -> throw new IllegalArgumentException("unknown embedded broker setting '" + key
            + "'; known: lease-timeout, max-attempts, retry-backoff, data-dir, fsync");
      };
    }
    return new Config(settings, dataDir == null ? null : JournalSettings.in(dataDir).withFsync(fsync));
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
