package io.taskmaster;

import io.taskmaster.broker.AuthKey;
import io.taskmaster.broker.Broker;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.broker.Brokers;
import io.taskmaster.producer.Producer;
import io.taskmaster.queue.RawQueue;
import io.taskmaster.worker.Worker;

/**
 * The one entry point: connect to a broker by URI, then submit tasks, run workers or use raw queues.
 *
 * <pre>{@code
 * try (Taskmaster tm = Taskmaster.connect("taskmaster://127.0.0.1:5000", AuthKey.fromFile(Path.of("key.txt")))) {
 *   tm.queue("results").putJson(Map.of("n", 7));
 * }
 * }</pre>
 *
 * <p>Workers started with {@link #worker()} should be closed before this object, which closes the broker.
 */
public final class Taskmaster implements AutoCloseable {
  private final Broker broker;
  private final Producer producer;

  private Taskmaster(Broker broker) {
    this.broker = broker;
    this.producer = Producer.on(broker);
  }

  /** {@code embedded:} (queues in this JVM) or {@code taskmaster://host:port} with the key from the environment. */
  public static Taskmaster connect(String uri) {
    return connect(uri, AuthKey.fromEnvironment());
  }

  public static Taskmaster connect(String uri, AuthKey key) {
    return new Taskmaster(Brokers.open(uri, BrokerOptions.withKey(key)));
  }

  /** Wraps a broker opened elsewhere; closing this closes it. */
  public static Taskmaster on(Broker broker) {
    return new Taskmaster(broker);
  }

  public Broker broker() {
    return broker;
  }

  /** Submits tasks (thread-safe, shared). */
  public Producer producer() {
    return producer;
  }

  /** A worker on this broker, to configure and start. */
  public Worker.Builder worker() {
    return Worker.builder(broker);
  }

  /** A queue used directly: put items, take them with a timeout, ask its size. */
  public RawQueue queue(String name) {
    return new RawQueue(broker, name);
  }

  @Override
  public void close() {
    broker.close();
  }
}
