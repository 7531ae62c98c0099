package io.taskmaster.server.net;

import io.taskmaster.time.Ticker;
import java.net.InetAddress;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Slows down key guessing. Each address may fail a few times freely; after that each further failure's verdict is
 * held back, doubling up to a cap, until the address has gone a window without failing. With the cap on handshakes
 * in progress per address this bounds guesses from one address to a handful per second, while clients with the
 * right key from the same address still get in at once.
 */
final class AuthThrottle {
  private static final int FREE_FAILURES = 5;
  private static final long WINDOW_NANOS = Duration.ofMinutes(1).toNanos();
  private static final long FIRST_DELAY_MILLIS = 100;
  /** Below the clients' default connect timeout (5 s), so a throttled client still hears "wrong key". */
  private static final long MAX_DELAY_MILLIS = 2_000;

  private record Failures(int count, long lastNanos) {}

  private final ConcurrentHashMap<InetAddress, Failures> byAddress = new ConcurrentHashMap<>();
  private final Ticker ticker;

  AuthThrottle(Ticker ticker) {
    this.ticker = ticker;
  }

  /** Records a failure and returns how long to hold back the verdict. */
  Duration failed(InetAddress address) {
    long now = ticker.nanos();
    Failures failures = byAddress.compute(address, (a, old) -> old == null || now - old.lastNanos > WINDOW_NANOS
        ? new Failures(1, now)
        : new Failures(old.count + 1, now));
    if (byAddress.size() > 100_000) {
      byAddress.entrySet().removeIf(e -> now - e.getValue().lastNanos > WINDOW_NANOS);
    }
    int excess = failures.count - FREE_FAILURES;
    if (excess <= 0) {
      return Duration.ZERO;
    }
    return Duration.ofMillis(Math.min(MAX_DELAY_MILLIS, FIRST_DELAY_MILLIS << Math.min(excess - 1, 20)));
  }

  int failures(InetAddress address) {
    Failures failures = byAddress.get(address);
    return failures == null ? 0 : failures.count;
  }
}
