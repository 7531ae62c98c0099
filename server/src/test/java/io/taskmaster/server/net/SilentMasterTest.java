package io.taskmaster.server.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.taskmaster.broker.AuthKey;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.broker.BrokerUnavailableException;
import io.taskmaster.broker.Delivery;
import io.taskmaster.client.RemoteBroker;
import io.taskmaster.server.master.Master;
import io.taskmaster.testkit.TcpProxy;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * A master that goes silent without closing anything (its machine died, or the network drops every packet; here a
 * proxy that holds every byte): the client takes the connection as dead after its silence timeout, fails what
 * waits on it, and reconnects once the master can be reached again. Before, it waited for ever.
 */
class SilentMasterTest {
  private static final AuthKey KEY = AuthKey.of("silent-master-test-key-0123456789abcdef");

  @Test
  void aSilentMastersConnectionIsTakenAsDeadAndTheClientReconnects() {
    BrokerOptions options = BrokerOptions.withKey(KEY).silenceTimeout(Duration.ofSeconds(1))
        .connectTimeout(Duration.ofSeconds(1));
    try (Master master = Master.start(MasterSettings.of(0, KEY));
        TcpProxy proxy = TcpProxy.to(master.port());
        RemoteBroker broker = RemoteBroker.connect("127.0.0.1", proxy.port(), options)) {
      assertThat(broker.size("q")).succeedsWithin(Duration.ofSeconds(10)).isEqualTo(0L);

      proxy.stall();
      CompletableFuture<Long> unanswered = broker.size("q");
      assertThat(unanswered).failsWithin(Duration.ofSeconds(20)).withThrowableThat()
          .withCauseInstanceOf(BrokerUnavailableException.class);

      proxy.heal();
      await().atMost(Duration.ofSeconds(20)).ignoreExceptions()
          .until(() -> broker.size("q").get() == 0L);
    }
  }

  @Test
  void aQuietButLiveMasterKeepsItsConnection() {
    BrokerOptions options = BrokerOptions.withKey(KEY).silenceTimeout(Duration.ofMillis(400));
    try (Master master = Master.start(MasterSettings.of(0, KEY));
        RemoteBroker broker = RemoteBroker.connect("127.0.0.1", master.port(), options)) {
      // A long poll on an empty queue: nothing comes for many silence timeouts but the answers to the PINGs, which
      // keep the connection; taken as dead, the lease would fail with BrokerUnavailableException.
      CompletableFuture<List<Delivery>> longPoll = broker.lease("empty", 1, Duration.ofSeconds(3));
      assertThat(longPoll).succeedsWithin(Duration.ofSeconds(10)).asList().isEmpty();
    }
  }
}
