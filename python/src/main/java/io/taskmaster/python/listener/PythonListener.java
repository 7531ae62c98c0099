package io.taskmaster.python.listener;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.taskmaster.protocol.transport.Transports;
import io.taskmaster.python.wire.ManagersFrameDecoder;
import io.taskmaster.python.wire.ManagersFrameEncoder;
import io.taskmaster.server.engine.QueueEngine;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The master's second port: Python's {@code multiprocessing.managers} protocol over the same queue engine, so that
 * an unmodified Python worker or producer written against a {@code BaseManager} uses Taskmaster queues. Each
 * registered typeid stands for one Taskmaster queue. The protocol has no encryption: serve it on loopback or through
 * a tunnel.
 */
public final class PythonListener implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PythonListener.class);

  private final PythonListenerSettings settings;
  private final QueueEngine engine;
  private final Map<String, QueueObject> byTypeid = new LinkedHashMap<>();
  private final Map<String, QueueObject> byIdent = new LinkedHashMap<>();
  private final AtomicInteger connections = new AtomicInteger();
  private final AtomicLong lastRefusalLog = new AtomicLong();
  private final ChannelGroup channels = new DefaultChannelGroup("taskmaster-python", GlobalEventExecutor.INSTANCE);
  private EventLoopGroup group;
  private Channel listener;

  private PythonListener(PythonListenerSettings settings, QueueEngine engine) {
    this.settings = settings;
    this.engine = engine;
    settings.queues().forEach((typeid, queue) -> {
      QueueObject object = new QueueObject(typeid, queue);
      byTypeid.put(typeid, object);
      byIdent.put(object.ident(), object);
    });
  }

  /** Binds and serves; returns once the port is open. */
  public static PythonListener start(PythonListenerSettings settings, QueueEngine engine) {
    PythonListener started = new PythonListener(settings, engine);
    started.bind();
    return started;
  }

  private void bind() {
    group = Transports.eventLoopGroup(1, "taskmaster-python");
    ServerBootstrap bootstrap = new ServerBootstrap()
        .group(group)
        .channel(Transports.serverChannel())
        .option(ChannelOption.SO_BACKLOG, 256)
        .option(ChannelOption.SO_REUSEADDR, true)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel channel) {
            if (connections.incrementAndGet() > settings.maxConnections()) {
              connections.decrementAndGet();
              logRefusal("Python listener: {} connections already; {} refused", settings.maxConnections(),
                  channel.remoteAddress());
              channel.close();
              return;
            }
            channels.add(channel);
            channel.pipeline()
                .addLast(new ManagersFrameDecoder(settings.maxFrameBytes()))
                .addLast(ManagersFrameEncoder.INSTANCE)
                .addLast(new ManagersSession(PythonListener.this));
          }
        });
    Transports.keepAlive(bootstrap); // clients that vanish without a FIN are dropped
    try {
      listener = bootstrap.bind(settings.host(), settings.port()).sync().channel();
    } catch (Exception e) {
      close();
      throw new IllegalStateException("cannot listen for Python clients on " + settings.host() + ":"
          + settings.port() + ": " + e.getMessage() + " (choose another --python-port)", e);
    }
    if (settings.weakKey()) {
      log.warn("**************************************************************************");
      log.warn("* The auth key is only {} bytes. Anyone who records one handshake on the *", settings.key().length);
      log.warn("* Python port can guess a short key offline. Use {}+ random bytes.       *",
          PythonListenerSettings.STRONG_KEY_BYTES);
      log.warn("**************************************************************************");
    }
    if (!settings.onLoopback()) {
      log.warn("the Python listener is bound to {}: the managers protocol is not encrypted; anyone on the path "
          + "sees tasks and results. Prefer loopback or an SSH tunnel", settings.host());
    }
    log.info("Python managers listener on {}:{} (typeids: {})", settings.host(), port(), describeQueues());
  }

  public int port() {
    return ((InetSocketAddress) listener.localAddress()).getPort();
  }

  PythonListenerSettings settings() {
    return settings;
  }

  QueueEngine engine() {
    return engine;
  }

  QueueObject object(String typeid) {
    return byTypeid.get(typeid);
  }

  QueueObject objectByIdent(String ident) {
    return byIdent.get(ident);
  }

  String describeQueues() {
    StringBuilder text = new StringBuilder();
    byTypeid.values().forEach(object -> text.append(text.length() == 0 ? "" : ", ").append(object.typeid())
        .append(" -> ").append(object.queue()));
    return text.toString();
  }

  void connectionClosed() {
    connections.decrementAndGet();
  }

  /** Refused connections are logged at most once a second, so a flood cannot flood the log. */
  void logRefusal(String format, Object... args) {
    long now = System.nanoTime();
    long last = lastRefusalLog.get();
    if (now - last >= TimeUnit.SECONDS.toNanos(1) && lastRefusalLog.compareAndSet(last, now)) {
      log.warn(format, args);
    }
  }

  /** Stops accepting and closes every Python connection (their items in flight go back to their queues). */
  @Override
  public void close() {
    if (listener != null) {
      listener.close().syncUninterruptibly();
    }
    channels.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    if (group != null) {
      group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }
}
