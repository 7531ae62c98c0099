package io.taskmaster.cli.lifecycle;

import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/**
 * Turns SIGTERM and SIGINT into an orderly stop: the long-running command's main thread waits in {@link #await()},
 * a signal releases it, the command cleans up (drains, closes) and returns its exit code, 0 after a clean stop. A
 * plain JVM shutdown hook would exit with 143 whatever the cleanup achieved.
 */
public final class Termination {
  private static final Logger log = LoggerFactory.getLogger(Termination.class);
  private final CountDownLatch signalled = new CountDownLatch(1);
  private volatile String signal;

  /** Installs the handlers; call once, early. */
  public static Termination install() {
    Termination termination = new Termination();
    for (String name : new String[] {"TERM", "INT"}) {
      try {
        Signal.handle(new Signal(name), received -> termination.signal("SIG" + received.getName()));
      } catch (IllegalArgumentException e) {
        log.debug("cannot handle SIG{} on this platform: {}", name, e.getMessage());
      }
    }
    return termination;
  }

  private void signal(String name) {
    if (signal != null) {
      // A second signal means "now": the operator does not want to wait for the drain.
      log.warn("{} again: exiting without waiting", name);
      Runtime.getRuntime().halt(130);
    }
    signal = name;
    log.info("{} received: shutting down", name);
    signalled.countDown();
  }

  /** Blocks until a signal arrives. */
  public void await() throws InterruptedException {
    signalled.await();
  }

  /** Waits at most the given time for a signal; true when one arrived. */
  public boolean awaitFor(long time, java.util.concurrent.TimeUnit unit) throws InterruptedException {
    return signalled.await(time, unit);
  }

  /** Releases {@link #await()} as a signal would, for a command that ends by itself. */
  public void release() {
    signalled.countDown();
  }
}
