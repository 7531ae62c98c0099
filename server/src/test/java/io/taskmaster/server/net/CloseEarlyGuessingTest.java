package io.taskmaster.server.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.taskmaster.broker.AuthKey;
import io.taskmaster.protocol.auth.Handshake;
import io.taskmaster.protocol.message.ErrorCode;
import io.taskmaster.protocol.message.Message;
import io.taskmaster.protocol.wire.Wire;
import io.taskmaster.server.engine.EngineSettings;
import io.taskmaster.server.engine.QueueEngine;
import io.taskmaster.time.Ticker;
import java.io.IOException;
import java.net.InetAddress;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Reliability row 28, the close-early attack. The master held back its verdict on a wrong key once an address had
 * failed a few times, but answered a right key at once, and a client that hung up freed its handshake slot. So a
 * guesser sent AUTH, waited a few milliseconds, and if no AUTH_OK had come, hung up and guessed again: an audit
 * measured 69 guesses per second from one Python process and 147 from six, where the protocol promised a few dozen
 * at most. Now a hung-up guess keeps its slot until its verdict is due, and a right key from a throttled address is
 * held back like a wrong one.
 *
 * <p>The master here holds every throttled verdict for ten minutes, far longer than a test runs, so what it lets
 * through is a matter of counts alone: the free failures, then one guess per handshake slot.
 */
class CloseEarlyGuessingTest {
  private static final AuthKey KEY = AuthKey.of("close-early-test-key-7c41e09ab3d2");
  private static final AuthKey WRONG_KEY = AuthKey.of("close-early-wrong-key-52f8d6c1a0e9");
  private static final int SLOTS = 4;
  private static final Duration HOLD_BACK = Duration.ofMinutes(10);
  private static final Duration TIMEOUT = Duration.ofSeconds(15);

  private final InetAddress attacker = RawClient.loopback(1);
  private final AuthThrottle throttle = new AuthThrottle(Ticker.system(), HOLD_BACK, HOLD_BACK);
  private MasterServer master;

  @BeforeEach
  void startMaster() {
    master = new MasterServer(MasterSettings.of(0, KEY).withMaxHandshakesPerAddress(SLOTS),
        new QueueEngine(EngineSettings.defaults(), Ticker.system()), throttle).start();
  }

  @AfterEach
  void stopMaster() {
    master.close();
  }

  /**
   * Connects from {@code from}, and if the master says HELLO sends AUTH with {@code key} and hangs up without waiting
   * for the verdict. Returns whether the AUTH was sent; otherwise the master refused the connection.
   */
  private boolean guessAndHangUp(InetAddress from, AuthKey key) throws IOException {
    try (RawClient client = RawClient.connectFrom(from, master.port())) {
      Message first = client.writePreface().readFrame().message();
      if (first instanceof Message.Error refused) {
        assertThat(refused.code()).isEqualTo(ErrorCode.TOO_MANY_CONNECTIONS);
        assertThat(refused.message()).contains("unauthenticated connections from " + from.getHostAddress())
            .contains("held back");
        return false;
      }
      sendAuth(client, (Message.Hello) first, key);
      return true;
    }
  }

  private static void sendAuth(RawClient client, Message.Hello hello, AuthKey key) throws IOException {
    byte[] clientNonce = Handshake.nonce(Wire.NONCE_BYTES);
    client.send(0, new Message.Auth(clientNonce, Handshake.clientProof(key, hello.serverNonce(), clientNonce)));
  }

  /** Waits until the master has judged every AUTH sent so far. */
  private void awaitJudged(long sent) {
    await("the master judges every AUTH sent").atMost(TIMEOUT).until(() -> throttle.judged() == sent);
  }

  @Test
  void guessesThatHangUpBeforeTheirVerdictAreBoundedByTheHandshakeSlots() throws Exception {
    int connections = 100;
    int sent = 0;
    for (int i = 0; i < connections; i++) {
      if (guessAndHangUp(attacker, WRONG_KEY)) {
        sent++;
      }
    }
    awaitJudged(sent);

    assertThat(sent).as("guesses the master took and judged out of %d connections", connections)
        .isEqualTo(throttle.attempts(attacker))
        .isLessThanOrEqualTo(AuthThrottle.FREE_FAILURES + SLOTS);
    int held = sent - AuthThrottle.FREE_FAILURES;
    await("slots held by verdicts not yet due, hung up or not").atMost(TIMEOUT)
        .until(() -> master.connections().handshakes(attacker) == held);
  }

  /**
   * A right key from a throttled address is held back like a wrong one (it keeps its slot and counts), so that
   * neither hanging up early nor the time the verdict takes can tell a guesser it was right. From a fresh address
   * the same key gets in at once: with a ten-minute hold-back, being held at all would fail this test.
   */
  @Test
  void theRightKeyWaitsLikeAGuessFromAThrottledAddressOnlyAndGetsInAtOnceFromAnother() throws Exception {
    for (int i = 0; i <= AuthThrottle.FREE_FAILURES; i++) {
      assertThat(guessAndHangUp(attacker, WRONG_KEY)).isTrue();
      awaitJudged(i + 1);
    }
    try (RawClient rightKey = RawClient.connectFrom(attacker, master.port())) {
      sendAuth(rightKey, rightKey.writePreface().readHello(), KEY);
      awaitJudged(AuthThrottle.FREE_FAILURES + 2);

      assertThat(throttle.attempts(attacker)).as("the right key counts like a guess").isEqualTo(
          AuthThrottle.FREE_FAILURES + 2);
      await("slots of the held guess and the held right key").atMost(TIMEOUT)
          .until(() -> master.connections().handshakes(attacker) == 2);
    }

    InetAddress fresh = RawClient.loopback(2);
    try (RawClient client = RawClient.connectFrom(fresh, master.port())) {
      client.authenticate(KEY);

      assertThat(throttle.attempts(fresh)).isZero();
      assertThat(master.connections().handshakes(fresh)).isZero();
    }
  }
}
