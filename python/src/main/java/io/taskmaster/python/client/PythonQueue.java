package io.taskmaster.python.client;

import io.taskmaster.json.JsonCodec;
import io.taskmaster.python.pickle.PythonValues;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * A {@code queue.Queue} of a Python master, seen from Java: values cross as in docs/python-interop.md (Java values
 * through their JSON form).
 */
public final class PythonQueue {
  private final PythonManager manager;
  private final String typeid;
  private final String ident;

  PythonQueue(PythonManager manager, String typeid, String ident) {
    this.manager = manager;
    this.typeid = typeid;
    this.ident = ident;
  }

  /** Puts a value: anything Jackson writes as JSON; a {@code byte[]} arrives as Python {@code bytes}. */
  public void put(Object value) {
    if (value instanceof byte[] bytes) {
      manager.call(ident, "put", new Object[] {new io.taskmaster.python.pickle.PythonBytes(bytes)}, Map.of());
      return;
    }
    putJson(JsonCodec.mapper().valueToTree(value).toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  /** Puts the Python value a JSON document stands for. */
  public void putJson(byte[] json) {
    manager.call(ident, "put", new Object[] {PythonValues.fromJson(json)}, Map.of());
  }

  /** The next value as JSON, waiting up to {@code timeout}; empty when Python raised {@code queue.Empty}. */
  public Optional<byte[]> getJson(Duration timeout) {
    try {
      Object value = manager.call(ident, "get", new Object[0], Map.of("timeout", timeout.toMillis() / 1000.0));
      return Optional.of(PythonValues.toJson(value));
    } catch (PythonRemoteException e) {
      if (e.pythonType().endsWith(".Empty")) {
        return Optional.empty();
      }
      throw e;
    }
  }

  /** The next value as {@code type}, waiting up to {@code timeout}; empty when the queue stayed empty. */
  public <T> Optional<T> get(Duration timeout, Class<T> type) {
    return getJson(timeout).map(json -> JsonCodec.decode(json, JsonCodec.type(type),
        () -> "item of the Python queue " + typeid));
  }

  /** {@code qsize()}: the queue's length as the Python master sees it. */
  public long size() {
    return ((Number) manager.call(ident, "qsize", new Object[0], Map.of())).longValue();
  }

  public String typeid() {
    return typeid;
  }
}
