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
  private final PythonProxy proxy;

  PythonQueue(PythonProxy proxy) {
    this.proxy = proxy;
  }

  /** Puts a value: anything Jackson writes as JSON; a {@code byte[]} arrives as Python {@code bytes}. */
  public void put(Object value) {
    if (value instanceof byte[] bytes) {
      proxy.call("put", new io.taskmaster.python.pickle.PythonBytes(bytes));
      return;
    }
    putJson(JsonCodec.mapper().valueToTree(value).toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  /** Puts the Python value a JSON document stands for. */
  public void putJson(byte[] json) {
    proxy.call("put", PythonValues.fromJson(json));
  }

  /** The next value as JSON, waiting up to {@code timeout}; empty when Python raised {@code queue.Empty}. */
  public Optional<byte[]> getJson(Duration timeout) {
    try {
      Object value = proxy.call("get", java.util.List.of(), Map.of("timeout", timeout.toMillis() / 1000.0));
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
        () -> "item of the Python queue " + proxy.typeid()));
  }

  /** {@code qsize()}: the queue's length as the Python master sees it. */
  public long size() {
    return ((Number) proxy.call("qsize")).longValue();
  }

  public String typeid() {
    return proxy.typeid();
  }
}
