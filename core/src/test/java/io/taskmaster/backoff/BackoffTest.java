package io.taskmaster.backoff;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigInteger;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class BackoffTest {
  @Test
  void eachDelayLiesBetweenHalfItsCeilingAndTheCeilingWhichDoublesUpToTheCap() {
    List<Duration> bases = List.of(Duration.ofNanos(1), Duration.ofMillis(50), Duration.ofSeconds(1),
        Duration.ofSeconds(10), Duration.ofHours(1));
    for (Duration base : bases) {
      for (Duration cap : List.of(base, base.multipliedBy(3), Duration.ofMinutes(5), Duration.ofDays(365))) {
        if (cap.compareTo(base) < 0) {
          continue;
        }
        Backoff backoff = new Backoff(base, cap);
        for (int n = 0; n < 100; n++) {
          long ceiling = ceiling(base, cap, n);
          assertThat(backoff.next().toNanos()).as("base %s, cap %s, attempt %d", base, cap, n)
              .isBetween(ceiling / 2, ceiling);
        }
        assertThat(backoff.attempts()).isEqualTo(100);
      }
    }
  }

  @Test
  void resetStartsOverFromTheBase() {
    Backoff backoff = new Backoff(Duration.ofMillis(50), Duration.ofSeconds(5));
    for (int n = 0; n < 20; n++) {
      backoff.next();
    }
    backoff.reset();
    assertThat(backoff.attempts()).isZero();
    assertThat(backoff.next()).isBetween(Duration.ofMillis(25), Duration.ofMillis(50));
  }

  @Test
  void aBaseAboveTheCapOrNotPositiveIsRefused() {
    assertThatThrownBy(() -> new Backoff(Duration.ZERO, Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0 < base <= cap");
    assertThatThrownBy(() -> new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("base PT2S and cap PT1S");
  }

  /** min(cap, base * 2^n) in exact arithmetic. */
  private static long ceiling(Duration base, Duration cap, int n) {
    BigInteger doubled = BigInteger.valueOf(base.toNanos()).shiftLeft(n);
    return doubled.min(BigInteger.valueOf(cap.toNanos())).longValueExact();
  }
}
