package io.taskmaster.server.net;

import io.taskmaster.broker.AuthKey;
import io.taskmaster.protocol.transport.Transports;
import io.taskmaster.server.master.Master;
import io.taskmaster.testkit.TcpTable;
import org.junit.jupiter.api.Test;

/**
 * A client whose machine dies sends no FIN; the master's side of its connection must not stay open for ever. The
 * kernel's socket table shows the keep-alive timer armed, with the master's timing rather than the OS's two hours.
 */
class KeepAliveTest {
  private static final AuthKey KEY = AuthKey.of("keep-alive-test-key");

  @Test
  void theMasterArmsKeepAliveOnEveryConnectionItAccepts() throws Exception {
    try (Master master = Master.start(MasterSettings.of(0, KEY)); RawClient client = RawClient.connect(master.port())) {
      client.authenticate(KEY);

      TcpTable.assertKeepAliveArmed(master.port(), Transports.KEEPALIVE_IDLE);
    }
  }
}
