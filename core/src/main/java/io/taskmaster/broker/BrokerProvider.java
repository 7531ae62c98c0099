package io.taskmaster.broker;

import java.net.URI;

/**
 * Opens brokers for one URI scheme. Implementations are found with {@link java.util.ServiceLoader}; a module that
 * ships one lists it in {@code META-INF/services/io.taskmaster.broker.BrokerProvider}.
 */
public interface BrokerProvider {

  /** The URI schemes served, e.g. {@code embedded} or {@code taskmaster}. */
  java.util.Set<String> schemes();

  Broker open(URI uri, BrokerOptions options);
}
