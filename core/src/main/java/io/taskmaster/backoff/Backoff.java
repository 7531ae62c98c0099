package io.taskmaster.backoff;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Capped exponential backoff with jitter: the n-th delay is a random duration in [c/2, c], c = min(cap, base * 2^n).
 * Jitter keeps a fleet of workers that lost the same master from reconnecting in lockstep. Not thread-safe: one per
 * retrying loop.
 */
public final class Backoff {
  private final long baseNanos;
  private final long capNanos;
  private int attempt;

  public Backoff(Duration base, Duration cap) {
    if (base.isNegative() || base.isZero() || cap.compareTo(base) < 0) {
      throw new IllegalArgumentException("backoff needs 0 < base <= cap, got base " + base + " and cap " + cap);
    }
    this.baseNanos = base.toNanos();
    this.capNanos = cap.toNanos();
  }

  /** The delay before the next attempt; each call doubles the ceiling up to the cap. */
  public Duration next() {
    // base * 2^attempt, unless that passes the cap: compared as base <= cap / 2^attempt, so it never overflows.
    long ceiling = attempt < 63 && baseNanos <= capNanos >> attempt ? baseNanos << attempt : capNanos;
    attempt++;
    return Duration.ofNanos(ThreadLocalRandom.current().nextLong(ceiling / 2, ceiling + 1));
  }

  /** The number of delays handed out since the last {@link #reset()}. */
  public int attempts() {
    return attempt;
  }

  public void reset() {
    attempt = 0;
  }
}
