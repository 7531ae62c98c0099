package io.taskmaster.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP proxy on loopback for network faults without root (reliability-tests.md, "network faults"): {@link #stall()}
 * black-holes every connection (bytes are held, nothing is closed: a partition as TCP sees it), {@link #heal()} lets
 * them flow again, {@link #reset()} cuts every connection at once, as a crashed peer or a broken route does.
 */
public final class TcpProxy implements AutoCloseable {
  private final ServerSocket listener;
  private final int targetPort;
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final Object gate = new Object();
  private volatile boolean stalled;
  private volatile boolean closed;

  private TcpProxy(int targetPort) throws IOException {
    this.targetPort = targetPort;
    this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread acceptor = new Thread(this::accept, "proxy-accept-" + port());
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /** A proxy on a free loopback port in front of {@code 127.0.0.1:targetPort}. */
  public static TcpProxy to(int targetPort) {
    try {
      return new TcpProxy(targetPort);
    } catch (IOException e) {
      throw new IllegalStateException("cannot open a proxy port", e);
    }
  }

  public int port() {
    return listener.getLocalPort();
  }

  /** {@code taskmaster://127.0.0.1:<proxy port>} */
  public String uri() {
    return "taskmaster://127.0.0.1:" + port();
  }

  public void stall() {
    stalled = true;
  }

  public void heal() {
    synchronized (gate) {
      stalled = false;
      gate.notifyAll();
    }
  }

  /** Closes every proxied connection; new ones are still accepted. */
  public void reset() {
    for (Socket socket : sockets) {
      closeQuietly(socket);
    }
    sockets.clear();
  }

  private void accept() {
    while (!closed) {
      try {
        Socket client = listener.accept();
        Socket server = new Socket();
        try {
          server.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort), 5000);
        } catch (IOException e) {
          closeQuietly(client);
          continue;
        }
        sockets.add(client);
        sockets.add(server);
        pump(client, server, "up");
        pump(server, client, "down");
      } catch (IOException e) {
        return; // closed
      }
    }
  }

  private void pump(Socket from, Socket to, String direction) {
    Thread thread = new Thread(() -> {
      byte[] buffer = new byte[16384];
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        for (int n; (n = in.read(buffer)) != -1; ) {
          awaitHealed();
          out.write(buffer, 0, n);
          out.flush();
        }
      } catch (IOException | InterruptedException e) {
        // one side went away
      } finally {
        closeQuietly(from);
        closeQuietly(to);
      }
    }, "proxy-" + direction + "-" + port());
    thread.setDaemon(true);
    thread.start();
  }

  private void awaitHealed() throws InterruptedException {
    synchronized (gate) {
      while (stalled && !closed) {
        gate.wait();
      }
    }
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException ignored) {
      // already closed
    }
  }

  @Override
  public void close() {
    closed = true;
    heal();
    try {
      listener.close();
    } catch (IOException ignored) {
      // already closed
    }
    reset();
  }
}
