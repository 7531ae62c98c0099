package io.taskmaster.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskmaster.broker.AuthKey;
import io.taskmaster.protocol.transport.Transports;
import io.taskmaster.testkit.JavaProcess;
import io.taskmaster.testkit.TcpTable;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Keep-alive on NIO, the transport of every OS without epoll: a master started with {@code -Dtaskmaster.transport=nio}
 * arms it on accepted connections with the same timing as on epoll (the kernel's socket table shows it).
 */
class KeepAliveOnNioTest {
  private static final Duration START = Duration.ofSeconds(60);

  @Test
  void aMasterOnNioArmsKeepAliveWithItsOwnTiming() throws Exception {
    Map<String, String> environment = Map.of(AuthKey.ENV, "keep-alive-on-nio-test-key",
        "JAVA_TOOL_OPTIONS", "-Dtaskmaster.transport=nio");
    try (JavaProcess master = JavaProcess.start(Main.class.getName(), List.of("master", "--port", "0"), environment)) {
      int port = Integer.parseInt(master.awaitStderr("master listening on taskmaster://[^:]+:(\\d+) \\(nio", START));
      try (Socket client = new Socket()) {
        client.connect(new InetSocketAddress("127.0.0.1", port));
        TcpTable.assertKeepAliveArmed(port, Transports.KEEPALIVE_IDLE);
      }
      master.terminate();
      assertThat(master.awaitExit(START)).isZero();
    }
  }
}
