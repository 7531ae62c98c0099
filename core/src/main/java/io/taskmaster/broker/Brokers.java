package io.taskmaster.broker;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;

/** Resolves a broker URI to an open {@link Broker}. */
public final class Brokers {
  /** Which artifact serves a scheme, for schemes whose provider is not on the classpath. */
  private static final Map<String, String> KNOWN_SCHEMES =
      Map.of("embedded", "taskmaster-server", "taskmaster", "taskmaster-client", "redis", "taskmaster-redis");

  private Brokers() {}

  /**
   * Opens the broker named by {@code uri}: {@code embedded:} (an in-process engine) or {@code
   * taskmaster://host:port} (a remote master).
   */
  public static Broker open(String uri, BrokerOptions options) {
    URI parsed;
    try {
      // "embedded:" alone is how users write it, but java.net.URI wants something after the colon.
      parsed = new URI(uri.indexOf(':') == uri.length() - 1 ? uri + "default" : uri);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException(
          "'" + redact(uri) + "' is not a valid broker URI (" + e.getReason() + "); try taskmaster://127.0.0.1:5000", e);
    }
    return open(parsed, options);
  }

  public static Broker open(URI uri, BrokerOptions options) {
    String scheme = uri.getScheme();
    if (scheme == null) {
      throw new IllegalArgumentException("broker URI '" + redact(uri.toString()) + "' has no scheme; use embedded: or "
          + "taskmaster://host:port");
    }
    Map<String, BrokerProvider> providers = providers();
    BrokerProvider provider = providers.get(scheme);
    if (provider == null) {
      String artifact = KNOWN_SCHEMES.get(scheme);
      if (artifact != null) {
        throw new IllegalArgumentException("no broker for '" + scheme + ":' URIs on the classpath; add the "
            + "io.taskmaster:" + artifact + " dependency");
      }
      throw new IllegalArgumentException("unknown broker scheme '" + scheme + "' in '" + redact(uri.toString())
          + "'; known schemes: " + String.join(", ", new ArrayList<>(providers.keySet())));
    }
    return provider.open(uri, options);
  }

  /** A URI fit for an error message: whatever stands between "//" and "@" may be a password. */
  static String redact(String uri) {
    return uri.replaceAll("//[^/@]*@", "//***@");
  }

  private static Map<String, BrokerProvider> providers() {
    Map<String, BrokerProvider> byScheme = new TreeMap<>();
    List<BrokerProvider> all = new ArrayList<>();
    ServiceLoader.load(BrokerProvider.class, Brokers.class.getClassLoader()).forEach(all::add);
    for (BrokerProvider provider : all) {
      for (String scheme : provider.schemes()) {
        byScheme.putIfAbsent(scheme, provider);
      }
    }
    return byScheme;
  }
}
