package io.taskmaster.server.master;

import io.taskmaster.server.duty.PeriodicDuty;
import io.taskmaster.server.engine.EngineLog;
import io.taskmaster.server.engine.EngineSettings;
import io.taskmaster.server.engine.EngineStats;
import io.taskmaster.server.engine.QueueEngine;
import io.taskmaster.server.journal.CheckpointDuty;
import io.taskmaster.server.journal.Journal;
import io.taskmaster.server.journal.JournalSettings;
import io.taskmaster.server.lease.LeaseReaper;
import io.taskmaster.server.retry.RetryPromoter;
import io.taskmaster.server.net.MasterServer;
import io.taskmaster.server.net.MasterSettings;
import io.taskmaster.time.Ticker;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running master: the journal (with a data directory), the queue engine, its background duties and the listeners
 * in front of it. Start order: journal replay, engine, lease reaper, retry promoter, checkpoints, listeners.
 *
 * <p>An orderly stop ({@link #close()}, on SIGTERM) loses nothing acknowledged and wastes no attempt: the listeners
 * stop accepting and reading; the acknowledgements of requests already taken land once the journal has them;
 * leases go back to their queues untried; clients are told the master is shutting down; the journal is flushed and
 * forced.
 */
public final class Master implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Master.class);
  /** How long an orderly stop waits for the journal to take what was acknowledged-to-be. */
  private static final long DRAIN_SECONDS = 10;

  private final QueueEngine engine;
  private final Journal journal;
  private final List<PeriodicDuty> duties;
  private final MasterServer server;

  private Master(QueueEngine engine, Journal journal, List<PeriodicDuty> duties, MasterServer server) {
    this.engine = engine;
    this.journal = journal;
    this.duties = duties;
    this.server = server;
  }

  public static Master start(MasterSettings settings) {
    return start(settings, EngineSettings.defaults());
  }

  public static Master start(MasterSettings settings, EngineSettings engineSettings) {
    return start(settings, engineSettings, null);
  }

  /**
   * @param journalSettings the data directory and fsync mode, or null to keep everything in memory
   */
  public static Master start(MasterSettings settings, EngineSettings engineSettings, JournalSettings journalSettings) {
    Journal journal = journalSettings == null ? null : Journal.open(journalSettings);
    List<PeriodicDuty> duties = new ArrayList<>();
    try {
      QueueEngine engine = new QueueEngine(engineSettings, Ticker.system(), Clock.systemUTC(),
          journal == null ? EngineLog.IN_MEMORY : journal);
      if (journal != null) {
        engine.restore(journal.recovered());
      }
      duties.add(LeaseReaper.start(engine, "master"));
      duties.add(RetryPromoter.start(engine, "master"));
      if (journal != null) {
        duties.add(CheckpointDuty.start(journal, engine, "master"));
      }
      MasterServer server = new MasterServer(settings, engine).start();
      return new Master(engine, journal, duties, server);
    } catch (RuntimeException e) {
      duties.forEach(PeriodicDuty::close);
      if (journal != null) {
        journal.close();
      }
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
    server.quiesce();
    try {
      engine.durable().get(DRAIN_SECONDS, TimeUnit.SECONDS);
    } catch (Exception e) {
      log.warn("the journal did not take the last changes within {} s ({}); their requests get no acknowledgement",
          DRAIN_SECONDS, e.toString());
    }
    int returned = engine.returnAllLeases();
    server.close();
    duties.forEach(PeriodicDuty::close);
    EngineStats stats = engine.stats();
    if (journal != null) {
      journal.close();
      log.info("master stopped: {} lease(s) returned untried; {} ready and {} delayed task(s), {} dead letter(s) "
          + "and {} result(s) are in the journal", returned, stats.ready(), stats.delayed(), stats.dead(),
          stats.storedResults());
    } else {
      log.info("master stopped: {} ready task(s) in {} queue(s) and {} stored result(s) were held in memory only",
          stats.ready(), stats.queues(), stats.storedResults());
    }
  }
}
