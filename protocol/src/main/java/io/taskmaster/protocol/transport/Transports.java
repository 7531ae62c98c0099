package io.taskmaster.protocol.transport;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;

/**
 * Picks Netty's native epoll transport on Linux (fewer syscalls and copies than NIO) and NIO elsewhere, or when
 * {@code -Dtaskmaster.transport=nio} asks for it.
 */
public final class Transports {
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

  public static String name() {
    return EPOLL ? "epoll" : "nio";
  }
}
