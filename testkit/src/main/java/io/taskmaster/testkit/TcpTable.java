package io.taskmaster.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.awaitility.Awaitility;

/**
 * The kernel's table of TCP sockets ({@code /proc/net/tcp} and {@code tcp6}, Linux): what a server really did to
 * the sockets it accepted, such as arming keep-alive, which no peer can see.
 */
public final class TcpTable {
  /** The {@code tr} code of a socket whose keep-alive timer runs. */
  public static final int KEEPALIVE_TIMER = 2;
  private static final String ESTABLISHED = "01";
  /** {@code /proc/net/tcp} counts timers in USER_HZ ticks, 100 per second. */
  private static final long TICKS_PER_SECOND = 100;

  private TcpTable() {}

  /**
   * One socket: its timer ({@code tr}: 0 none, 1 retransmit, 2 keep-alive, ...) and the seconds until that timer
   * fires.
   */
  public record Socket(int localPort, int remotePort, int timer, double secondsToTimer) {}

  /** The established sockets whose local port is {@code port}: on a server, the connections it accepted there. */
  public static List<Socket> established(int port) throws IOException {
    List<Socket> sockets = new ArrayList<>();
    for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
      Path path = Path.of(table);
      if (!Files.exists(path)) {
        continue;
      }
      List<String> lines = Files.readAllLines(path);
      for (String line : lines.subList(1, lines.size())) {
        // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
        String[] fields = line.trim().split("\\s+");
        int localPort = port(fields[1]);
        if (localPort != port || !fields[3].equals(ESTABLISHED)) {
          continue;
        }
        String[] timer = fields[5].split(":");
        sockets.add(new Socket(localPort, port(fields[2]), Integer.parseInt(timer[0], 16),
            Long.parseLong(timer[1], 16) / (double) TICKS_PER_SECOND));
      }
    }
    return sockets;
  }

  /**
   * Waits for the one connection accepted on {@code port} and checks that the server armed keep-alive on it with a
   * first probe at most {@code idle} away (the OS's own default is two hours).
   */
  public static void assertKeepAliveArmed(int port, Duration idle) throws IOException {
    Awaitility.await("the accepted socket in the kernel's table").atMost(Duration.ofSeconds(10))
        .until(() -> !established(port).isEmpty());
    assertThat(established(port)).singleElement().satisfies(socket -> {
      assertThat(socket.timer()).as("timer of %s", socket).isEqualTo(KEEPALIVE_TIMER);
      assertThat(socket.secondsToTimer()).as("seconds to the first probe").isLessThanOrEqualTo(idle.toSeconds());
    });
  }

  private static int port(String address) {
    return Integer.parseInt(address.substring(address.lastIndexOf(':') + 1), 16);
  }
}
