package io.taskmaster.server.net;

import io.taskmaster.time.Ticker;
import java.net.InetAddress;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Slows down key guessing. Each address may fail a few times freely; after that it is <em>throttled</em>: the verdict
 * on each further attempt is held back, doubling up to a cap, until the address has gone a window without failing.
 *
 * <p>While an address is throttled the verdict's timing must not give it away, or a guesser would send AUTH, wait
 * a little longer than a right key takes, and hang up to try again. So a right key from a throttled address is held
 * back exactly as long as a wrong one would be, and counts towards the doubling exactly as a wrong one does: what
 * the master does until it sends the verdict does not depend on the key. A right key does not extend the window,
 * though, so that clients with the key from an address that once failed are not held back for ever. (That the
 * window then ends a little sooner tells a guesser at most whether its last attempt was right, a minute later.)
 *
 * <p>The session keeps the attempt's handshake slot until the verdict is due, whether or not the client waits for
 * it (see {@link ServerSession}), so with {@link MasterSettings#maxHandshakesPerAddress()} slots an address gets at
 * most slots / hold-back attempts per second once the cap is reached: 64 / 2 s = 32 by default.
 */
final class AuthThrottle {
  /** Failures answered at once: a client with a mistyped key learns so without delay. */
  static final int FREE_FAILURES = 5;
  private static final long WINDOW_NANOS = Duration.ofMinutes(1).toNanos();
  private static final Duration FIRST_HOLD_BACK = Duration.ofMillis(100);
  /** Below the clients' default connect timeout (5 s), so a throttled client still hears its verdict. */
  private static final Duration MAX_HOLD_BACK = Duration.ofSeconds(2);

  /** Attempts counted against an address in its current window, and the time of its last failure. */
  private record Strikes(int count, long lastFailureNanos) {}

  private final ConcurrentHashMap<InetAddress, Strikes> byAddress = new ConcurrentHashMap<>();
  private final LongAdder judged = new LongAdder();
  private final Ticker ticker;
  private final long firstHoldBackMillis;
  private final long maxHoldBackMillis;

  AuthThrottle(Ticker ticker) {
    this(ticker, FIRST_HOLD_BACK, MAX_HOLD_BACK);
  }

  /** With other hold-backs, for tests that must see verdicts held for longer than they run. */
  AuthThrottle(Ticker ticker, Duration firstHoldBack, Duration maxHoldBack) {
    this.ticker = ticker;
    this.firstHoldBackMillis = firstHoldBack.toMillis();
    this.maxHoldBackMillis = maxHoldBack.toMillis();
  }

  /** Counts an attempt whose key matched or not, and returns how long to hold back its verdict. */
  Duration attempted(InetAddress address, boolean keyMatched) {
    long now = ticker.nanos();
    Strikes strikes = byAddress.compute(address, (a, old) -> {
      boolean expired = old == null || now - old.lastFailureNanos > WINDOW_NANOS;
      if (!keyMatched) {
        return expired ? new Strikes(1, now) : new Strikes(old.count + 1, now);
      }
      if (expired) {
        return null;
      }
      return old.count < FREE_FAILURES ? old : new Strikes(old.count + 1, old.lastFailureNanos);
    });
    judged.increment(); // after the count, so that whoever sees the attempt judged sees it counted
    if (byAddress.size() > 100_000) {
      byAddress.entrySet().removeIf(e -> now - e.getValue().lastFailureNanos > WINDOW_NANOS);
    }
    int excess = strikes == null ? 0 : strikes.count - FREE_FAILURES;
    if (excess <= 0) {
      return Duration.ZERO;
    }
    return Duration.ofMillis(Math.min(maxHoldBackMillis, firstHoldBackMillis << Math.min(excess - 1, 20)));
  }

  /** Every AUTH judged since the start, from any address, with either key. */
  long judged() {
    return judged.sum();
  }

  /** Attempts counted against the address in its current window: its failures, and right keys while throttled. */
  int attempts(InetAddress address) {
    Strikes strikes = byAddress.get(address);
    return strikes == null ? 0 : strikes.count;
  }
}
