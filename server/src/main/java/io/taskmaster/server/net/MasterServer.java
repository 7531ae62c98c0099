package io.taskmaster.server.net;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.taskmaster.protocol.message.Envelope;
import io.taskmaster.protocol.message.ErrorCode;
import io.taskmaster.protocol.message.Message;
import io.taskmaster.protocol.transport.Transports;
import io.taskmaster.protocol.wire.FrameDecoder;
import io.taskmaster.protocol.wire.FrameEncoder;
import io.taskmaster.server.engine.QueueEngine;
import io.taskmaster.time.Ticker;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The Taskmaster protocol listener: a Netty server in front of a {@link QueueEngine}. */
public final class MasterServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(MasterServer.class);
  /**
   * Past the high mark a connection stops being read until its client has read enough of its responses; past
   * {@link MasterSettings#effectiveMaxOutputBufferBytes()} it is closed ({@link OutputLimit}).
   */
  private static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(256 * 1024, 4 * 1024 * 1024);

  private final MasterSettings settings;
  private final ServerContext context;
  private final ChannelGroup channels = new DefaultChannelGroup("taskmaster", GlobalEventExecutor.INSTANCE);
  private EventLoopGroup boss;
  private EventLoopGroup workers;
  private Channel listener;

  public MasterServer(MasterSettings settings, QueueEngine engine) {
    this(settings, engine, new AuthThrottle(Ticker.system()));
  }

  /** With another throttle, for tests that need verdicts held back longer than they run. */
  MasterServer(MasterSettings settings, QueueEngine engine, AuthThrottle throttle) {
    this.settings = settings;
    this.context = new ServerContext(settings, engine, "taskmaster", throttle);
  }

  /** Binds and starts serving; returns once the port is open. */
  public MasterServer start() {
    boss = Transports.eventLoopGroup(1, "taskmaster-accept");
    workers = Transports.eventLoopGroup(settings.effectiveIoThreads(), "taskmaster-io");
    ServerBootstrap bootstrap = new ServerBootstrap()
        .group(boss, workers)
        .channel(Transports.serverChannel())
        .option(ChannelOption.SO_BACKLOG, 1024)
        .option(ChannelOption.SO_REUSEADDR, true) // a restarted master gets its port back at once
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel channel) {
            channels.add(channel);
            ServerSession session = new ServerSession(context);
            channel.pipeline()
                .addLast(new FlushConsolidationHandler(256, true))
                .addLast(new OutputLimit(context.outputLimit, session)) // sees every frame encoded, from any thread
                .addLast(new FrameDecoder(true, settings.maxFrameBytes()))
                .addLast(FrameEncoder.INSTANCE)
                .addLast(session);
          }
        });
    Transports.keepAlive(bootstrap); // clients that vanish without a FIN are dropped
    try {
      listener = bootstrap.bind(settings.host(), settings.port()).sync().channel();
    } catch (Exception e) {
      close();
      throw new IllegalStateException("cannot listen on " + settings.host() + ":" + settings.port() + ": "
          + e.getMessage() + " (is another master running there? choose another --port)", e);
    } 
    log.info("master listening on taskmaster://{}:{} ({} transport{})", settings.host(), port(), Transports.name(),
        settings.authKey() == null ? ", NO AUTHENTICATION" : ", auth key required");
    return this;
  }

  public int port() {
    return ((InetSocketAddress) listener.localAddress()).getPort();
  }

  public int openConnections() {
    return context.connections.open();
  }

  /** The failed-authentication throttle; package-private so tests can check its counts. */
  AuthThrottle authThrottle() {
    return context.throttle;
  }

  /** The most bytes any connection had waiting in its output buffer, within the limit; for tests. */
  long largestOutputBuffer() {
    return context.outputLimit.largest.get();
  }

  /** Connections closed for passing the output buffer limit; for tests. */
  int closedForNotReading() {
    return context.outputLimit.closed.get();
  }

  /** The connection limits' counts; package-private so tests can check them. */
  ConnectionRegistry connections() {
    return context.connections;
  }

  /**
   * The first step of an orderly stop: accept no more connections and read no more requests. Responses still go
   * out, so the acknowledgements of requests already taken can land.
   */
  public void quiesce() {
    if (listener != null) {
      listener.close().syncUninterruptibly();
    }
    context.quiesced = true;
    channels.forEach(channel -> channel.eventLoop().execute(() -> channel.config().setAutoRead(false)));
  }

  /** Stops accepting, closes every connection (their leases return to the queues), and stops the event loops. */
  @Override
  public void close() {
    if (listener != null) {
      listener.close().syncUninterruptibly();
    }
    // Tell every client why, so that workers reconnect (to this master's successor) instead of reporting an error.
    channels.writeAndFlush(new Envelope(0, new Message.Error(ErrorCode.SHUTTING_DOWN, "the master is shutting down")))
        .awaitUninterruptibly(2, TimeUnit.SECONDS);
    channels.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    if (boss != null) {
      boss.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
    if (workers != null) {
      workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }
}
