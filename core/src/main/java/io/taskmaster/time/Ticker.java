package io.taskmaster.time;

/**
 * A monotonic time source in nanoseconds. Leases, timeouts and expiry read it rather than the wall clock, so a clock
 * jump cannot expire every lease at once, and tests can advance time without sleeping.
 */
@FunctionalInterface
public interface Ticker {
  long nanos();

  static Ticker system() {
    return System::nanoTime;
  }
}
