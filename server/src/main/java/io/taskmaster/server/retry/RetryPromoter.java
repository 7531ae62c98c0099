package io.taskmaster.server.retry;

import io.taskmaster.broker.TaskIds;
import io.taskmaster.server.duty.PeriodicDuty;
import io.taskmaster.server.engine.QueueEngine;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves tasks whose start time came, or whose retry backoff is over, back to their queues. Runs every {@link
 * #PERIOD}: a task starts at most that much after its time.
 */
public final class RetryPromoter extends PeriodicDuty {
  /** Small against retry backoffs (a second and up), cheap when nothing is due (one peek). */
  static final Duration PERIOD = Duration.ofMillis(50);
  private static final Logger log = LoggerFactory.getLogger(RetryPromoter.class);

  private final QueueEngine engine;

  private RetryPromoter(QueueEngine engine, String name) {
    super("retry-promoter-" + name, PERIOD);
    this.engine = engine;
  }

  public static RetryPromoter start(QueueEngine engine, String name) {
    RetryPromoter promoter = new RetryPromoter(engine, name);
    promoter.start();
    return promoter;
  }

  @Override
  protected void runOnce() {
    List<String> promoted = engine.promoteDue();
    if (!promoted.isEmpty()) {
      log.debug("{} task(s) ready again after their start time or retry backoff: {}", promoted.size(),
          TaskIds.sample(promoted));
    }
  }
}
