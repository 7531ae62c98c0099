package io.taskmaster.server.net;

import java.net.InetAddress;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * The connections that have not authenticated yet, at most {@code max} of them, so that idle or slow handshakes
 * cannot take the room under the connection limit that authenticated clients need.
 *
 * <p>A plain cap would let an attacker fill it and keep every new client out, keyed or not. So when it is full a
 * newcomer takes the place of the oldest connection from the address that holds the most places, provided its own
 * address holds fewer: a client from an address with no handshake in progress always gets in, and a flood from a
 * few addresses only ever displaces itself. Blocking others would take more addresses than there are places, each
 * opening connections faster than a client completes a handshake. A newcomer from the address that holds the most
 * places is refused at once.
 *
 * <p>Finding that address walks every address with a handshake in progress, only when the cap is full: at most
 * {@code max} entries, under a lock the admissions of new connections share.
 */
final class Newcomers {
  /** A connection still authenticating, as the cap sees it. */
  interface Newcomer {
    InetAddress address();

    /** Closes this connection to make room for {@code newcomer}; called on any thread. */
    void evict(Newcomer newcomer);
  }

  /** One place, and when it was taken: the oldest place of the fullest address is given up first. */
  private record Place(Newcomer holder, long admitted) {}

  private final int max;
  /** Each address's places, oldest first; guarded by this. */
  private final Map<InetAddress, ArrayDeque<Place>> byAddress = new HashMap<>();
  private int count;
  private long admissions;

  Newcomers(int max) {
    this.max = max;
  }

  /**
   * Gives the newcomer a place, or returns why not. A connection it displaces is evicted before this returns, outside
   * the lock.
   */
  String admit(Newcomer newcomer) {
    Newcomer displaced = null;
    synchronized (this) {
      ArrayDeque<Place> own = byAddress.get(newcomer.address());
      if (count >= max) {
        ArrayDeque<Place> fullest = fullest();
        if (fullest == null || fullest.size() <= (own == null ? 0 : own.size())) {
          return "the master serves its limit of " + max + " unauthenticated connections and this address holds "
              + "the most of them; try again once they have authenticated or timed out";
        }
        displaced = fullest.peekFirst().holder();
        remove(displaced);
      }
      byAddress.computeIfAbsent(newcomer.address(), a -> new ArrayDeque<>()).addLast(new Place(newcomer, admissions++));
      count++;
    }
    if (displaced != null) {
      displaced.evict(newcomer);
    }
    return null;
  }

  /** The newcomer authenticated or went away; nothing happens if it had been displaced already. */
  synchronized void left(Newcomer newcomer) {
    remove(newcomer);
  }

  synchronized int count() {
    return count;
  }

  private void remove(Newcomer newcomer) {
    ArrayDeque<Place> places = byAddress.get(newcomer.address());
    if (places != null && places.removeIf(place -> place.holder() == newcomer)) {
      count--;
      if (places.isEmpty()) {
        byAddress.remove(newcomer.address());
      }
    }
  }

  /** The places of the address that holds the most, and of those the one whose oldest place is oldest. */
  private ArrayDeque<Place> fullest() {
    ArrayDeque<Place> fullest = null;
    for (ArrayDeque<Place> places : byAddress.values()) {
      if (fullest == null || places.size() > fullest.size()
          || (places.size() == fullest.size() && places.peekFirst().admitted() < fullest.peekFirst().admitted())) {
        fullest = places;
      }
    }
    return fullest;
  }
}
