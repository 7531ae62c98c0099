package io.taskmaster.server.master;

import io.taskmaster.server.engine.EngineSettings;
import io.taskmaster.server.engine.EngineStats;
import io.taskmaster.server.engine.QueueEngine;
import io.taskmaster.server.lease.LeaseReaper;
import io.taskmaster.server.retry.RetryPromoter;
import io.taskmaster.server.net.MasterServer;
import io.taskmaster.server.net.MasterSettings;
import io.taskmaster.time.Ticker;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running master: the queue engine, its background duties and the listeners in front of it. Start order:
 * engine, lease reaper, retry promoter, listeners. Shutdown order: listeners first (no new work arrives,
 * connections close and return their leases), then the promoter and the reaper, then the engine.
 */
public final class Master implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Master.class);

  private final QueueEngine engine;
  private final LeaseReaper reaper;
  private final RetryPromoter promoter;
  private final MasterServer server;

  private Master(QueueEngine engine, LeaseReaper reaper, RetryPromoter promoter, MasterServer server) {
    this.engine = engine;
    this.reaper = reaper;
    this.promoter = promoter;
    this.server = server;
  }

  public static Master start(MasterSettings settings) {
    return start(settings, EngineSettings.defaults());
  }

  public static Master start(MasterSettings settings, EngineSettings engineSettings) {
    QueueEngine engine = new QueueEngine(engineSettings, Ticker.system());
    LeaseReaper reaper = LeaseReaper.start(engine, "master");
    RetryPromoter promoter = RetryPromoter.start(engine, "master");
    try {
      MasterServer server = new MasterServer(settings, engine).start();
      return new Master(engine, reaper, promoter, server);
    } catch (RuntimeException e) {
      promoter.close();
      reaper.close();
      throw e;
    }
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
    promoter.close();
    reaper.close();
    EngineStats stats = engine.stats();
    log.info("master stopped: {} ready task(s) in {} queue(s) and {} stored result(s) were held in memory", stats.ready(),
        stats.queues(), stats.storedResults());
  }
}
