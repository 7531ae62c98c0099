package io.taskmaster.server.net;

import java.net.InetAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Counts open connections, and handshakes in progress per address, against the configured limits. A handshake's slot
 * outlives its connection while its verdict is held back (see {@link AuthThrottle}).
 */
final class ConnectionRegistry {
  private final int maxConnections;
  private final int maxHandshakesPerAddress;
  private final AtomicInteger open = new AtomicInteger();
  /** Handshake slots taken per address; counted with merge and compute only, so a slot is never lost in a race. */
  private final ConcurrentHashMap<InetAddress, Integer> handshaking = new ConcurrentHashMap<>();

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
    if (handshaking.merge(address, 1, Integer::sum) > maxHandshakesPerAddress) {
      handshakeEnded(address);
      open.decrementAndGet();
      return "too many unauthenticated connections from " + address.getHostAddress() + " (limit "
          + maxHandshakesPerAddress + ", counting failed ones whose verdict is still held back); try again later";
    }
    return null;
  }

  /** The handshake's verdict was delivered, or its connection closed with none due: its slot is free. */
  void handshakeEnded(InetAddress address) {
    handshaking.computeIfPresent(address, (a, count) -> count <= 1 ? null : count - 1);
  }

  void closed() {
    open.decrementAndGet();
  }

  int open() {
    return open.get();
  }

  int handshakes(InetAddress address) {
    return handshaking.getOrDefault(address, 0);
  }
}
