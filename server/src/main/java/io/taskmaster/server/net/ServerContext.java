package io.taskmaster.server.net;

import io.taskmaster.server.engine.QueueEngine;
import java.time.Duration;
import org.slf4j.LoggerFactory;

/** What every connection of one server shares. */
final class ServerContext {
  final MasterSettings settings;
  final QueueEngine engine;
  final String name;
  final ConnectionRegistry connections;
  final AuthThrottle throttle;
  final RequestHandlers handlers;
  final RateLimitedLog authLog = new RateLimitedLog(LoggerFactory.getLogger("io.taskmaster.server.auth"),
      Duration.ofSeconds(1));
  /** Set by an orderly stop: no connection is read from again. */
  volatile boolean quiesced;
  final OutputLimit.Shared outputLimit;
  final RateLimitedLog refusedLog = new RateLimitedLog(LoggerFactory.getLogger(ServerSession.class),
      Duration.ofSeconds(1));

  ServerContext(MasterSettings settings, QueueEngine engine, String name, AuthThrottle throttle) {
    this.settings = settings;
    this.engine = engine;
    this.name = name;
    this.connections = new ConnectionRegistry(settings.maxConnections(), settings.maxHandshakesPerAddress(),
        settings.effectiveMaxUnauthenticated());
    this.throttle = throttle;
    this.outputLimit = new OutputLimit.Shared(settings.effectiveMaxOutputBufferBytes());
    this.handlers = new RequestHandlers(engine, settings.maxPendingPerConnection(), settings.maxFrameBytes(),
        settings.maxLeaseWait());
  }
}
