package io.taskmaster.server.lease;

import io.taskmaster.broker.TaskIds;
import io.taskmaster.server.duty.PeriodicDuty;
import io.taskmaster.server.engine.QueueEngine;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Expires leases whose consumer neither settled nor extended them in time (a hung handler, a paused or partitioned
 * worker), so their tasks go to other consumers. Runs every {@link #PERIOD}: a lease outlives its deadline by at
 * most that much, and never expires early.
 */
public final class LeaseReaper extends PeriodicDuty {
  /** Small against any sensible lease timeout (seconds), cheap when nothing expires (one peek). */
  static final Duration PERIOD = Duration.ofMillis(100);
  private static final Logger log = LoggerFactory.getLogger(LeaseReaper.class);

  private final QueueEngine engine;

  private LeaseReaper(QueueEngine engine, String name) {
    super("lease-reaper-" + name, PERIOD);
    this.engine = engine;
  }

  public static LeaseReaper start(QueueEngine engine, String name) {
    LeaseReaper reaper = new LeaseReaper(engine, name);
    reaper.start();
    return reaper;
  }

  @Override
  protected void runOnce() {
    List<String> expired = engine.expireLeases();
    if (!expired.isEmpty()) {
      log.info("{} lease(s) expired without being settled or extended; their tasks go to other workers: {}",
          expired.size(), TaskIds.sample(expired));
    }
  }
}
