package io.taskmaster.server.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.taskmaster.broker.AuthKey;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.client.RemoteBroker;
import io.taskmaster.protocol.message.ErrorCode;
import io.taskmaster.protocol.message.Message;
import io.taskmaster.server.engine.EngineSettings;
import io.taskmaster.server.engine.QueueEngine;
import io.taskmaster.time.Ticker;
import java.io.IOException;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Reliability row 23. Unauthenticated connections had a cap per address (64) but none overall below
 * {@code --max-connections}, so an audit with {@code --max-connections 100} opened 50 idle connections from each of
 * 127.0.0.2 and 127.0.0.3, and a client with the right key was refused: "the master serves its limit of 100
 * connections". Now at most a share of the connections (half by default) may be authenticating, and when that share
 * is full a newcomer displaces the oldest handshake of the address that holds the most, unless its own address is
 * that one: a flood from a few addresses only ever displaces itself.
 */
class UnauthenticatedFloodTest {
  private static final AuthKey KEY = AuthKey.of("unauthenticated-flood-test-key-3e9a1f");
  private static final long TIMEOUT_SECONDS = 15;

  private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
  private final List<RawClient> clients = new ArrayList<>();

  @BeforeEach
  void captureLogs() {
    logs.start();
    sessionLogger().addAppender(logs);
  }

  @AfterEach
  void closeClients() throws IOException {
    sessionLogger().detachAppender(logs);
    for (RawClient client : clients) {
      client.close();
    }
  }

  private static Logger sessionLogger() {
    return (Logger) LoggerFactory.getLogger(ServerSession.class);
  }

  private static MasterServer start(MasterSettings settings) {
    return new MasterServer(settings, new QueueEngine(EngineSettings.defaults(), Ticker.system())).start();
  }

  /**
   * Opens {@code count} connections from {@code from} that never authenticate, and reads the first frame of each:
   * once it is there the master has admitted or refused the connection. Returns how many it refused.
   */
  private int openIdle(MasterServer master, InetAddress from, int count) throws IOException {
    int refused = 0;
    for (int i = 0; i < count; i++) {
      RawClient client = RawClient.connectFrom(from, master.port());
      clients.add(client);
      Message first = client.readFrame().message();
      if (first instanceof Message.Error error) {
        assertThat(error.code()).isEqualTo(ErrorCode.TOO_MANY_CONNECTIONS);
        refused++;
      } else {
        assertThat(first).isInstanceOf(Message.Hello.class);
      }
    }
    return refused;
  }

  private static void assertKeyedClientGetsIn(MasterServer master) throws Exception {
    try (RemoteBroker client = RemoteBroker.connect("127.0.0.1", master.port(), BrokerOptions.withKey(KEY))) {
      client.ping().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }
  }

  private List<String> warnings() {
    return logs.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
  }

  /** The audit's case: 50 idle handshakes from each of two addresses, then a client with the key. */
  @Test
  void idleHandshakesFromTwoAddressesLeaveRoomForAKeyedClient() throws Exception {
    MasterServer master = start(MasterSettings.of(0, KEY).withMaxConnections(100));
    try {
      int refused = openIdle(master, RawClient.loopback(2), 50) + openIdle(master, RawClient.loopback(3), 50);

      assertKeyedClientGetsIn(master);
      assertThat(refused).as("connections refused at once").isPositive();
      assertThat(master.connections().unauthenticated()).isLessThanOrEqualTo(50);
      // Which of the refusals and displacements is logged depends on the order the event loops ran them in.
      assertThat(warnings()).anySatisfy(line -> assertThat(line).containsPattern(
          "^(refusing connection from /127\\.0\\.0\\.3:.*limit of 50 unauthenticated connections"
              + "|closing connection from /127\\.0\\.0\\.2:.* to make room for one from 127\\.0\\.0\\.3)"));
    } finally {
      master.close();
    }
  }

  /**
   * One address floods while another has a slow handshake in progress: the flood takes the free places and then is
   * refused, and the slow client, never displaced, still authenticates.
   */
  @Test
  void aFloodFromOneAddressDisplacesOnlyItself() throws Exception {
    MasterServer master = start(MasterSettings.of(0, KEY).withMaxConnections(8).withMaxUnauthenticated(4));
    try {
      RawClient slow = RawClient.connectFrom(RawClient.loopback(3), master.port());
      clients.add(slow);
      Message.Hello hello = slow.writePreface().readHello();

      int refused = openIdle(master, RawClient.loopback(2), 10);

      assertThat(refused).isEqualTo(7);
      assertThat(warnings()).first().asString().startsWith("refusing connection from /127.0.0.2:")
          .contains("limit of 4 unauthenticated connections").contains("this address holds the most");
      slow.authenticate(KEY, hello);
      assertKeyedClientGetsIn(master);
    } finally {
      master.close();
    }
  }

  @Test
  void theLimitIsHalfTheConnectionsByDefaultAndNeverMoreThanThem() {
    MasterSettings settings = MasterSettings.of(0, KEY).withMaxConnections(100);

    assertThat(settings.effectiveMaxUnauthenticated()).isEqualTo(50);
    assertThat(settings.withMaxUnauthenticated(100).effectiveMaxUnauthenticated()).isEqualTo(100);
    assertThat(settings.withMaxConnections(1).effectiveMaxUnauthenticated()).isEqualTo(1);
    assertThatThrownBy(() -> settings.withMaxUnauthenticated(101)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("(100)").hasMessageContaining("was 101").hasMessageContaining("--max-unauthenticated 50");
    assertThatThrownBy(() -> settings.withMaxUnauthenticated(-1)).isInstanceOf(IllegalArgumentException.class);
  }
}
