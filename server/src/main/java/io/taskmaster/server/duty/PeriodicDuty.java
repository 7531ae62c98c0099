package io.taskmaster.server.duty;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A background duty of the master: one loop on its own named daemon thread, run every period until closed. A failing
 * run is logged and the loop goes on: a duty that stopped silently (expiring no lease, retrying no task) would be
 * worse than one that logs.
 */
public abstract class PeriodicDuty implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PeriodicDuty.class);

  private final String name;
  private final Duration period;
  private ScheduledExecutorService timer;

  protected PeriodicDuty(String name, Duration period) {
    this.name = name;
    this.period = period;
  }

  /** One run of the duty. */
  protected abstract void runOnce();

  /** Starts the loop; returns this. */
  public final PeriodicDuty start() {
    timer = Executors.newSingleThreadScheduledExecutor(runnable -> {
      Thread thread = new Thread(runnable, "taskmaster-" + name);
      thread.setDaemon(true);
      return thread;
    });
    timer.scheduleWithFixedDelay(this::runSafely, period.toMillis(), period.toMillis(), TimeUnit.MILLISECONDS);
    return this;
  }

  private void runSafely() {
    try {
      runOnce();
    } catch (RuntimeException e) {
      log.error("{} failed; it keeps running", name, e);
    }
  }

  @Override
  public void close() {
    if (timer != null) {
      timer.shutdownNow();
    }
  }
}
