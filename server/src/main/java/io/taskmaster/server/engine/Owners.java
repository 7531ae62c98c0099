package io.taskmaster.server.engine;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Owner ids for the engine's leases and waits: one per connection or embedded broker, unique in this JVM whatever
 * front end (our protocol, the Python managers listener, an embedded broker) hands them out, so that two front ends
 * over one engine can never settle each other's leases.
 */
public final class Owners {
  private static final AtomicLong LAST = new AtomicLong();

  private Owners() {}

  public static long next() {
    return LAST.incrementAndGet();
  }
}
