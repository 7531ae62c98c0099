package io.taskmaster.python;

import static io.taskmaster.python.RawManagersClient.concat;
import static io.taskmaster.python.RawManagersClient.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.taskmaster.protocol.transport.Transports;
import io.taskmaster.python.listener.PythonListener;
import io.taskmaster.python.listener.PythonListenerSettings;
import io.taskmaster.python.pickle.Pickles;
import io.taskmaster.python.wire.ManagersAuth;
import io.taskmaster.server.engine.EngineSettings;
import io.taskmaster.server.engine.QueueEngine;
import io.taskmaster.testkit.TcpTable;
import io.taskmaster.time.Ticker;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The managers port against hostile input (reliability-tests.md rows 31 to 34): authentication before any pickle,
 * forbidden globals and opcodes, pickle bombs, oversized frames, silent clients, unsafe settings.
 */
class ManagersListenerSecurityTest {
  private static final byte[] KEY = "managers-security-test-key-0123456789".getBytes(StandardCharsets.UTF_8);

  private QueueEngine engine;
  private PythonListener listener;

  @BeforeEach
  void start() {
    engine = new QueueEngine(EngineSettings.defaults(), Ticker.system());
    listener = PythonListener.start(new PythonListenerSettings("127.0.0.1", 0, KEY,
        PythonListenerSettings.defaultQueues(), 1 << 20, Duration.ofMillis(500), 50, false), engine);
  }

  @AfterEach
  void stop() {
    listener.close();
  }

  private RawManagersClient client() throws IOException {
    return new RawManagersClient(listener.port());
  }

  /** {@code (None, 'accept_connection', ('MainProcess',), {})}, then the request on the same connection. */
  private RawManagersClient callChannel() throws IOException {
    RawManagersClient client = client().authenticate(KEY);
    client.send(Pickles.dumps(new Object[] {null, "accept_connection", new Object[] {"MainProcess"}, Map.of()}));
    assertThat(text(client.read())).contains("#RETURN");
    return client;
  }

  private static byte[] ascii(String text) {
    return text.getBytes(StandardCharsets.ISO_8859_1);
  }

  /** A Python worker whose machine dies sends no FIN: the listener's side of its connection is probed. */
  @Test
  void everyAcceptedConnectionHasKeepAliveArmed() throws Exception {
    try (RawManagersClient client = client().authenticate(KEY)) {
      TcpTable.assertKeepAliveArmed(listener.port(), Transports.KEEPALIVE_IDLE);
    }
  }

  @Test
  void aWrongKeyGetsFailureAndNothingElse() throws IOException {
    try (RawManagersClient client = client()) {
      byte[] challenge = client.read();
      assertThat(ManagersAuth.startsWith(challenge, ManagersAuth.CHALLENGE)).isTrue();
      client.send(ManagersAuth.answer("wrong".getBytes(StandardCharsets.UTF_8), ManagersAuth.challengeBody(challenge)));
      assertThat(client.read()).isEqualTo(ManagersAuth.FAILURE);
      assertThat(client.closedByPeer()).isTrue();
    }
  }

  @Test
  void aRequestBeforeAuthenticationIsNeverUnpickled() throws IOException {
    try (RawManagersClient client = client()) {
      client.read();
      client.send(ascii("cio.taskmaster.python\nCanary\n)R."));
      assertThat(client.read()).isEqualTo(ManagersAuth.FAILURE);
      assertThat(client.closedByPeer()).isTrue();
    }
    assertThat(System.getProperty("taskmaster.canary.loaded")).isNull();
  }

  @Test
  void authenticationFramesAreCappedAt256Bytes() throws IOException {
    try (RawManagersClient client = client()) {
      client.read();
      client.send(new byte[300]);
      assertThat(client.closedByPeer()).isTrue();
    }
    try (RawManagersClient client = client()) {
      client.read();
      client.sendRaw(new byte[] {-1, -1, -1, -1, 0x7f, -1, -1, -1, -1, -1, -1, -1}); // -1, then 2^63-1
      assertThat(client.closedByPeer()).isTrue();
    }
  }

  @Test
  void aSilentClientIsDroppedAtTheHandshakeTimeout() throws IOException {
    try (RawManagersClient client = client()) {
      client.read();
      assertThat(client.closedByPeer()).isTrue(); // the test's listener allows 500 ms
    }
  }

  @Test
  void forbiddenGlobalsAndOpcodesAreRefusedByNameAndCloseTheConnection() throws IOException {
    Map<String, byte[]> attacks = Map.of(
        "global os.system", ascii("\u0080\u0002cos\nsystem\nX\u0002\u0000\u0000\u0000idq\u0000\u0085R."),
        "global subprocess.Popen", concat(ascii("\u0080\u0004\u0095\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000"),
            ascii("\u008c\nsubprocess\u0094\u008c\u0005Popen\u0094\u0093)R.")),
        "global builtins.eval", ascii("cbuiltins\neval\n(S'1'\ntR."),
        "global builtins.getattr", ascii("cbuiltins\ngetattr\n(cbuiltins\nobject\nS'x'\ntR."),
        "global io.taskmaster.python.Canary", ascii("cio.taskmaster.python\nCanary\n)R."),
        "opcode INST", ascii("(S'ls'\nios\nsystem\n."),
        "opcode OBJ", ascii("(K\u0001S'ls'\no."),
        "opcode BINPERSID", ascii("\u0080\u0002K\u0001Q."));
    for (Map.Entry<String, byte[]> attack : attacks.entrySet()) {
      try (RawManagersClient client = callChannel()) {
        client.send(attack.getValue());
        String reply = text(client.read());
        assertThat(reply).as(attack.getKey()).contains("#TRACEBACK").contains(attack.getKey())
            .contains("forbidden");
        assertThat(client.closedByPeer()).as(attack.getKey()).isTrue();
      }
    }
    assertThat(System.getProperty("taskmaster.canary.loaded")).as("no Java class looked up from a pickle").isNull();
    assertThat(System.getProperty("taskmaster.canary.constructed")).isNull();
  }

  /** {@code (ident, 'put', (item,), {})} in protocol 2, the item given as raw opcodes. */
  private static byte[] put(byte[] itemOpcodes) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(ascii("\u0080\u0002("));
    out.writeBytes(binunicode("taskmaster:get_task_queue"));
    out.writeBytes(binunicode("put"));
    out.write('(');
    out.writeBytes(itemOpcodes);
    out.writeBytes(ascii("t}t."));
    return out.toByteArray();
  }

  private static byte[] binunicode(String text) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    return concat(new byte[] {'X', (byte) bytes.length, 0, 0, 0}, bytes);
  }

  @Test
  void pickleBombsAreRefusedAndTheMasterGoesOn() throws IOException {
    int depth = 100_000;
    ByteArrayOutputStream deep = new ByteArrayOutputStream();
    deep.writeBytes("]".repeat(depth).getBytes(StandardCharsets.ISO_8859_1));
    deep.writeBytes("a".repeat(depth - 1).getBytes(StandardCharsets.ISO_8859_1));
    ByteArrayOutputStream doubling = new ByteArrayOutputStream();
    doubling.writeBytes(ascii("K\u0001q\u00000"));
    for (int i = 0; i < 60; i++) {
      doubling.writeBytes(ascii("h\u0000h\u0000\u0086q\u00000")); // each level pairs the previous: 2^60 leaves
    }
    doubling.writeBytes(ascii("h\u0000"));
    Map<String, byte[]> bombs = Map.of(
        "nests more than 1000 levels", put(deep.toByteArray()),
        "more than 1000000 items", put(doubling.toByteArray()));
    for (Map.Entry<String, byte[]> bomb : bombs.entrySet()) {
      try (RawManagersClient client = callChannel()) {
        client.send(bomb.getValue());
        String reply = text(client.read());
        assertThat(reply).as(bomb.getKey()).contains("#ERROR").contains("TypeError").contains(bomb.getKey());
        assertThat(engine.size("tasks")).isZero();
      }
    }
    // A huge shared structure used as a dict key would be hashed node by node: refused, as Python refuses it.
    try (RawManagersClient client = callChannel()) {
      client.send(put(concat(ascii("}"), ascii("]K\u0001s"))));
      assertThat(text(client.read())).contains("#TRACEBACK").contains("unhashable");
      assertThat(client.closedByPeer()).isTrue();
    }
    for (String huge : List.of("\u008d", "\u0096", "\u008e")) { // BINUNICODE8, BYTEARRAY8, BINBYTES8
      try (RawManagersClient client = callChannel()) {
        client.send(concat(ascii("\u0080\u0004" + huge), ascii("\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0040.")));
        assertThat(text(client.read())).contains("#TRACEBACK").contains("announces");
        assertThat(client.closedByPeer()).isTrue();
      }
    }
    try (RawManagersClient client = callChannel()) {
      client.sendRaw(new byte[] {0x7f, -1, -1, -1});
      assertThat(client.closedByPeer()).as("a frame over the limit, after authentication").isTrue();
    }
    try (RawManagersClient client = callChannel()) {
      client.send(Pickles.dumps(new Object[] {"taskmaster:get_task_queue", "qsize", new Object[0], Map.of()}));
      assertThat(text(client.read())).as("the master still serves").contains("#RETURN");
    }
  }

  @Test
  void httpToThePicklePortIsClosedAtOnceAndNothingRuns() throws IOException {
    try (RawManagersClient client = client()) {
      client.read();
      client.sendRaw(ascii("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n(None,'shutdown',(),{})"));
      assertThat(client.closedByPeer()).isTrue();
    }
    try (RawManagersClient client = callChannel()) {
      client.send(Pickles.dumps(new Object[] {"taskmaster:get_task_queue", "qsize", new Object[0], Map.of()}));
      assertThat(text(client.read())).contains("#RETURN");
    }
  }

  @Test
  void connectionsBeyondTheLimitAreClosed() throws IOException {
    listener.close();
    listener = PythonListener.start(new PythonListenerSettings("127.0.0.1", 0, KEY,
        PythonListenerSettings.defaultQueues(), 1 << 20, Duration.ofSeconds(10), 2, false), engine);
    try (RawManagersClient first = client(); RawManagersClient second = client()) {
      first.read();
      second.read();
      try (RawManagersClient third = client()) {
        assertThat(third.closedByPeer()).as("the third connection").isTrue();
      }
    }
    org.awaitility.Awaitility.await("the slots are free again").atMost(Duration.ofSeconds(30)).ignoreExceptions()
        .until(() -> {
          try (RawManagersClient again = client()) {
            again.authenticate(KEY);
            return true;
          }
        });
  }

  @Test
  void unsafeSettingsAreRefusedAtStartUp() {
    assertThatThrownBy(() -> new PythonListenerSettings("127.0.0.1", 0, new byte[0],
        PythonListenerSettings.defaultQueues(), 1 << 20, Duration.ofSeconds(1), 10, false))
        .hasMessageContaining("needs the master's auth key");
    assertThatThrownBy(() -> new PythonListenerSettings("0.0.0.0", 0, "abc".getBytes(StandardCharsets.UTF_8),
        PythonListenerSettings.defaultQueues(), 1 << 20, Duration.ofSeconds(1), 10, false))
        .hasMessageContaining("3 bytes").hasMessageContaining("--allow-weak-key").hasMessageNotContaining("abc");
    PythonListenerSettings accepted = new PythonListenerSettings("0.0.0.0", 0, "abc".getBytes(StandardCharsets.UTF_8),
        PythonListenerSettings.defaultQueues(), 1 << 20, Duration.ofSeconds(1), 10, true);
    assertThat(accepted.weakKey()).isTrue();
    assertThat(accepted.toString()).doesNotContain("abc");
    assertThatThrownBy(() -> new PythonListenerSettings("127.0.0.1", 0, KEY, Map.of("get-queue", "q"),
        1 << 20, Duration.ofSeconds(1), 10, false)).hasMessageContaining("not a Python identifier");
  }
}
