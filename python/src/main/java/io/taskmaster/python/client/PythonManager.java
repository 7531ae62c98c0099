package io.taskmaster.python.client;

import io.taskmaster.broker.BrokerUnavailableException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A Java client of a Python {@code BaseManager} server (the tutorial's {@code task_master.py}), doing what Python's
 * {@code manager.connect()} and generated {@code get_task_queue()} do: a {@code dummy} call to check the address
 * and key, {@code create} for each typeid, then method calls on a connection per thread after {@code
 * accept_connection}. Typeids a master registered are reached as {@link PythonQueue}s.
 *
 * <pre>{@code
 * try (PythonManager manager = PythonManager.connect("127.0.0.1", 5000, "abc".getBytes())) {
 *   PythonQueue tasks = manager.queue("get_task_queue");
 *   Optional<Integer> n = tasks.get(Duration.ofSeconds(1), Integer.class);   // empty on queue.Empty
 * }
 * }</pre>
 */
public final class PythonManager implements AutoCloseable {
  private static final int MAX_FRAME_BYTES = 64 << 20;

  private final InetSocketAddress address;
  private final byte[] key;
  private final List<ManagersConnection> channels = new CopyOnWriteArrayList<>();
  private final List<String> created = new CopyOnWriteArrayList<>();
  private final ThreadLocal<ManagersConnection> channel = new ThreadLocal<>();
  private volatile boolean closed;

  private PythonManager(InetSocketAddress address, byte[] key) {
    this.address = address;
    this.key = key.clone();
  }

  /** Connects as {@code BaseManager.connect()} does: fails at once on a wrong address or key. */
  public static PythonManager connect(String host, int port, byte[] key) {
    PythonManager manager = new PythonManager(new InetSocketAddress(host, port), key);
    manager.serverCall("dummy");
    return manager;
  }

  /** The object a typeid returns, as a queue: {@code create} on the master, as Python's generated method does. */
  public PythonQueue queue(String typeid) {
    return new PythonQueue(proxy(typeid));
  }

  /** The object a typeid returns, with its methods: {@code create} on the master, as Python's generated method does. */
  public PythonProxy proxy(String typeid) {
    Object reply = serverCall("create", typeid);
    if (!(reply instanceof Object[] pair) || pair.length != 2 || !(pair[0] instanceof String ident)) {
      throw new PythonRemoteException("ValueError", "create(" + typeid + ") did not answer (ident, exposed)");
    }
    created.add(ident);
    List<String> exposed = new java.util.ArrayList<>();
    if (pair[1] instanceof Object[] names) {
      for (Object name : names) {
        exposed.add(String.valueOf(name));
      }
    }
    return new PythonProxy(this, typeid, ident, exposed);
  }

  /** A server function on its own connection, closed after the reply, as Python's client does. */
  private Object serverCall(String function, Object... args) {
    try (ManagersConnection connection = ManagersConnection.open(address, key, MAX_FRAME_BYTES)) {
      return connection.call(null, function, args, Map.of());
    } catch (IOException e) {
      throw new BrokerUnavailableException("the Python master at " + describe() + " dropped the connection during "
          + function + ": " + e.getMessage(), e);
    }
  }

  /** A method call on the calling thread's own connection (opened with {@code accept_connection} on first use). */
  Object call(String ident, String method, Object[] args, Map<String, Object> kwds) {
    if (closed) {
      throw new IllegalStateException("the connection to the Python master at " + describe() + " is closed");
    }
    ManagersConnection connection = channel.get();
    try {
      if (connection == null) {
        connection = ManagersConnection.open(address, key, MAX_FRAME_BYTES);
        connection.call(null, "accept_connection", new Object[] {"MainProcess|" + Thread.currentThread().getName()},
            Map.of());
        channels.add(connection);
        channel.set(connection);
      }
      return connection.call(ident, method, args, kwds);
    } catch (IOException e) {
      if (connection != null) {
        connection.close();
        channels.remove(connection);
      }
      channel.remove();
      throw new BrokerUnavailableException("lost the connection to the Python master at " + describe() + " during "
          + method + ": " + e.getMessage(), e);
    }
  }

  public String describe() {
    return address.getHostString() + ":" + address.getPort();
  }

  /** Gives back the objects it created ({@code decref}), as Python's finalizers do, and closes its connections. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    channels.forEach(ManagersConnection::close);
    for (String ident : created) {
      try {
        serverCall("decref", ident);
      } catch (RuntimeException e) {
        // The master may be gone already; Python's finalizers swallow this too.
      }
    }
  }
}
