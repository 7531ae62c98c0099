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
 * @param silenceTimeout how long a master may send nothing before its connection counts as dead and the client
 *     reconnects; after half of it in silence the client asks with a PING. A master whose machine died, or a
 *     network that drops every packet, closes nothing: without this a client would wait for it for ever
 */
public record BrokerOptions(AuthKey authKey, Duration connectTimeout, int maxFrameBytes, String clientName,
    Duration silenceTimeout) {
  public static final int DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
  public static final Duration DEFAULT_SILENCE_TIMEOUT = Duration.ofSeconds(30);

  public BrokerOptions {
    Objects.requireNonNull(connectTimeout, "connectTimeout");
    Objects.requireNonNull(silenceTimeout, "silenceTimeout");
    if (silenceTimeout.toMillis() < 100) {
      throw new IllegalArgumentException("silenceTimeout must be at least 100 ms, was " + silenceTimeout.toMillis()
          + " ms");
    }
    if (maxFrameBytes < 1024) {
      throw new IllegalArgumentException("maxFrameBytes must be at least 1024, was " + maxFrameBytes);
    }
    if (clientName != null) {
      Names.requireValid("client name", clientName);
    }
  }

  public static BrokerOptions defaults() {
    return new BrokerOptions(null, Duration.ofSeconds(5), DEFAULT_MAX_FRAME_BYTES, null, DEFAULT_SILENCE_TIMEOUT);
  }

  public static BrokerOptions withKey(AuthKey key) {
    return defaults().authKey(key);
  }

  public BrokerOptions authKey(AuthKey key) {
    return new BrokerOptions(key, connectTimeout, maxFrameBytes, clientName, silenceTimeout);
  }

  public BrokerOptions connectTimeout(Duration timeout) {
    return new BrokerOptions(authKey, timeout, maxFrameBytes, clientName, silenceTimeout);
  }

  /** Names this client to the master (see {@link #clientName()}); a worker's id is a good name. */
  public BrokerOptions clientName(String name) {
    return new BrokerOptions(authKey, connectTimeout, maxFrameBytes, name, silenceTimeout);
  }

  /** See {@link #silenceTimeout()}; default 30 s. */
  public BrokerOptions silenceTimeout(Duration timeout) {
    return new BrokerOptions(authKey, connectTimeout, maxFrameBytes, clientName, timeout);
  }
}
