package io.taskmaster.python.listener;

import io.taskmaster.broker.Names;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How the managers listener serves Python clients.
 *
 * @param host the address to bind; loopback unless the operator names another
 * @param port the port; 0 picks a free one
 * @param key the master's auth key, as bytes: a Python script passes the same bytes as {@code authkey}
 * @param queues the typeids Python clients may ask for, each to the Taskmaster queue it stands for
 * @param maxFrameBytes the largest frame after authentication
 * @param handshakeTimeout how long a connection has to authenticate
 * @param maxConnections connections served at once on this listener
 * @param allowWeakKey serve a key shorter than {@value #STRONG_KEY_BYTES} bytes on a non-loopback address
 */
public record PythonListenerSettings(
    String host,
    int port,
    byte[] key,
    Map<String, String> queues,
    int maxFrameBytes,
    Duration handshakeTimeout,
    int maxConnections,
    boolean allowWeakKey) {

  /** Python's advice for an authkey; shorter keys are easy to guess offline from a captured handshake. */
  public static final int STRONG_KEY_BYTES = 32;

  /** The tutorial's typeids: {@code get_task_queue} is the queue {@code tasks}, {@code get_result_queue} {@code results}. */
  public static Map<String, String> defaultQueues() {
    Map<String, String> queues = new LinkedHashMap<>();
    queues.put("get_task_queue", "tasks");
    queues.put("get_result_queue", "results");
    return queues;
  }

  public PythonListenerSettings {
    if (key == null || key.length == 0) {
      throw new IllegalArgumentException("the Python listener needs the master's auth key (a managers server with "
          + "an empty key accepts anyone); give the master --authkey-file or TASKMASTER_AUTHKEY");
    }
    for (Map.Entry<String, String> entry : queues.entrySet()) {
      if (!entry.getKey().matches("[A-Za-z_][A-Za-z0-9_]*")) {
        throw new IllegalArgumentException("typeid '" + entry.getKey() + "' is not a Python identifier; Python calls "
            + "it as a method of its manager (e.g. get_task_queue)");
      }
      Names.requireValid("queue name", entry.getValue());
    }
    queues = Map.copyOf(new LinkedHashMap<>(queues));
    if (key.length < STRONG_KEY_BYTES && !loopback(host) && !allowWeakKey) {
      throw new IllegalArgumentException("the auth key is " + key.length + " bytes; the Python listener on " + host
          + " (not loopback) needs at least " + STRONG_KEY_BYTES + " random bytes, since the managers protocol lets "
          + "anyone who records one handshake guess a short key offline; use a longer key, bind --python-host "
          + "127.0.0.1, or accept the risk with --allow-weak-key");
    }
  }

  public boolean weakKey() {
    return key.length < STRONG_KEY_BYTES;
  }

  public boolean onLoopback() {
    return loopback(host);
  }

  static boolean loopback(String host) {
    try {
      return InetAddress.getByName(host).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }

  @Override
  public String toString() {
    return "PythonListenerSettings[" + host + ":" + port + ", key=<redacted>, queues=" + queues + "]";
  }
}
