package io.taskmaster.server.lease;

import io.taskmaster.server.engine.QueueEngine;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Expires leases whose consumer neither settled nor extended them in time (a hung handler, a paused or partitioned
 * worker), so their tasks go to other consumers. One loop on a named daemon thread, every {@link #PERIOD}: a lease
 * outlives its deadline by at most that much.
 */
public final class LeaseReaper implements AutoCloseable {
  /** Small against any sensible lease timeout (seconds), cheap when nothing expires (one peek). */
  static final Duration PERIOD = Duration.ofMillis(100);
  private static final Logger log = LoggerFactory.getLogger(LeaseReaper.class);

  private final QueueEngine engine;
  private final ScheduledExecutorService timer;
  private final AtomicLong expired = new AtomicLong();

  private LeaseReaper(QueueEngine engine, String name) {
    this.engine = engine;
    this.timer = Executors.newSingleThreadScheduledExecutor(runnable -> {
      Thread thread = new Thread(runnable, "taskmaster-lease-reaper-" + name);
      thread.setDaemon(true);
      return thread;
    });
  }

  public static LeaseReaper start(QueueEngine engine, String name) {
    LeaseReaper reaper = new LeaseReaper(engine, name);
    reaper.timer.scheduleWithFixedDelay(reaper::reap, PERIOD.toMillis(), PERIOD.toMillis(), TimeUnit.MILLISECONDS);
    return reaper;
  }

  private void reap() {
    try {
      int count = engine.expireLeases();
      if (count > 0) {
        expired.addAndGet(count);
        log.info("{} lease(s) expired without being settled or extended; their tasks are ready again", count);
      }
    } catch (RuntimeException e) {
      log.error("the lease reaper failed; it keeps running", e);
    }
  }

  /** Leases expired since start, for stats. */
  public long expired() {
    return expired.get();
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
