package io.taskmaster.client;

import io.taskmaster.broker.NonBlockingThread;
import io.taskmaster.time.Timers;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Tells a dead master from a quiet one. A master whose machine died, or a network that drops every packet, closes
 * nothing, and a client would wait for its answers for ever. So each connection is checked: after half the silence
 * timeout without a frame from the master it sends a PING, which any live master answers at once; after the whole
 * timeout it counts as dead and is closed, and the broker reconnects.
 */
final class SilenceWatch {
  /** One thread for every connection of the JVM; it only reads clocks and hands PINGs to the writers. */
  private static final ScheduledExecutorService TIMER = Timers.singleThread(runnable -> {
    Thread thread = new NonBlockingThread(runnable, "taskmaster-silence-watch");
    thread.setDaemon(true);
    return thread;
  });

  private SilenceWatch() {}

  /** Checks {@code connection} a few times per timeout until the returned future is cancelled. */
  static ScheduledFuture<?> watch(Connection connection, Duration timeout) {
    long period = Math.max(25, timeout.toMillis() / 4);
    return TIMER.scheduleWithFixedDelay(() -> connection.checkSilence(timeout), period, period,
        TimeUnit.MILLISECONDS);
  }
}
