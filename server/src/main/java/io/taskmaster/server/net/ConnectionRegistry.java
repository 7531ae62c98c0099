package io.taskmaster.server.net;

import java.net.InetAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Counts open connections, handshakes in progress per address, and connections not yet authenticated, against the
 * configured limits. A handshake's slot outlives its connection while its verdict is held back (see
 * {@link AuthThrottle}); a place among the {@link Newcomers} does not.
 */
final class ConnectionRegistry {
  private final int maxConnections;
  private final int maxHandshakesPerAddress;
  private final AtomicInteger open = new AtomicInteger();
  /** Handshake slots taken per address; counted with merge and compute only, so a slot is never lost in a race. */
  private final ConcurrentHashMap<InetAddress, Integer> handshaking = new ConcurrentHashMap<>();
  private final Newcomers newcomers;

  ConnectionRegistry(int maxConnections, int maxHandshakesPerAddress, int maxUnauthenticated) {
    this.maxConnections = maxConnections;
    this.maxHandshakesPerAddress = maxHandshakesPerAddress;
    this.newcomers = new Newcomers(maxUnauthenticated);
  }

  /**
   * Admits a new connection, which holds a handshake slot and a place among the newcomers until it authenticates,
   * or returns why not (and admits nothing).
   */
  String admit(Newcomers.Newcomer connection) {
    if (open.incrementAndGet() > maxConnections) {
      open.decrementAndGet();
      return "the master serves its limit of " + maxConnections + " connections; try again later";
    }
    InetAddress address = connection.address();
    if (handshaking.merge(address, 1, Integer::sum) > maxHandshakesPerAddress) {
      handshakeEnded(address);
      open.decrementAndGet();
      return "too many unauthenticated connections from " + address.getHostAddress() + " (limit "
          + maxHandshakesPerAddress + ", counting failed ones whose verdict is still held back); try again later";
    }
    String refusal = newcomers.admit(connection);
    if (refusal != null) {
      handshakeEnded(address);
      open.decrementAndGet();
    }
    return refusal;
  }

  /** The connection authenticated, or closed: its place among the newcomers is free. */
  void leftNewcomers(Newcomers.Newcomer connection) {
    newcomers.left(connection);
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

  int unauthenticated() {
    return newcomers.count();
  }
}
