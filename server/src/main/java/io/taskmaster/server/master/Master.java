package io.taskmaster.server.master;

import io.taskmaster.server.engine.EngineSettings;
import io.taskmaster.server.engine.EngineStats;
import io.taskmaster.server.engine.QueueEngine;
import io.taskmaster.server.net.MasterServer;
import io.taskmaster.server.net.MasterSettings;
import io.taskmaster.time.Ticker;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running master: the queue engine and the listeners in front of it. Start order: engine, then listeners;
 * shutdown order: listeners first (no new work arrives, connections close and return their leases), then the
 * engine.
 */
public final class Master implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Master.class);

  private final QueueEngine engine;
  private final MasterServer server;

  private Master(QueueEngine engine, MasterServer server) {
    this.engine = engine;
    this.server = server;
  }

  public static Master start(MasterSettings settings) {
    return start(settings, EngineSettings.defaults());
  }

  public static Master start(MasterSettings settings, EngineSettings engineSettings) {
    QueueEngine engine = new QueueEngine(engineSettings, Ticker.system());
    MasterServer server = new MasterServer(settings, engine).start();
    return new Master(engine, server);
  }

  public int port() {
    return server.port();
  }

  /** {@code taskmaster://127.0.0.1:<port>} */
  public String uri() {
    return "taskmaster://127.0.0.1:" + port();
  }

  public QueueEngine engine() {
    return engine;
  }

  public int openConnections() {
    return server.openConnections();
  }

  @Override
  public void close() {
    server.close();
    EngineStats stats = engine.stats();
    log.info("master stopped: {} ready task(s) in {} queue(s) and {} stored result(s) were held in memory", stats.ready(),
        stats.queues(), stats.storedResults());
  }
}
