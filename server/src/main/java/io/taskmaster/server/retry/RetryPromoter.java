package io.taskmaster.server.retry;

import io.taskmaster.server.engine.QueueEngine;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves failed tasks whose retry backoff is over back to their queues. One loop on a named daemon thread every
 * {@link #PERIOD}: a retry starts at most that much after its backoff ends.
 */
public final class RetryPromoter implements AutoCloseable {
  /** Small against retry backoffs (a second and up), cheap when nothing is due (one peek). */
  static final Duration PERIOD = Duration.ofMillis(50);
  private static final Logger log = LoggerFactory.getLogger(RetryPromoter.class);

  private final QueueEngine engine;
  private final ScheduledExecutorService timer;

  private RetryPromoter(QueueEngine engine, String name) {
    this.engine = engine;
    this.timer = Executors.newSingleThreadScheduledExecutor(runnable -> {
      Thread thread = new Thread(runnable, "taskmaster-retry-promoter-" + name);
      thread.setDaemon(true);
      return thread;
    });
  }

  public static RetryPromoter start(QueueEngine engine, String name) {
    RetryPromoter promoter = new RetryPromoter(engine, name);
    promoter.timer.scheduleWithFixedDelay(promoter::promote, PERIOD.toMillis(), PERIOD.toMillis(),
        TimeUnit.MILLISECONDS);
    return promoter;
  }

  private void promote() {
    try {
      int promoted = engine.promoteDue();
      if (promoted > 0) {
        log.debug("{} task(s) ready again after their retry backoff", promoted);
      }
    } catch (RuntimeException e) {
      log.error("the retry promoter failed; it keeps running", e);
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
