package io.taskmaster.python.client;

import java.util.List;
import java.util.Map;

/**
 * A proxy to an object a Python master registered (any typeid, not only queues): calls its methods as Python's
 * {@code AutoProxy} does. Arguments and results are the Java forms of Python values (String, Long, Double,
 * Boolean, null, List, Map, {@code Object[]} for a tuple, {@code PythonBytes} for bytes).
 */
public final class PythonProxy {
  private final PythonManager manager;
  private final String typeid;
  private final String ident;
  private final List<String> exposed;

  PythonProxy(PythonManager manager, String typeid, String ident, List<String> exposed) {
    this.manager = manager;
    this.typeid = typeid;
    this.ident = ident;
    this.exposed = List.copyOf(exposed);
  }

  /** {@code proxy.method(*args)}. Python exceptions are thrown as {@link PythonRemoteException}. */
  public Object call(String method, Object... args) {
    return call(method, List.of(args), Map.of());
  }

  /** {@code proxy.method(*args, **kwds)}. */
  public Object call(String method, List<?> args, Map<String, ?> kwds) {
    @SuppressWarnings("unchecked")
    Map<String, Object> keywords = (Map<String, Object>) kwds;
    return manager.call(ident, method, args.toArray(), keywords);
  }

  /** The methods the master exposes on this object. */
  public List<String> exposed() {
    return exposed;
  }

  public String typeid() {
    return typeid;
  }

  String ident() {
    return ident;
  }
}
