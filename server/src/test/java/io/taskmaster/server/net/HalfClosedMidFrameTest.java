package io.taskmaster.server.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;
import static org.awaitility.Awaitility.await;

import io.taskmaster.broker.AuthKey;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.broker.DeadLetters;
import io.taskmaster.broker.Delivery;
import io.taskmaster.broker.SettleStatus;
import io.taskmaster.broker.Settlement;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.client.RemoteBroker;
import io.taskmaster.protocol.auth.Handshake;
import io.taskmaster.protocol.message.Envelope;
import io.taskmaster.protocol.message.Message;
import io.taskmaster.protocol.wire.Wire;
import io.taskmaster.server.engine.EngineSettings;
import io.taskmaster.server.master.Master;
import io.taskmaster.task.TaskError;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Clients that shut down their sending side (TCP half-close, {@code shutdownOutput}) in the middle of a frame, before
 * and after authentication and while holding leases (reliability-tests.md row 26). A half-close is the end of the
 * connection (docs/protocol.md, section 9): the frame can never be completed, so the master drops the part it
 * buffered, answers what it had read whole, and closes its side too. The connection then ends as any other does:
 * its handshake slot is free again, its leases go back to their queues as lost attempts for other workers, and its
 * waiting requests are dropped. Every buffer is tracked here ({@link EveryBufferTracked}), so a partial frame that
 * the master failed to release fails the class through the testkit's leak check.
 */
@ExtendWith(EveryBufferTracked.class)
class HalfClosedMidFrameTest {
  private static final AuthKey KEY = AuthKey.of("half-closed-mid-frame-test-key-0123456789");
  private static final long TIMEOUT_SECONDS = 15;

  private static RemoteBroker goodClient(Master master) {
    return RemoteBroker.connect("127.0.0.1", master.port(), BrokerOptions.withKey(KEY));
  }

  private static TaskMessage task(String id, String queue, byte[] payload) {
    return new TaskMessage(id, queue, "t", Map.of(), payload);
  }

  /** The first {@code length} bytes, as sent by a client that stops there. */
  private static byte[] cut(byte[] bytes, int length) {
    return Arrays.copyOf(bytes, length);
  }

  /** Sends {@code bytes}, shuts the sending side down and checks that the master closes the connection. */
  private static void halfCloseAfter(RawClient client, byte[] bytes) throws Exception {
    client.write(bytes);
    client.channel().shutdownOutput();
    client.awaitClosedByPeer();
  }

  private static void awaitOpenConnections(Master master, int expected) {
    await("open connections").atMost(Duration.ofSeconds(TIMEOUT_SECONDS))
        .until(() -> master.openConnections() == expected);
  }

  /**
   * Cut anywhere in the preface or in the AUTH frame, the handshake ends without a verdict and frees its place: with
   * one handshake allowed per address, each next connection, and a client with the key at the end, still gets in.
   */
  @Test
  void aHandshakeCutAnywhereEndsTheConnectionAndFreesItsPlace() throws Exception {
    try (Master master = Master.start(MasterSettings.of(0, KEY).withMaxHandshakesPerAddress(1))) {
      int auth = Wire.PREFACE_BYTES;
      int authBody = auth + 4 + Wire.FRAME_HEADER_BYTES;
      // mid-magic, the preface alone, mid-length, the length alone, the frame header, half and all but one byte of
      // the 64-byte AUTH body
      for (int length : new int[] {3, auth, auth + 2, auth + 4, authBody, authBody + 32, authBody + 63}) {
        try (RawClient client = RawClient.connectChannel(master.port())) {
          Message.Hello hello = client.readHello();
          byte[] clientNonce = Handshake.nonce(Wire.NONCE_BYTES);
          byte[] handshake = RawClient.concat(RawClient.preface(Wire.VERSION), RawClient.frame(new Envelope(0,
              new Message.Auth(clientNonce, Handshake.clientProof(KEY, hello.serverNonce(), clientNonce)))));

          halfCloseAfter(client, cut(handshake, length));
        }
        awaitOpenConnections(master, 0);
      }

      try (RemoteBroker client = goodClient(master)) {
        client.ping().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      }
    }
  }

  /**
   * After authentication, a PUT of a 256 KiB task cut anywhere (in its length field, after its header, halfway, one
   * byte short) stores nothing, and the buffered part is released. A PING sent whole before the cut is answered
   * before the master closes.
   */
  @Test
  void aFrameCutAfterAuthenticationIsDroppedAndWholeRequestsBeforeItAreAnswered() throws Exception {
    try (Master master = Master.start(MasterSettings.of(0, KEY))) {
      byte[] put = RawClient.frame(new Envelope(2, new Message.Put(List.of(task("cut", "q", new byte[256 * 1024])))));
      for (int length : new int[] {2, 4, 4 + Wire.FRAME_HEADER_BYTES, put.length / 2, put.length - 1}) {
        try (RawClient client = RawClient.connectChannel(master.port())) {
          client.authenticate(KEY);

          halfCloseAfter(client, cut(put, length));
        }
        awaitOpenConnections(master, 0);
      }

      byte[] ping = RawClient.frame(new Envelope(1, new Message.Ping()));
      try (RawClient client = RawClient.connectChannel(master.port())) {
        client.authenticate(KEY);
        client.write(RawClient.concat(ping, cut(put, put.length / 2)));
        client.channel().shutdownOutput();
        Envelope pong = client.readFrame();
        assertThat(pong.requestId()).isEqualTo(1);
        assertThat(pong.message()).isInstanceOf(Message.Pong.class);
        client.awaitClosedByPeer();
      }
      awaitOpenConnections(master, 0);
      assertThat(master.engine().size("q")).as("tasks stored by cut PUTs").isZero();
      assertThat(master.engine().stats().heldBytes()).isZero();
    }
  }

  /**
   * A worker holds three leases, waits for a lease on another queue and for a result, then half-closes in the middle
   * of the SETTLE that would have acknowledged its tasks. The settlement does not happen; the three tasks go back to
   * the head of their queue, in delivery order, as lost attempts (attempt 2, WorkerLost naming the worker); another
   * worker leases and settles them; and the waiting lease no longer takes tasks put on its queue. Tasks have two
   * attempts here, so that the one the other worker fails shows both errors in its dead letter at once.
   */
  @Test
  void aWorkerHalfClosedMidFrameGivesItsLeasesBackForOtherWorkers() throws Exception {
    try (Master master = Master.start(MasterSettings.of(0, KEY), EngineSettings.defaults().withMaxAttempts(2));
        RemoteBroker producer = goodClient(master)) {
      byte[] payload = "{}".getBytes(StandardCharsets.UTF_8);
      producer.put(List.of(task("t1", "work", payload), task("t2", "work", payload), task("t3", "work", payload),
          task("awaited", "elsewhere", payload))).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);

      try (RawClient worker = RawClient.connectChannel(master.port())) {
        worker.authenticate(KEY);
        worker.send(1, new Message.Name("half-closer")).read(Message.Named.class);
        List<Delivery> held = worker.send(2, new Message.Lease("work", 3, 0)).read(Message.Leased.class)
            .deliveries();
        assertThat(held).extracting(Delivery::taskId).containsExactly("t1", "t2", "t3");
        worker.send(3, new Message.Lease("idle", 1, 60_000)).send(4, new Message.AwaitResult("awaited"));
        worker.send(5, new Message.Ping()).read(Message.Pong.class); // the two waits are registered
        assertThat(master.engine().stats().leased()).isEqualTo(3);
        assertThat(master.engine().stats().waitingConsumers()).isEqualTo(1);

        byte[] settle = RawClient.frame(new Envelope(6, new Message.Settle(held.stream()
            .map(delivery -> Settlement.ack(delivery.leaseId(), payload)).toList())));
        halfCloseAfter(worker, cut(settle, settle.length - 5));
      }

      awaitOpenConnections(master, 1);
      assertThat(master.engine().stats().leased()).isZero();
      assertThat(master.engine().stats().waitingConsumers()).isZero();
      try (RemoteBroker other = goodClient(master)) {
        List<Delivery> again = other.lease("work", 10, Duration.ZERO).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        assertThat(again).extracting(Delivery::taskId).containsExactly("t1", "t2", "t3");
        assertThat(again).extracting(Delivery::attempt).containsOnly(2);
        assertThat(other.settle(List.of(Settlement.fail(again.get(0).leaseId(), TaskError.of("E", "m", "other")),
            Settlement.ack(again.get(1).leaseId(), payload), Settlement.ack(again.get(2).leaseId(), payload)))
            .get(TIMEOUT_SECONDS, TimeUnit.SECONDS)).containsOnly(SettleStatus.OK);

        producer.put(List.of(task("late", "idle", payload))).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        assertThat(other.lease("idle", 1, Duration.ZERO).get(TIMEOUT_SECONDS, TimeUnit.SECONDS))
            .extracting(Delivery::taskId).containsExactly("late");
      }
      assertThat(producer.result("t2").get(TIMEOUT_SECONDS, TimeUnit.SECONDS).succeeded()).isTrue();
      DeadLetters dead = producer.deadLetters("work", 0, 10).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      assertThat(dead.page()).singleElement().satisfies(letter -> {
        assertThat(letter.task().id()).isEqualTo("t1");
        assertThat(letter.attempts()).extracting(TaskError::type, TaskError::workerId)
            .containsExactly(tuple("io.taskmaster.WorkerLost", "half-closer"), tuple("E", "other"));
      });
    }
  }
}
