package io.taskmaster.server.net;

import io.taskmaster.broker.AuthKey;
import io.taskmaster.protocol.wire.Wire;
import java.time.Duration;

/**
 * Network settings of the master. See docs/configuration.md for each knob's meaning and default.
 *
 * @param host the address to listen on (default 127.0.0.1: reachable from this machine only)
 * @param port the port; 0 picks a free one
 * @param authKey the shared key; null only when the operator chose {@code --insecure}
 * @param maxFrameBytes the largest frame accepted after authentication
 * @param handshakeTimeout how long a new connection has to authenticate
 * @param maxConnections connections served at once; more are refused with TOO_MANY_CONNECTIONS
 * @param maxUnauthenticated connections not yet authenticated at once, so that the rest of {@code maxConnections}
 *     stays for authenticated ones; 0 picks half of {@code maxConnections} (see {@link #effectiveMaxUnauthenticated()})
 * @param maxHandshakesPerAddress connections from one address still authenticating at once, counting failed ones
 *     whose verdict is still held back
 * @param maxPendingPerConnection waiting lease and result requests one connection may hold
 * @param ioThreads event loop threads; 0 picks one per four cores, at least one (see {@link #effectiveIoThreads()})
 * @param maxLeaseWait the longest one LEASE waits for a task before it is answered empty: the protocol's 60 s by
 *     default, and never more (docs/protocol.md, section 8); a client that wants to wait longer asks again. Tests set
 *     it shorter to see the cap without waiting a minute
 * @param maxOutputBufferBytes the most bytes one connection may have waiting to be taken by its client; a connection
 *     that passes it is closed, as a client that does not read its answers. 0 picks the larger of 64 MiB and four
 *     frames (see {@link #effectiveMaxOutputBufferBytes()})
 */
public record MasterSettings(
    String host,
    int port,
    AuthKey authKey,
    int maxFrameBytes,
    Duration handshakeTimeout,
    int maxConnections,
    int maxUnauthenticated,
    int maxHandshakesPerAddress,
    int maxPendingPerConnection,
    int ioThreads,
    Duration maxLeaseWait,
    long maxOutputBufferBytes) {
  /** The protocol's cap on a LEASE's waitMillis (docs/protocol.md, section 8), which clients count on. */
  public static final Duration PROTOCOL_MAX_LEASE_WAIT = Duration.ofSeconds(60);
  private static final long MIB = 1024 * 1024;
  /** The least default limit on a connection's output buffer: 16 times the mark where its reading stops. */
  private static final long DEFAULT_MAX_OUTPUT_BUFFER_BYTES = 64 * MIB;

  public MasterSettings {
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port must be between 0 and 65535, was " + port);
    }
    if (maxFrameBytes < 1024) {
      throw new IllegalArgumentException("the frame limit must be at least 1024 bytes, was " + maxFrameBytes);
    }
    if (handshakeTimeout.isNegative() || handshakeTimeout.isZero()) {
      throw new IllegalArgumentException("the handshake timeout must be positive, was " + handshakeTimeout);
    }
    if (maxConnections < 1) {
      throw new IllegalArgumentException("the connection limit must be at least 1, was " + maxConnections
          + " (e.g. --max-connections 10000)");
    }
    if (maxHandshakesPerAddress < 1) {
      throw new IllegalArgumentException("the limit on handshakes per address must be at least 1, was "
          + maxHandshakesPerAddress + " (e.g. --max-handshakes-per-address 64)");
    }
    if (maxPendingPerConnection < 1) {
      throw new IllegalArgumentException("the limit on requests waiting per connection must be at least 1, was "
          + maxPendingPerConnection);
    }
    if (ioThreads < 0) {
      throw new IllegalArgumentException("the number of IO threads must be 0 (a default) or more, was " + ioThreads
          + " (e.g. --io-threads 1)");
    }
    if (maxUnauthenticated < 0 || maxUnauthenticated > maxConnections) {
      throw new IllegalArgumentException("the limit on unauthenticated connections must be between 1 and the "
          + "connection limit (" + maxConnections + "), or 0 for half of it; was " + maxUnauthenticated
          + " (e.g. --max-unauthenticated " + Math.max(1, maxConnections / 2) + ")");
    }
    if (maxLeaseWait.toMillis() < 1 || maxLeaseWait.compareTo(PROTOCOL_MAX_LEASE_WAIT) > 0) {
      throw new IllegalArgumentException("the longest lease wait must be from 1 ms to " + PROTOCOL_MAX_LEASE_WAIT
          .toSeconds() + " s, was " + maxLeaseWait.toMillis() + " ms; for example Duration.ofSeconds(60)");
    }
    if (maxOutputBufferBytes != 0 && maxOutputBufferBytes < 2L * maxFrameBytes) {
      throw new IllegalArgumentException("the output buffer limit per connection must be at least two frames (2 x "
          + maxFrameBytes + " bytes, the frame limit), so that the largest answers fit, or 0 for the default; was "
          + maxOutputBufferBytes + " bytes (e.g. --max-output-buffer " + mebibytesAtLeast(2L * maxFrameBytes)
          + "MiB)");
    }
  }

  private static long mebibytesAtLeast(long bytes) {
    return (bytes + MIB - 1) / MIB;
  }

  /**
   * The event loop threads to start. The engine serialises its commands anyway, so extra network threads mostly add
   * hand-offs between threads (measured: p50 round trip 185 us with one thread, 240 us with Netty's default of four
   * on 2 cores); a few help on large machines, where decoding and encoding run in parallel.
   */
  public int effectiveIoThreads() {
    return ioThreads > 0 ? ioThreads : Math.max(1, Runtime.getRuntime().availableProcessors() / 4);
  }

  /**
   * The connections that may be authenticating at once. Half the connection limit by default: authenticated clients
   * keep the other half whatever a flood of handshakes does, and half leaves room for a fleet of workers that
   * reconnect together after a restart.
   */
  public int effectiveMaxUnauthenticated() {
    return maxUnauthenticated > 0 ? maxUnauthenticated : Math.max(1, maxConnections / 2);
  }

  /**
   * The most bytes one connection may have waiting in its output buffer before it is closed. By default the larger
   * of 64 MiB and four frames: a client that reads has at most a frame or two in flight, and past 4 MiB the master
   * stops reading its requests, so only a client that does not read at all while answers are pushed to it (the
   * results of its SUBMITs, its waiting leases) comes near. Frames count with their size plus Netty's bookkeeping
   * of about 100 bytes each, as in its water marks.
   */
  public long effectiveMaxOutputBufferBytes() {
    return maxOutputBufferBytes > 0 ? maxOutputBufferBytes : Math.max(DEFAULT_MAX_OUTPUT_BUFFER_BYTES,
        4L * maxFrameBytes);
  }

  /** Loopback, the given port and key, default limits. */
  public static MasterSettings of(int port, AuthKey authKey) {
    return new MasterSettings("127.0.0.1", port, authKey, Wire.DEFAULT_MAX_FRAME_BYTES, Duration.ofSeconds(10),
        10_000, 0, 64, 100_000, 0, PROTOCOL_MAX_LEASE_WAIT, 0);
  }

  public MasterSettings withHost(String value) {
    return new MasterSettings(value, port, authKey, maxFrameBytes, handshakeTimeout, maxConnections, maxUnauthenticated,
        maxHandshakesPerAddress, maxPendingPerConnection, ioThreads, maxLeaseWait, maxOutputBufferBytes);
  }

  public MasterSettings withMaxFrameBytes(int value) {
    return new MasterSettings(host, port, authKey, value, handshakeTimeout, maxConnections, maxUnauthenticated,
        maxHandshakesPerAddress, maxPendingPerConnection, ioThreads, maxLeaseWait, maxOutputBufferBytes);
  }

  public MasterSettings withHandshakeTimeout(Duration value) {
    return new MasterSettings(host, port, authKey, maxFrameBytes, value, maxConnections, maxUnauthenticated,
        maxHandshakesPerAddress, maxPendingPerConnection, ioThreads, maxLeaseWait, maxOutputBufferBytes);
  }

  public MasterSettings withMaxConnections(int value) {
    return new MasterSettings(host, port, authKey, maxFrameBytes, handshakeTimeout, value, maxUnauthenticated,
        maxHandshakesPerAddress, maxPendingPerConnection, ioThreads, maxLeaseWait, maxOutputBufferBytes);
  }

  public MasterSettings withMaxUnauthenticated(int value) {
    return new MasterSettings(host, port, authKey, maxFrameBytes, handshakeTimeout, maxConnections, value,
        maxHandshakesPerAddress, maxPendingPerConnection, ioThreads, maxLeaseWait, maxOutputBufferBytes);
  }

  public MasterSettings withMaxHandshakesPerAddress(int value) {
    return new MasterSettings(host, port, authKey, maxFrameBytes, handshakeTimeout, maxConnections, maxUnauthenticated,
        value, maxPendingPerConnection, ioThreads, maxLeaseWait, maxOutputBufferBytes);
  }

  public MasterSettings withIoThreads(int value) {
    return new MasterSettings(host, port, authKey, maxFrameBytes, handshakeTimeout, maxConnections, maxUnauthenticated,
        maxHandshakesPerAddress, maxPendingPerConnection, value, maxLeaseWait, maxOutputBufferBytes);
  }

  public MasterSettings withMaxPendingPerConnection(int value) {
    return new MasterSettings(host, port, authKey, maxFrameBytes, handshakeTimeout, maxConnections, maxUnauthenticated,
        maxHandshakesPerAddress, value, ioThreads, maxLeaseWait, maxOutputBufferBytes);
  }

  public MasterSettings withMaxLeaseWait(Duration value) {
    return new MasterSettings(host, port, authKey, maxFrameBytes, handshakeTimeout, maxConnections, maxUnauthenticated,
        maxHandshakesPerAddress, maxPendingPerConnection, ioThreads, value, maxOutputBufferBytes);
  }

  public MasterSettings withMaxOutputBufferBytes(long value) {
    return new MasterSettings(host, port, authKey, maxFrameBytes, handshakeTimeout, maxConnections, maxUnauthenticated,
        maxHandshakesPerAddress, maxPendingPerConnection, ioThreads, maxLeaseWait, value);
  }
}
