package io.taskmaster.client;

import java.util.concurrent.CompletableFuture;

/**
 * A connection whose waiting callers may read their answers from the socket themselves, instead of a reader thread
 * reading them and waking the caller: one thread hand-off less on every round trip a caller waits for (see
 * {@link SocketLink}).
 */
@FunctionalInterface
interface CallerReads {
  /** No time limit for {@link #readUntil}. */
  long NO_TIMEOUT = Long.MAX_VALUE;

  /**
   * Reads and dispatches frames on the calling thread until {@code answer} is complete, and returns; or returns
   * earlier, leaving the caller to wait as for any future: when this thread must not read (another thread is reading,
   * or this one must not block in a socket read), after {@code timeoutNanos}, when the
   * connection closes, or, if {@code interruptible}, once the thread is interrupted.
   */
  void readUntil(CompletableFuture<?> answer, long timeoutNanos, boolean interruptible);
}
