package io.taskmaster.server.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.read.ListAppender;
import io.taskmaster.broker.AuthKey;
import io.taskmaster.broker.AuthenticationException;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.client.RemoteBroker;
import io.taskmaster.protocol.auth.Handshake;
import io.taskmaster.protocol.message.Envelope;
import io.taskmaster.protocol.message.ErrorCode;
import io.taskmaster.protocol.message.Message;
import io.taskmaster.protocol.wire.Wire;
import io.taskmaster.server.engine.EngineSettings;
import io.taskmaster.server.engine.QueueEngine;
import io.taskmaster.server.master.Master;
import io.taskmaster.time.Ticker;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The shared-key handshake end to end, against a real master on an ephemeral loopback port (reliability-tests.md
 * row 28, and the authentication parts of rows 23 and 24): right and wrong keys, missing keys, replayed and
 * reflected proofs, nonce quality, and the brute-force throttle. No key ever appears in an error or a log line.
 */
class AuthenticationTest {
  private static final String SECRET = "master-secret-5f1c8e0d9b7a4c2e";
  private static final String WRONG_SECRET = "wrong-secret-a9d3b6e1f0c74e58";
  private static final AuthKey KEY = AuthKey.of(SECRET);
  private static final AuthKey WRONG_KEY = AuthKey.of(WRONG_SECRET);
  private static final long TIMEOUT_SECONDS = 15;

  private final ListAppender<ILoggingEvent> logs = new ListAppender<>();

  @BeforeEach
  void captureLogs() {
    logs.start();
    rootLogger().addAppender(logs);
  }

  @AfterEach
  void checkNoKeyWasLogged() {
    rootLogger().detachAppender(logs);
    for (ILoggingEvent event : logs.list) {
      assertThat(event.getFormattedMessage()).doesNotContain(SECRET).doesNotContain(WRONG_SECRET);
      for (IThrowableProxy thrown = event.getThrowableProxy(); thrown != null; thrown = thrown.getCause()) {
        assertThat(String.valueOf(thrown.getMessage())).doesNotContain(SECRET).doesNotContain(WRONG_SECRET);
      }
    }
  }

  private static Logger rootLogger() {
    return (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
  }

  private static RemoteBroker connect(int port, AuthKey key) {
    return RemoteBroker.connect("127.0.0.1", port, key == null ? BrokerOptions.defaults() : BrokerOptions.withKey(key));
  }

  /** Every message in the chain, which must name the failure but never a key. */
  private static String allMessages(Throwable thrown) {
    StringBuilder messages = new StringBuilder();
    for (Throwable t = thrown; t != null; t = t.getCause()) {
      messages.append(t).append('\n');
    }
    return messages.toString();
  }

  private static void assertNoKeyIn(String text) {
    assertThat(text).doesNotContain(SECRET).doesNotContain(WRONG_SECRET);
  }

  private static TaskMessage task(String id) {
    return new TaskMessage(id, "q", "t", Map.of(), "{}".getBytes(StandardCharsets.UTF_8));
  }

  // -- keys --------------------------------------------------------------------------------------------------

  @Test
  void theRightKeyConnectsAndIsServed() throws Exception {
    try (Master master = Master.start(MasterSettings.of(0, KEY)); RemoteBroker client = connect(master.port(), KEY)) {
      client.put(List.of(task("t1"))).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);

      assertThat(client.size("q").get(TIMEOUT_SECONDS, TimeUnit.SECONDS)).isEqualTo(1);
    }
  }

  /**
   * A client holding a key refuses a master that skips authentication: such a master cannot prove it knows the key
   * and could be an impostor collecting tasks.
   */
  @Test
  void aClientWithAKeyRefusesAMasterWithoutAuthentication() {
    try (Master master = Master.start(MasterSettings.of(0, null))) {
      Throwable thrown = catchThrowable(() -> connect(master.port(), KEY));

      assertThat(thrown).isInstanceOf(AuthenticationException.class).hasMessageContaining("runs without authentication");
      assertNoKeyIn(allMessages(thrown));
    }
  }

  @Test
  void aWrongKeyIsRefusedWithAnAuthenticationErrorThatNamesNoKey() {
    try (Master master = Master.start(MasterSettings.of(0, KEY))) {
      Throwable thrown = catchThrowable(() -> connect(master.port(), WRONG_KEY));

      assertThat(thrown).isInstanceOf(AuthenticationException.class)
          .hasMessageContaining("authentication failed")
          .hasMessageContaining("127.0.0.1:" + master.port());
      assertNoKeyIn(allMessages(thrown));
      await().atMost(Duration.ofSeconds(TIMEOUT_SECONDS)).until(() -> master.openConnections() == 0);
    }
    assertThat(logs.list).anySatisfy(event -> assertThat(event.getFormattedMessage())
        .contains("authentication failed for a client at"));
  }

  @Test
  void theMastersVerdictOnAWrongProofNamesNoKey() throws Exception {
    try (Master master = Master.start(MasterSettings.of(0, KEY)); RawClient guess = RawClient.connect(master.port())) {
      Message.Hello hello = guess.writePreface().readHello();
      byte[] clientNonce = Handshake.nonce(Wire.NONCE_BYTES);
      guess.send(0, new Message.Auth(clientNonce, Handshake.clientProof(WRONG_KEY, hello.serverNonce(), clientNonce)));

      String message = guess.readError(ErrorCode.AUTH_FAILED);
      guess.awaitClosedByPeer();

      assertThat(message).contains("authentication failed");
      assertNoKeyIn(message);
    }
  }

  @Test
  void aClientWithoutAKeyIsToldTheMasterRequiresOne() {
    try (Master master = Master.start(MasterSettings.of(0, KEY))) {
      Throwable thrown = catchThrowable(() -> connect(master.port(), null));

      assertThat(thrown).isInstanceOf(AuthenticationException.class)
          .hasMessageContaining("authentication failed")
          .hasMessageContaining("requires an auth key")
          .hasMessageContaining(AuthKey.ENV);
      assertNoKeyIn(allMessages(thrown));
    }
  }

  @Test
  void anInsecureMasterAcceptsAClientWithoutAKey() throws Exception {
    try (Master master = Master.start(MasterSettings.of(0, null)); RemoteBroker client = connect(master.port(), null)) {
      client.put(List.of(task("t1"))).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);

      assertThat(client.size("q").get(TIMEOUT_SECONDS, TimeUnit.SECONDS)).isEqualTo(1);
    }
  }

  @Test
  void theMasterKeepsServingAfterFailedAttempts() throws Exception {
    try (Master master = Master.start(MasterSettings.of(0, KEY)); RemoteBroker early = connect(master.port(), KEY)) {
      for (int i = 0; i < 3; i++) {
        assertThat(catchThrowable(() -> connect(master.port(), WRONG_KEY)))
            .isInstanceOf(AuthenticationException.class);
        assertThat(catchThrowable(() -> connect(master.port(), null)))
            .isInstanceOf(AuthenticationException.class);
      }

      early.put(List.of(task("after-failures"))).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      try (RemoteBroker late = connect(master.port(), KEY)) {
        assertThat(late.size("q").get(TIMEOUT_SECONDS, TimeUnit.SECONDS)).isEqualTo(1);
      }
    }
  }

  // -- replay and reflection ---------------------------------------------------------------------------------

  /** A proof recorded on one connection is bound to that connection's server nonce, so it fails on any other. */
  @Test
  void aReplayedClientProofIsRefused() throws Exception {
    try (Master master = Master.start(MasterSettings.of(0, KEY)); RawClient victim = RawClient.connect(master.port())) {
      Message.Hello first = victim.writePreface().readHello();
      byte[] clientNonce = Handshake.nonce(Wire.NONCE_BYTES);
      Message.Auth recorded = new Message.Auth(clientNonce,
          Handshake.clientProof(KEY, first.serverNonce(), clientNonce));
      victim.send(0, recorded).read(Message.AuthOk.class);

      try (RawClient replayer = RawClient.connect(master.port())) {
        Message.Hello second = replayer.writePreface().readHello();
        assertThat(second.serverNonce()).isNotEqualTo(first.serverNonce());

        replayer.send(0, recorded).readError(ErrorCode.AUTH_FAILED);
        replayer.awaitClosedByPeer();
      }

      // The genuine connection is untouched by the failed replay.
      victim.send(9, new Message.Size("q"));
      Envelope answer = victim.readFrame();
      assertThat(answer.requestId()).isEqualTo(9);
      assertThat(answer.message()).isEqualTo(new Message.SizeOk(0));
    }
  }

  /** The server's proof uses another label than the client's, so it cannot be reflected as a client proof. */
  @Test
  void aServerProofFromAnotherConnectionDoesNotAuthenticate() throws Exception {
    try (Master master = Master.start(MasterSettings.of(0, KEY));
        RawClient genuine = RawClient.connect(master.port())) {
      Message.Hello hello = genuine.writePreface().readHello();
      byte[] clientNonce = Handshake.nonce(Wire.NONCE_BYTES);
      genuine.send(0, new Message.Auth(clientNonce, Handshake.clientProof(KEY, hello.serverNonce(), clientNonce)));
      Message.AuthOk serverProof = genuine.read(Message.AuthOk.class);

      try (RawClient reflector = RawClient.connect(master.port())) {
        reflector.writePreface().readHello();
        reflector.send(0, new Message.Auth(clientNonce, serverProof.serverProof())).readError(ErrorCode.AUTH_FAILED);
        reflector.awaitClosedByPeer();
      }
    }
  }

  @Test
  void proofsAreBoundToRoleAndNonces() {
    byte[] serverNonce = Handshake.nonce(Wire.NONCE_BYTES);
    byte[] clientNonce = Handshake.nonce(Wire.NONCE_BYTES);
    byte[] client = Handshake.clientProof(KEY, serverNonce, clientNonce);

    assertThat(client).hasSize(Handshake.PROOF_BYTES);
    assertThat(Handshake.matches(client, Handshake.clientProof(KEY, serverNonce, clientNonce))).isTrue();
    assertThat(Handshake.matches(client, Handshake.serverProof(KEY, serverNonce, clientNonce))).isFalse();
    assertThat(Handshake.matches(client, Handshake.clientProof(WRONG_KEY, serverNonce, clientNonce))).isFalse();
    assertThat(Handshake.matches(client, Handshake.clientProof(KEY, clientNonce, serverNonce))).isFalse();
    assertThat(Handshake.matches(client, Handshake.clientProof(KEY, Handshake.nonce(32), clientNonce))).isFalse();
  }

  /** Mutual authentication: a master that cannot prove the key is not trusted with any task. */
  @Test
  void aMasterThatCannotProveTheKeyIsRefusedByTheClient() throws Exception {
    try (ServerSocket impostor = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      Thread serving = new Thread(() -> impersonate(impostor), "impostor-master");
      serving.setDaemon(true);
      serving.start();

      Throwable thrown = catchThrowable(() -> connect(impostor.getLocalPort(), KEY));

      assertThat(thrown).isInstanceOf(AuthenticationException.class)
          .hasMessageContaining("could not prove it knows the auth key");
      serving.join(TimeUnit.SECONDS.toMillis(TIMEOUT_SECONDS));
    }
  }

  /** Plays a master without the key: HELLO, read the AUTH, answer AUTH_OK with a made-up proof. */
  private static void impersonate(ServerSocket listener) {
    try (Socket socket = listener.accept()) {
      socket.setSoTimeout((int) TimeUnit.SECONDS.toMillis(TIMEOUT_SECONDS));
      DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
      OutputStream out = socket.getOutputStream();
      in.readFully(new byte[Wire.PREFACE_BYTES]);
      out.write(RawClient.frame(new Envelope(0,
          new Message.Hello(Wire.VERSION, true, Handshake.nonce(Wire.NONCE_BYTES), "impostor"))));
      in.readFully(new byte[in.readInt()]);
      out.write(RawClient.frame(new Envelope(0, new Message.AuthOk(Handshake.nonce(Handshake.PROOF_BYTES)))));
      out.flush();
      while (in.read() >= 0) {
        // wait for the client to hang up
      }
    } catch (IOException e) {
      // the client hung up first
    }
  }

  // -- nonces ------------------------------------------------------------------------------------------------

  /** 2,000 HELLOs, one connection each: every server nonce is 32 bytes, none repeats, and the bits are balanced. */
  @Test
  void serverNoncesAreFreshOnEveryConnection() throws Exception {
    int connections = 2_000;
    try (Master master = Master.start(MasterSettings.of(0, KEY).withMaxHandshakesPerAddress(connections))) {
      Set<String> seen = new HashSet<>();
      long ones = 0;
      for (int i = 0; i < connections; i++) {
        try (RawClient client = RawClient.connect(master.port())) {
          byte[] nonce = client.readHello().serverNonce();
          assertThat(nonce).hasSize(32);
          assertThat(seen.add(HexFormat.of().formatHex(nonce))).as("nonce %d is new", i).isTrue();
          for (byte b : nonce) {
            ones += Integer.bitCount(b & 0xFF);
          }
        }
      }
      // 512,000 fair bits have a standard deviation of about 360 ones; 1 % either way is 14 deviations.
      assertThat(ones / (connections * 256.0)).isBetween(0.49, 0.51);
    }
  }

  // -- brute force -------------------------------------------------------------------------------------------

  /** Sends a wrong proof and leaves the connection open, without waiting for the verdict. */
  private static RawClient guess(int port) throws IOException {
    RawClient guess = RawClient.connect(port);
    Message.Hello hello = guess.writePreface().readHello();
    byte[] clientNonce = Handshake.nonce(Wire.NONCE_BYTES);
    guess.send(0, new Message.Auth(clientNonce, Handshake.clientProof(WRONG_KEY, hello.serverNonce(), clientNonce)));
    return guess;
  }

  /**
   * After more than a handful of failures from one address, the verdicts on further guesses are held back, which
   * slows guessing; a client with the right key from the same address still gets in, after the same hold-back as a
   * guess (so that the timing cannot tell a guesser it was right), and every guess is refused in the end.
   */
  @Test
  void bruteForceIsHeldBackWhileTheRightKeyStillGetsIn() throws Exception {
    InetAddress loopback = InetAddress.getByName("127.0.0.1");
    MasterServer server = new MasterServer(MasterSettings.of(0, KEY),
        new QueueEngine(EngineSettings.defaults(), Ticker.system())).start();
    List<RawClient> guesses = new ArrayList<>();
    try (RemoteBroker before = connect(server.port(), KEY)) {
      for (int i = 0; i < 12; i++) {
        guesses.add(guess(server.port()));
      }
      await().atMost(Duration.ofSeconds(TIMEOUT_SECONDS))
          .until(() -> server.authThrottle().attempts(loopback) == 12);

      RawClient held = guess(server.port());
      guesses.add(held);
      await().atMost(Duration.ofSeconds(TIMEOUT_SECONDS))
          .until(() -> server.authThrottle().attempts(loopback) == 13);
      try (RemoteBroker after = connect(server.port(), KEY)) {
        after.ping().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      }
      before.ping().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      // Whether the 13th verdict is still held at this moment depends on the machine's speed, so it is not
      // asserted; the hold itself is checked with a fake clock in Throttle below.

      for (RawClient guess : guesses) {
        guess.readError(ErrorCode.AUTH_FAILED);
        guess.awaitClosedByPeer();
      }
      assertThat(server.authThrottle().attempts(loopback)).as("the right key counts like a guess while throttled")
          .isEqualTo(14);
    } finally {
      for (RawClient guess : guesses) {
        guess.close();
      }
      server.close();
    }
  }

  @Nested
  class Throttle {
    private long now = 0;
    private final AuthThrottle throttle = new AuthThrottle(() -> now);
    private final InetAddress attacker = address(127, 0, 0, 1);

    private InetAddress address(int a, int b, int c, int d) {
      try {
        return InetAddress.getByAddress(new byte[] {(byte) a, (byte) b, (byte) c, (byte) d});
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }

    @Test
    void aFewFailuresAreFreeThenVerdictsAreHeldBackLongerAndLongerUpToACap() {
      List<Duration> holds = new ArrayList<>();
      for (int i = 0; i < 30; i++) {
        now += Duration.ofSeconds(1).toNanos();
        holds.add(throttle.attempted(attacker, false));
      }

      assertThat(holds.subList(0, 5)).containsOnly(Duration.ZERO);
      assertThat(holds.subList(5, 30)).allSatisfy(hold -> assertThat(hold).isPositive());
      assertThat(holds).isSorted();
      assertThat(holds.get(6)).isGreaterThan(holds.get(5));
      assertThat(holds.get(29)).isEqualTo(holds.get(28)).isLessThanOrEqualTo(Duration.ofSeconds(5));
      assertThat(throttle.attempts(attacker)).isEqualTo(30);
    }

    @Test
    void anAddressThatStopsFailingForAMinuteStartsAfresh() {
      for (int i = 0; i < 10; i++) {
        throttle.attempted(attacker, false);
      }
      now += Duration.ofSeconds(61).toNanos();

      assertThat(throttle.attempted(attacker, false)).isZero();
      assertThat(throttle.attempts(attacker)).isEqualTo(1);
    }

    @Test
    void failuresCountPerAddress() {
      for (int i = 0; i < 10; i++) {
        throttle.attempted(attacker, false);
      }

      assertThat(throttle.attempted(address(127, 0, 0, 2), false)).isZero();
      assertThat(throttle.attempts(address(127, 0, 0, 2))).isEqualTo(1);
      assertThat(throttle.attempts(address(10, 0, 0, 1))).isZero();
    }

    /** Until an address is throttled, a right key costs nothing and counts for nothing. */
    @Test
    void theRightKeyFromAnAddressThatIsNotThrottledIsAnsweredAtOnce() {
      for (int i = 0; i < AuthThrottle.FREE_FAILURES - 1; i++) {
        throttle.attempted(attacker, false);
      }

      assertThat(throttle.attempted(attacker, true)).isZero();
      assertThat(throttle.attempted(address(127, 0, 0, 2), true)).isZero();
      assertThat(throttle.attempts(attacker)).isEqualTo(AuthThrottle.FREE_FAILURES - 1);
      assertThat(throttle.attempts(address(127, 0, 0, 2))).isZero();
    }

    /**
     * While an address is throttled, a right key is held back as long as a wrong one and counts the same, so the
     * next attempt's hold-back is the same too: nothing the master does before the verdict depends on the key.
     */
    @Test
    void theRightKeyFromAThrottledAddressIsHeldBackAndCountedLikeAWrongOne() {
      AuthThrottle twin = new AuthThrottle(() -> now);
      for (int i = 0; i < AuthThrottle.FREE_FAILURES; i++) {
        throttle.attempted(attacker, false);
        twin.attempted(attacker, false);
      }

      for (int i = 0; i < 8; i++) {
        Duration right = throttle.attempted(attacker, true);
        Duration wrong = twin.attempted(attacker, false);

        assertThat(right).as("hold-back of attempt %d", i).isPositive().isEqualTo(wrong);
        assertThat(throttle.attempts(attacker)).isEqualTo(twin.attempts(attacker));
      }
    }

    /** A right key does not extend the throttle: clients with the key are not held back for ever. */
    @Test
    void theRightKeyDoesNotKeepAnAddressThrottled() {
      for (int i = 0; i < 10; i++) {
        throttle.attempted(attacker, false);
      }
      now += Duration.ofSeconds(50).toNanos();
      assertThat(throttle.attempted(attacker, true)).isPositive();

      now += Duration.ofSeconds(11).toNanos();

      assertThat(throttle.attempted(attacker, true)).isZero();
      assertThat(throttle.attempts(attacker)).isZero();
    }
  }
}
