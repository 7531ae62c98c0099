package io.taskmaster.protocol.transport;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioChannelOption;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import jdk.net.ExtendedSocketOptions;

/**
 * Picks Netty's native epoll transport on Linux (fewer syscalls and copies than NIO) and NIO elsewhere, or when
 * {@code -Dtaskmaster.transport=nio} asks for it.
 */
public final class Transports {
  /** Keep-alive: probes start after this long without traffic on a connection... */
  public static final Duration KEEPALIVE_IDLE = Duration.ofSeconds(30);
  /** ...follow each other at this interval... */
  public static final Duration KEEPALIVE_INTERVAL = Duration.ofSeconds(10);
  /** ...and this many unanswered ones close the connection: a peer that vanished is dropped within a minute. */
  public static final int KEEPALIVE_PROBES = 3;

  private static final boolean EPOLL =
      !"nio".equals(System.getProperty("taskmaster.transport")) && Epoll.isAvailable();

  private Transports() {}

  public static EventLoopGroup eventLoopGroup(int threads, String name) {
    IoHandlerFactory factory = EPOLL ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(name, true), factory);
  }

  public static Class<? extends ServerChannel> serverChannel() {
    return EPOLL ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
  }

  /**
   * TCP keep-alive on every connection the server accepts, with the timing above (where the platform lets it be
   * set; elsewhere the OS's, often two hours). A client whose machine died or whose network vanished sends no FIN,
   * so without this its connection, its waiting requests and its place under the connection limit stay for ever.
   * The kernel probes; the protocol and its clients need do nothing.
   */
  public static void keepAlive(ServerBootstrap bootstrap) {
    int idle = (int) KEEPALIVE_IDLE.toSeconds();
    int interval = (int) KEEPALIVE_INTERVAL.toSeconds();
    bootstrap.childOption(ChannelOption.SO_KEEPALIVE, true);
    if (EPOLL) {
      bootstrap.childOption(EpollChannelOption.TCP_KEEPIDLE, idle)
          .childOption(EpollChannelOption.TCP_KEEPINTVL, interval)
          .childOption(EpollChannelOption.TCP_KEEPCNT, KEEPALIVE_PROBES);
    } else if (supportsKeepAliveTuning()) {
      bootstrap.childOption(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPIDLE), idle)
          .childOption(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPINTERVAL), interval)
          .childOption(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPCOUNT), KEEPALIVE_PROBES);
    }
  }

  /** Whether this platform lets a socket's keep-alive timing be set (Linux and macOS do, not every OS). */
  private static boolean supportsKeepAliveTuning() {
    try (SocketChannel probe = SocketChannel.open()) {
      return probe.supportedOptions().contains(ExtendedSocketOptions.TCP_KEEPIDLE);
    } catch (IOException e) {
      return false;
    }
  }

  public static String name() {
    return EPOLL ? "epoll" : "nio";
  }
}
