package io.taskmaster.broker;

import java.time.Duration;
import java.util.Objects;

/**
 * Settings a broker implementation may need to open a connection.
 *
 * @param authKey the shared key, or null for a master started with {@code --insecure}
 * @param connectTimeout how long one connection attempt may take
 * @param maxFrameBytes the largest frame this client sends or accepts
 * @param clientName what this client calls itself (a worker's id, say), or null: the master names it so in its log
 *     lines and in the error of every task lost with its connection
 */
public record BrokerOptions(AuthKey authKey, Duration connectTimeout, int maxFrameBytes, String clientName) {
  public static final int DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

  public BrokerOptions {
    Objects.requireNonNull(connectTimeout, "connectTimeout");
    if (maxFrameBytes < 1024) {
      throw new IllegalArgumentException("maxFrameBytes must be at least 1024, was " + maxFrameBytes);
    }
    if (clientName != null) {
      Names.requireValid("client name", clientName);
    }
  }

  public static BrokerOptions defaults() {
    return new BrokerOptions(null, Duration.ofSeconds(5), DEFAULT_MAX_FRAME_BYTES, null);
  }

  public static BrokerOptions withKey(AuthKey key) {
    return defaults().authKey(key);
  }

  public BrokerOptions authKey(AuthKey key) {
    return new BrokerOptions(key, connectTimeout, maxFrameBytes, clientName);
  }

  public BrokerOptions connectTimeout(Duration timeout) {
    return new BrokerOptions(authKey, timeout, maxFrameBytes, clientName);
  }

  /** Names this client to the master (see {@link #clientName()}); a worker's id is a good name. */
  public BrokerOptions clientName(String name) {
    return new BrokerOptions(authKey, connectTimeout, maxFrameBytes, name);
  }
}
