package io.taskmaster.server.net;

import java.net.InetAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** Counts open connections, and handshakes in progress per address, against the configured limits. */
final class ConnectionRegistry {
  private final int maxConnections;
  private final int maxHandshakesPerAddress;
  private final AtomicInteger open = new AtomicInteger();
  private final ConcurrentHashMap<InetAddress, AtomicInteger> handshaking = new ConcurrentHashMap<>();

  ConnectionRegistry(int maxConnections, int maxHandshakesPerAddress) {
    this.maxConnections = maxConnections;
    this.maxHandshakesPerAddress = maxHandshakesPerAddress;
  }

  /** Admits a new connection, or returns why not (and admits nothing). */
  String admit(InetAddress address) {
    if (open.incrementAndGet() > maxConnections) {
      open.decrementAndGet();
      return "the master serves its limit of " + maxConnections + " connections; try again later";
    }
    AtomicInteger count = handshaking.computeIfAbsent(address, a -> new AtomicInteger());
    if (count.incrementAndGet() > maxHandshakesPerAddress) {
      count.decrementAndGet();
      open.decrementAndGet();
      return "too many unauthenticated connections from " + address.getHostAddress() + " (limit "
          + maxHandshakesPerAddress + ")";
    }
    return null;
  }

  void handshakeEnded(InetAddress address) {
    handshaking.computeIfPresent(address, (a, count) -> count.decrementAndGet() <= 0 ? null : count);
  }

  void closed() {
    open.decrementAndGet();
  }

  int open() {
    return open.get();
  }
}
