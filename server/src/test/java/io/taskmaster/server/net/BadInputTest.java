package io.taskmaster.server.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.taskmaster.broker.AuthKey;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.broker.Delivery;
import io.taskmaster.broker.Settlement;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.client.RemoteBroker;
import io.taskmaster.protocol.message.Envelope;
import io.taskmaster.protocol.message.ErrorCode;
import io.taskmaster.protocol.message.Message;
import io.taskmaster.protocol.wire.Wire;
import io.taskmaster.server.master.Master;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Hostile and broken clients against a real master on an ephemeral loopback port, over raw sockets: hostile length
 * fields, other protocols, requests before authentication, wrong versions, oversized frames, silent connections,
 * connection floods and clients that never read (reliability-tests.md rows 21 to 25, 27 and 28). Every case checks
 * the exact ERROR frame, that the connection is then closed, and that the master goes on serving others.
 */
class BadInputTest {
  private static final AuthKey KEY = AuthKey.of("bad-input-test-key-0123456789abcdef");
  private static final long TIMEOUT_SECONDS = 15;

  private static Master keyedMaster() {
    return Master.start(MasterSettings.of(0, KEY));
  }

  private static RemoteBroker goodClient(Master master) {
    return RemoteBroker.connect("127.0.0.1", master.port(), BrokerOptions.withKey(KEY));
  }

  /** A client with the right key connects and completes a round trip. */
  private static void assertServesGoodClients(Master master) throws Exception {
    try (RemoteBroker client = goodClient(master)) {
      client.ping().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }
  }

  private static TaskMessage task(String id) {
    return new TaskMessage(id, "q", "t", Map.of(), "{}".getBytes(StandardCharsets.UTF_8));
  }

  // -- invalid values in a well-framed request -----------------------------------------------------------------

  /** A put naming an empty queue is refused on its own; the connection stays usable for the next request. */
  @Test
  void anInvalidNameInAPutIsRefusedAndTheConnectionStaysUsable() throws Exception {
    try (Master master = keyedMaster(); RawClient client = RawClient.connect(master.port())) {
      client.authenticate(KEY);
      byte[] body = new java.io.ByteArrayOutputStream() {
        {
          // one task: id "t", queue "" (invalid), type "", no headers, empty payload, default options
          writeBytes(new byte[] {0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
          writeBytes(new byte[17]);
        }
      }.toByteArray();
      java.io.ByteArrayOutputStream frame = new java.io.ByteArrayOutputStream();
      java.io.DataOutputStream out = new java.io.DataOutputStream(frame);
      out.writeInt(5 + body.length);
      out.writeByte(io.taskmaster.protocol.message.Opcode.PUT.code());
      out.writeInt(41);
      out.write(body);
      client.write(frame.toByteArray());

      Envelope refused = client.readFrame();
      assertThat(refused.requestId()).isEqualTo(41);
      assertThat(((Message.Error) refused.message()).code()).isEqualTo(ErrorCode.INVALID_ARGUMENT);
      assertThat(((Message.Error) refused.message()).message()).contains("queue name must not be empty");

      client.send(42, new Message.Ping());
      Envelope pong = client.readFrame();
      assertThat(pong.requestId()).isEqualTo(42);
      assertThat(pong.message()).isInstanceOf(Message.Pong.class);
      assertThat(master.engine().stats().ready()).isZero();
    }
  }

  /** A lease that asks for no task is refused, and does not use up the connection's allowance of waiting requests. */
  @Test
  void aLeaseForZeroTasksIsRefusedWithoutLeakingAWaitSlot() throws Exception {
    try (Master master = Master.start(MasterSettings.of(0, KEY).withMaxPendingPerConnection(2));
        RawClient client = RawClient.connect(master.port())) {
      client.authenticate(KEY);
      for (int i = 1; i <= 5; i++) {
        client.send(i, new Message.Lease("q", 0, 1000));
        assertThat(client.readError(ErrorCode.INVALID_ARGUMENT)).contains("1 to");
      }
      client.send(9, new Message.Lease("q", 1, 50));
      Envelope leased = client.readFrame();
      assertThat(leased.message()).isEqualTo(new Message.Leased(List.of()));
    }
  }

  /** Closing the master tells clients why: SHUTTING_DOWN, so workers reconnect to its successor quietly. */
  @Test
  void aClosingMasterSaysItIsShuttingDown() throws Exception {
    Master master = keyedMaster();
    try (RawClient client = RawClient.connect(master.port())) {
      client.authenticate(KEY);
      master.close();

      assertThat(client.readError(ErrorCode.SHUTTING_DOWN)).contains("shutting down");
      client.awaitClosedByPeer();
    }
  }

  // -- row 24: oversized length before authentication ---------------------------------------------------------

  static Stream<Arguments> preAuthLengths() {
    return Stream.of(
        Arguments.of(0x7FFF_FFFFL, ErrorCode.FRAME_TOO_LARGE),
        Arguments.of(0xFFFF_FFFFL, ErrorCode.FRAME_TOO_LARGE),
        Arguments.of(0x8000_0000L, ErrorCode.FRAME_TOO_LARGE),
        Arguments.of((long) Wire.PRE_AUTH_MAX_FRAME_BYTES + 1, ErrorCode.FRAME_TOO_LARGE),
        Arguments.of(0L, ErrorCode.MALFORMED_FRAME),
        Arguments.of(4L, ErrorCode.MALFORMED_FRAME));
  }

  /**
   * The length field alone is enough for the master to refuse: it answers before a single body byte was sent, so
   * it cannot have reserved room for the declared size.
   */
  @ParameterizedTest(name = "length {0} -> {1}")
  @MethodSource("preAuthLengths")
  void aHostileLengthBeforeAuthenticationIsRefusedFromTheLengthFieldAlone(long length, ErrorCode expected)
      throws Exception {
    try (Master master = keyedMaster(); RawClient hostile = RawClient.connect(master.port())) {
      hostile.writePreface().readHello();

      String message = hostile.writeLengthField(length).readError(expected);
      hostile.awaitClosedByPeer();

      if (expected == ErrorCode.FRAME_TOO_LARGE) {
        assertThat(message).contains(String.valueOf(length))
            .contains("limit of " + Wire.PRE_AUTH_MAX_FRAME_BYTES + " bytes before authentication");
      }
      assertServesGoodClients(master);
    }
  }

  // -- row 27: another protocol on the binary port -------------------------------------------------------------

  /**
   * An HTTP POST whose body holds a perfectly valid Taskmaster session (preface and a PUT) must not execute the PUT,
   * even on a master without authentication, where the same bytes sent bare would.
   */
  @Test
  void anHttpPostCarryingValidFramesExecutesNothing() throws Exception {
    try (Master master = Master.start(MasterSettings.of(0, null))) {
      byte[] session = RawClient.concat(RawClient.preface(Wire.VERSION),
          RawClient.frame(new Envelope(1, new Message.Put(List.of(task("smuggled"))))));
      byte[] post = RawClient.concat(("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
          + "Content-Length: " + session.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII), session);

      try (RawClient http = RawClient.connect(master.port())) {
        http.readHello();
        String message = http.write(post).readError(ErrorCode.MALFORMED_FRAME);
        http.awaitClosedByPeer();
        assertThat(message).contains("not the Taskmaster protocol").contains("POST");
      }
      assertThat(master.engine().size("q")).as("tasks put by the smuggled frames").isZero();

      // The control: the same session sent bare does put the task, so the refusal above is what stopped it.
      try (RawClient bare = RawClient.connect(master.port())) {
        bare.readHello();
        bare.write(session).read(Message.PutOk.class);
      }
      assertThat(master.engine().size("q")).isEqualTo(1);
    }
  }

  @ParameterizedTest(name = "authenticated master: {0}")
  @ValueSource(booleans = {true, false})
  void anHttpGetIsClosedAtOnce(boolean keyed) throws Exception {
    try (Master master = Master.start(MasterSettings.of(0, keyed ? KEY : null));
        RawClient http = RawClient.connect(master.port())) {
      http.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII)).readHello();

      String message = http.readError(ErrorCode.MALFORMED_FRAME);
      http.awaitClosedByPeer();

      assertThat(message).contains("'GET / HTTP/1.1??'");
      await().atMost(Duration.ofSeconds(TIMEOUT_SECONDS)).until(() -> master.openConnections() == 0);
    }
  }

  // -- row 28: every request before authentication ------------------------------------------------------------

  static Stream<Message> requestsBeforeAuthentication() {
    return Stream.of(
        new Message.Put(List.of(task("sneaky"))),
        new Message.Lease("q", 10, 0),
        new Message.Settle(List.of(Settlement.ack(1, null), Settlement.release(2))),
        new Message.AwaitResult("held"),
        new Message.Size("q"),
        new Message.Ping(),
        new Message.Hello(Wire.VERSION, false, new byte[Wire.NONCE_BYTES], "impostor"),
        new Message.PutOk(1));
  }

  /**
   * Before AUTH, every frame is refused with NOT_AUTHENTICATED and the connection closed, and nothing changes: the
   * ready task stays ready, the leased one stays leased, no task is added.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("requestsBeforeAuthentication")
  void aRequestBeforeAuthenticationIsRefusedAndChangesNothing(Message request) throws Exception {
    try (Master master = keyedMaster(); RemoteBroker owner = goodClient(master)) {
      owner.put(List.of(task("held"), task("ready"))).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      List<Delivery> leased = owner.lease("q", 1, Duration.ZERO).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      assertThat(leased).singleElement().extracting(Delivery::taskId).isEqualTo("held");

      try (RawClient early = RawClient.connect(master.port())) {
        early.writePreface().readHello();
        String message = early.send(7, request).readError(ErrorCode.NOT_AUTHENTICATED);
        early.awaitClosedByPeer();
        assertThat(message).contains("authenticate first").contains(request.opcode().name());
      }

      assertThat(master.engine().size("q")).isEqualTo(1);
      assertThat(master.engine().stats().leased()).isEqualTo(1);
      assertThat(owner.settle(List.of(Settlement.ack(leased.get(0).leaseId(), null)))
          .get(TIMEOUT_SECONDS, TimeUnit.SECONDS)).containsExactly(io.taskmaster.broker.SettleStatus.OK);
    }
  }

  // -- wrong protocol version -----------------------------------------------------------------------------------

  @Test
  void aVersion2PrefaceIsRefusedNamingBothVersions() throws Exception {
    try (Master master = keyedMaster(); RawClient future = RawClient.connect(master.port())) {
      future.writePreface(2).readHello();

      String message = future.readError(ErrorCode.UNSUPPORTED_VERSION);
      future.awaitClosedByPeer();

      assertThat(message).contains("version 2").contains("version " + Wire.VERSION);
      assertServesGoodClients(master);
    }
  }

  // -- row 25: oversized frame after authentication -----------------------------------------------------------

  @Test
  void anOversizedFrameAfterAuthenticationIsRefusedFromItsLengthAndOthersAreUnaffected() throws Exception {
    int limit = 64 * 1024;
    try (Master master = Master.start(MasterSettings.of(0, KEY).withMaxFrameBytes(limit));
        RemoteBroker bystander = goodClient(master);
        RawClient big = RawClient.connect(master.port())) {
      big.authenticate(KEY);
      // Below the limit is fine, well above the 4 KiB pre-authentication cap.
      big.send(1, new Message.Put(List.of(new TaskMessage("large", "q", "t", Map.of(), new byte[60_000]))))
          .read(Message.PutOk.class);

      String message = big.writeLengthField(limit + 1).readError(ErrorCode.FRAME_TOO_LARGE);
      big.awaitClosedByPeer();

      assertThat(message).contains(String.valueOf(limit + 1)).contains("limit of " + limit + " bytes");
      bystander.ping().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      assertThat(bystander.size("q").get(TIMEOUT_SECONDS, TimeUnit.SECONDS)).isEqualTo(1);
    }
  }

  // -- row 23: slowloris ------------------------------------------------------------------------------------------

  /**
   * Connections that say nothing, dribble part of the preface, or stop after the preface are all closed with
   * HANDSHAKE_TIMEOUT; a client that authenticated in time is not affected by the timeout.
   */
  @Test
  void silentAndDribblingConnectionsAreClosedAfterTheHandshakeTimeout() throws Exception {
    try (Master master = Master.start(MasterSettings.of(0, KEY).withHandshakeTimeout(Duration.ofMillis(500)));
        RemoteBroker patient = goodClient(master)) {
      List<RawClient> slow = new ArrayList<>();
      try {
        for (int i = 0; i < 8; i++) {
          slow.add(RawClient.connect(master.port()));
        }
        slow.get(0).write(new byte[] {'T'});
        slow.get(1).write(RawClient.preface(Wire.VERSION));
        slow.get(2).write(RawClient.concat(RawClient.preface(Wire.VERSION), new byte[] {0, 0}));

        for (RawClient client : slow) {
          client.readHello();
          assertThat(client.readError(ErrorCode.HANDSHAKE_TIMEOUT)).contains("500 ms");
          client.awaitClosedByPeer();
        }
      } finally {
        for (RawClient client : slow) {
          client.close();
        }
      }

      patient.ping().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      assertServesGoodClients(master);
    }
  }

  @Test
  void unauthenticatedConnectionsHaveTheirOwnCapPerAddress() throws Exception {
    try (Master master = Master.start(MasterSettings.of(0, KEY).withMaxHandshakesPerAddress(4));
        RemoteBroker authenticated = goodClient(master)) {
      List<RawClient> pending = new ArrayList<>();
      try {
        for (int i = 0; i < 4; i++) {
          pending.add(RawClient.connect(master.port()));
          pending.get(i).readHello();
        }
        try (RawClient fifth = RawClient.connect(master.port())) {
          assertThat(fifth.readError(ErrorCode.TOO_MANY_CONNECTIONS))
              .contains("unauthenticated connections from 127.0.0.1").contains("limit 4");
          fifth.awaitClosedByPeer();
        }
        authenticated.ping().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      } finally {
        for (RawClient client : pending) {
          client.close();
        }
      }

      await().atMost(Duration.ofSeconds(TIMEOUT_SECONDS)).until(() -> master.openConnections() == 1);
      assertServesGoodClients(master);
    }
  }

  // -- row 22: connection flood ---------------------------------------------------------------------------------

  @Test
  void aConnectionFloodIsCappedAndEverythingIsReleasedAfterwards() throws Exception {
    int limit = 20;
    int flood = 50;
    // Handshakes may take every place here, so that the flood meets the connection limit, not theirs.
    try (Master master = Master.start(MasterSettings.of(0, KEY).withMaxConnections(limit)
        .withMaxUnauthenticated(limit))) {
      RemoteBroker inside = goodClient(master);
      long descriptorsBefore = openFileDescriptors(); // after the good client is connected
      List<RawClient> clients = new ArrayList<>();
      int admitted = 0;
      int refused = 0;
      try {
        for (int i = 0; i < flood; i++) {
          clients.add(RawClient.connect(master.port()));
        }
        for (RawClient client : clients) {
          Message first = client.readFrame().message();
          if (first instanceof Message.Error error) {
            assertThat(error.code()).isEqualTo(ErrorCode.TOO_MANY_CONNECTIONS);
            assertThat(error.message()).contains("limit of " + limit + " connections");
            client.awaitClosedByPeer();
            refused++;
          } else {
            assertThat(first).isInstanceOf(Message.Hello.class);
            admitted++;
          }
        }
        assertThat(admitted).isEqualTo(limit - 1);
        assertThat(refused).isEqualTo(flood - admitted);
        assertThat(master.openConnections()).isEqualTo(limit);
        inside.ping().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      } finally {
        for (RawClient client : clients) {
          client.close();
        }
        inside.close();
      }

      await().atMost(Duration.ofSeconds(TIMEOUT_SECONDS)).until(() -> master.openConnections() == 0);
      if (descriptorsBefore >= 0) {
        await("file descriptors released").atMost(Duration.ofSeconds(TIMEOUT_SECONDS))
            .until(() -> openFileDescriptors() <= descriptorsBefore + 5);
      }
      assertServesGoodClients(master);
    }
  }

  /** Open file descriptors of this JVM (which hosts the master), or -1 where /proc is not available. */
  private static long openFileDescriptors() throws IOException {
    Path fds = Path.of("/proc/self/fd");
    if (!Files.isDirectory(fds)) {
      return -1;
    }
    try (Stream<Path> list = Files.list(fds)) {
      return list.count();
    }
  }

  // -- row 21: a client that never reads ----------------------------------------------------------------------

  private static final int PING_FRAME_BYTES = 4 + Wire.FRAME_HEADER_BYTES;
  /** A PONG is as long as a PING: length 5, opcode, request id. */
  private static final byte[] PONG_HEADER = {0, 0, 0, Wire.FRAME_HEADER_BYTES, (byte) 0x95};

  /** 64 KiB of whole PING frames, so that the byte count written always tells how many frames were complete. */
  private static byte[] pings() {
    int count = 64 * 1024 / PING_FRAME_BYTES;
    byte[] chunk = new byte[count * PING_FRAME_BYTES];
    for (int i = 0; i < count; i++) {
      byte[] ping = RawClient.frame(new Envelope(i, new Message.Ping()));
      System.arraycopy(ping, 0, chunk, i * PING_FRAME_BYTES, PING_FRAME_BYTES);
    }
    return chunk;
  }

  /**
   * An authenticated client pipelines PINGs as fast as it can and never reads. Once its unread responses pass the
   * high water mark the master stops reading from it, so the client's writes stall long before the bounded loop
   * ends (without the backpressure the master would buffer every response). Meanwhile other clients are served,
   * and when the client finally reads, every complete request it sent has been answered: nothing was dropped.
   */
  @Test
  void aClientThatPipelinesAndNeverReadsIsStalledWhileOthersAreServed() throws Exception {
    long maxBytes = 512L * 1024 * 1024;
    try (Master master = keyedMaster(); RawClient greedy = RawClient.connectChannel(master.port())) {
      greedy.authenticate(KEY);
      SocketChannel channel = greedy.channel();
      channel.configureBlocking(false);
      byte[] chunk = pings();
      long written = 0;
      boolean stalled = false;
      try (Selector selector = Selector.open()) {
        SelectionKey key = channel.register(selector, SelectionKey.OP_WRITE);
        while (!stalled && written < maxBytes) {
          ByteBuffer buffer = ByteBuffer.wrap(chunk);
          while (buffer.hasRemaining()) {
            int n = channel.write(buffer);
            written += n;
            if (n == 0) {
              selector.selectedKeys().clear();
              // Not a timing assertion: only the end of the write loop. A master that went on reading would make
              // the socket writable again at once.
              if (selector.select(2_000) == 0) {
                stalled = true;
                break;
              }
            }
          }
        }
        assertThat(stalled).as("the master stopped reading after %d bytes of requests", written).isTrue();

        assertServesGoodClients(master);

        // Now read: every complete PING gets its PONG, in order.
        long expected = written / PING_FRAME_BYTES;
        key.interestOps(SelectionKey.OP_READ);
        ByteBuffer in = ByteBuffer.allocate(64 * 1024);
        long received = 0;
        while (received < expected) {
          selector.selectedKeys().clear();
          assertThat(selector.select(TimeUnit.SECONDS.toMillis(TIMEOUT_SECONDS)))
              .as("the master answers again after %d of %d responses", received, expected).isPositive();
          if (channel.read(in) < 0) {
            throw new AssertionError("the master closed the connection after " + received + " responses");
          }
          in.flip();
          while (in.remaining() >= PING_FRAME_BYTES) {
            for (byte b : PONG_HEADER) {
              if (in.get() != b) {
                throw new AssertionError("response " + received + " is not a PONG");
              }
            }
            int requestId = in.getInt();
            if (requestId != (int) (received % (chunk.length / PING_FRAME_BYTES))) {
              throw new AssertionError("response " + received + " answers request id " + requestId);
            }
            received++;
          }
          in.compact();
        }
        assertThat(received).isEqualTo(expected);
      }
    }
  }

  /** Before authentication the first frame already ends the connection, however much more the client pushes. */
  @Test
  void anUnauthenticatedClientThatFloodsAndNeverReadsIsClosed() throws Exception {
    try (Master master = keyedMaster(); RawClient greedy = RawClient.connectChannel(master.port())) {
      greedy.writePreface();
      SocketChannel channel = greedy.channel();
      channel.configureBlocking(false);
      byte[] chunk = pings();
      long written = 0;
      IOException closed = null;
      int idleWaits = 0;
      try (Selector selector = Selector.open()) {
        channel.register(selector, SelectionKey.OP_WRITE);
        while (closed == null && written < 64L * 1024 * 1024 && idleWaits < 10) {
          ByteBuffer buffer = ByteBuffer.wrap(chunk);
          try {
            while (buffer.hasRemaining() && idleWaits < 10) {
              int n = channel.write(buffer);
              written += n;
              if (n == 0) {
                selector.selectedKeys().clear();
                if (selector.select(1_000) == 0) {
                  idleWaits++;
                }
              }
            }
          } catch (IOException e) {
            closed = e;
          }
        }
      }
      assertThat(closed).as("the master closed the connection after %d bytes", written).isNotNull();
      await().atMost(Duration.ofSeconds(TIMEOUT_SECONDS)).until(() -> master.openConnections() == 0);
      assertServesGoodClients(master);
    }
  }
}
