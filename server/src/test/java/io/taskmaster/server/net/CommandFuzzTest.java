package io.taskmaster.server.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.taskmaster.broker.AuthKey;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.broker.DeadLetters;
import io.taskmaster.broker.Delivery;
import io.taskmaster.broker.SettleStatus;
import io.taskmaster.broker.Settlement;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.broker.TaskResult;
import io.taskmaster.client.RemoteBroker;
import io.taskmaster.protocol.message.Envelope;
import io.taskmaster.protocol.message.ErrorCode;
import io.taskmaster.protocol.message.Message;
import io.taskmaster.protocol.message.Opcode;
import io.taskmaster.protocol.wire.MessageCodec;
import io.taskmaster.protocol.wire.ProtocolException;
import io.taskmaster.protocol.wire.Wire;
import io.taskmaster.server.engine.EngineSettings;
import io.taskmaster.server.engine.EngineStats;
import io.taskmaster.server.master.Master;
import java.io.EOFException;
import java.io.IOException;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Fuzzing of the command handlers of an authenticated master over a real socket (reliability-tests.md row 26): every
 * input is a well-framed frame (an honest length) with any opcode and a random, valid-looking or damaged body, sent
 * by one of two authenticated clients. Whatever the body, the master must answer the request with its response or
 * with a declared, non-fatal ERROR and go on, or answer with a fatal ERROR and close the connection; it must never
 * answer INTERNAL, close without an ERROR, answer a request twice or with another request's response, or crash.
 * What it must answer is known in advance: the production decoder says whether the frame is malformed
 * (MALFORMED_FRAME), refused for a value (INVALID_ARGUMENT, the connection stays), or a message a client may not send
 * (UNKNOWN_OPCODE); a request that does not wait (all but LEASE and AWAIT_RESULT) is answered before the PING that
 * follows it; a SETTLE, EXTEND or PROGRESS finds exactly the leases its connection was handed and has not settled,
 * whatever lease ids it names (its own, the other client's, ones lost with an earlier connection, made up).
 *
 * <p>Meanwhile a well-behaved client on another connection puts, leases, acknowledges and awaits its own tasks in a
 * loop and must never fail. Afterwards the master's state must be consistent: no lease or waiting lease is left
 * from the fuzzer's closed connections, every ready task of the fuzzed queues can be leased and acknowledged, their
 * dead letters can be retried, and a put, lease, settle and result round trip works. Every Netty buffer is tracked
 * ({@link EveryBufferTracked}), so a buffer leaked on any path the inputs took fails the class.
 *
 * <p>Inputs are drawn from a fixed seed, so a run can be replayed; {@code -Dtaskmaster.fuzz.seed=<seed>} draws
 * others. The master's side is not deterministic (the bystander's requests interleave), but the inputs are.
 * Inputs run {@value #BATCH} at a time under a wall-clock guard of {@value #BATCH} s, as in DecoderFuzzTest: on
 * average no input may take more than 1 s, a stall of the machine spreads over the batch, and a hang fails within
 * {@value #BATCH} s. An input takes a few milliseconds (with a reconnect and handshake after a fatal one).
 */
@ExtendWith(EveryBufferTracked.class)
class CommandFuzzTest {
  private static final AuthKey KEY = AuthKey.of("command-fuzz-test-key-0123456789abcdef");
  private static final long SEED = Long.getLong("taskmaster.fuzz.seed", 0x7A5C_3A57_E2L);
  private static final int BATCH = 10;
  private static final long TIMEOUT_SECONDS = 15;
  /** Large enough that a LEASED carries many tasks (the master keeps 64 KiB of each frame for overhead). */
  private static final int MAX_FRAME = 256 * 1024;
  /** Low, so that waiting requests and SUBMITs of several tasks reach it and are refused with BUSY. */
  private static final int MAX_PENDING = 2;
  private static final String BYSTANDER_QUEUE = "bystander";
  /** The frames a master pushes with request id 0, answering no request. */
  private static final Set<Opcode> PUSHES = EnumSet.of(Opcode.RESULT, Opcode.PROGRESS_UPDATE, Opcode.STOP_TASK);
  private static final Map<Opcode, Opcode> RESPONSES = Map.ofEntries(Map.entry(Opcode.PUT, Opcode.PUT_OK),
      Map.entry(Opcode.SUBMIT, Opcode.PUT_OK), Map.entry(Opcode.LEASE, Opcode.LEASED),
      Map.entry(Opcode.SETTLE, Opcode.SETTLED), Map.entry(Opcode.EXTEND, Opcode.EXTENDED),
      Map.entry(Opcode.PROGRESS, Opcode.PROGRESSED), Map.entry(Opcode.AWAIT_RESULT, Opcode.RESULT),
      Map.entry(Opcode.SIZE, Opcode.SIZE_OK), Map.entry(Opcode.PING, Opcode.PONG),
      Map.entry(Opcode.DEAD_LIST, Opcode.DEAD_LISTED), Map.entry(Opcode.DEAD_RETRY, Opcode.DEAD_RETRIED),
      Map.entry(Opcode.DEAD_PURGE, Opcode.DEAD_PURGED), Map.entry(Opcode.CANCEL, Opcode.CANCELLED),
      Map.entry(Opcode.NAME, Opcode.NAMED));
  private static final List<Opcode> REQUESTS = RESPONSES.keySet().stream().sorted().toList();

  private Master master;
  private Bystander bystander;
  private final List<Throwable> uncaught = new ArrayList<>();
  private Thread.UncaughtExceptionHandler previousHandler;
  private Set<Thread> masterThreads;

  @BeforeEach
  void startMasterAndBystander() {
    previousHandler = Thread.getDefaultUncaughtExceptionHandler();
    Thread.setDefaultUncaughtExceptionHandler((thread, error) -> {
      synchronized (uncaught) {
        uncaught.add(error);
      }
    });
    // A retry backoff of an hour keeps failed tasks out of their queues until the end, so that the final count of
    // ready tasks cannot change under the check; no lease expires while a test runs, so that a connection holds
    // exactly the leases it was handed and has not settled; a short cap on lease waits answers waiting leases
    // quickly.
    master = Master.start(MasterSettings.of(0, KEY).withMaxFrameBytes(MAX_FRAME)
            .withMaxPendingPerConnection(MAX_PENDING).withMaxLeaseWait(Duration.ofMillis(200)),
        EngineSettings.defaults().withRetryBackoff(Duration.ofHours(1), Duration.ofHours(1))
            .withVisibilityTimeout(Duration.ofHours(1)));
    bystander = new Bystander(master);
    await("the bystander's first round").atMost(Duration.ofSeconds(TIMEOUT_SECONDS))
        .until(() -> bystander.rounds.get() > 0 || bystander.failure.get() != null);
    masterThreads = Thread.getAllStackTraces().keySet().stream()
        .filter(thread -> thread.getName().startsWith("taskmaster-io")
            || thread.getName().startsWith("taskmaster-accept"))
        .collect(Collectors.toSet());
  }

  @AfterEach
  void stop() throws Exception {
    try {
      if (bystander != null) {
        bystander.close();
      }
      if (master != null) {
        master.close();
      }
    } finally {
      Thread.setDefaultUncaughtExceptionHandler(previousHandler);
    }
  }

  // -- the fuzz targets ---------------------------------------------------------------------------------------

  /** Random bodies behind request opcodes, the other opcodes and bytes that are no opcode: mostly fatal. */
  @Test
  void randomBodiesBehindEveryOpcode() throws Exception {
    Outcomes outcomes = fuzz("randomBodiesBehindEveryOpcode", 800, bodies -> {
      SplittableRandom random = bodies.random();
      int choice = random.nextInt(10);
      int opcode = choice < 5 ? REQUESTS.get(random.nextInt(REQUESTS.size())).code()
          : choice < 8 ? Opcode.values()[random.nextInt(Opcode.values().length)].code() : random.nextInt(256);
      return new Input(opcode, bodies.randomBytes());
    });

    assertThat(outcomes.fatal).containsKeys(ErrorCode.MALFORMED_FRAME, ErrorCode.UNKNOWN_OPCODE);
  }

  /** Well-formed bodies of every opcode whose values are often wrong: mostly answered, the connection kept. */
  @Test
  void validLookingRequestsWithWrongValues() throws Exception {
    Outcomes outcomes = fuzz("validLookingRequestsWithWrongValues", 2500, bodies -> {
      SplittableRandom random = bodies.random();
      Opcode opcode = random.nextInt(20) > 0 ? REQUESTS.get(random.nextInt(REQUESTS.size()))
          : Opcode.values()[random.nextInt(Opcode.values().length)];
      return new Input(opcode.code(), bodies.validLooking(opcode));
    });

    assertThat(outcomes.answered).as("answered requests by opcode").containsKeys(REQUESTS.toArray(Opcode[]::new));
    assertThat(outcomes.refused).containsKeys(ErrorCode.INVALID_ARGUMENT, ErrorCode.UNKNOWN_TASK,
        ErrorCode.DUPLICATE_TASK_ID, ErrorCode.BUSY);
    assertThat(outcomes.leases).as("leases the fuzzer was handed").isPositive();
  }

  /** The same bodies with a few bytes flipped, overwritten, inserted, deleted or cut off. */
  @Test
  void mutatedRequests() throws Exception {
    Outcomes outcomes = fuzz("mutatedRequests", 1200, bodies -> {
      Opcode opcode = REQUESTS.get(bodies.random().nextInt(REQUESTS.size()));
      return new Input(opcode.code(), bodies.mutated(opcode));
    });

    assertThat(outcomes.fatal).containsKey(ErrorCode.MALFORMED_FRAME);
    assertThat(outcomes.answered).isNotEmpty();
  }

  // -- the harness ----------------------------------------------------------------------------------------------

  /** One frame to send: an opcode byte and a body. */
  private record Input(int opcode, byte[] body) {
    @Override
    public String toString() {
      StringBuilder hex = new StringBuilder();
      for (int i = 0; i < Math.min(body.length, 256); i++) {
        hex.append(String.format("%02x", body[i]));
      }
      return "opcode 0x" + Integer.toHexString(opcode) + ", body " + hex + (body.length > 256 ? "... (" + body.length
          + " bytes)" : "");
    }
  }

  /** What the inputs of one test led to, so that each test can check it reached what it aimed at. */
  private static final class Outcomes {
    final Map<Opcode, Integer> answered = new HashMap<>();
    final Map<ErrorCode, Integer> refused = new HashMap<>();
    final Map<ErrorCode, Integer> fatal = new HashMap<>();
    int leases;
    int connections;
  }

  /**
   * Sends {@code count} inputs from {@code inputs}, each on one of two connections (so that each meets the other's
   * leases) and checked by {@link FuzzConnection#exchange}, then checks that the bystander never failed, that no
   * master thread died and that the master's state is consistent.
   */
  private Outcomes fuzz(String test, int count, Function<RequestBodies, Input> inputs) throws Exception {
    RequestBodies bodies = new RequestBodies(new SplittableRandom(SEED ^ test.hashCode()));
    Outcomes outcomes = new Outcomes();
    AtomicInteger index = new AtomicInteger();
    AtomicReference<Input> current = new AtomicReference<>();
    try (FuzzConnection one = new FuzzConnection(master.port(), bodies, outcomes);
        FuzzConnection other = new FuzzConnection(master.port(), bodies, outcomes)) {
      for (int first = 0; first < count; first += BATCH) {
        int from = first;
        int end = Math.min(count, first + BATCH);
        assertTimeoutPreemptively(Duration.ofSeconds(BATCH), () -> {
          for (int i = index.get(); i < end; i = index.incrementAndGet()) {
            FuzzConnection connection = bodies.random().nextBoolean() ? one : other;
            Input input = inputs.apply(bodies);
            current.set(input);
            try {
              connection.exchange(input);
            } catch (Exception | AssertionError e) {
              throw new AssertionError(test + ": input " + i + " (seed " + SEED + "): " + input, e);
            }
          }
        }, () -> test + ": inputs " + from + " to " + (end - 1) + " took more than " + BATCH + " s; input "
            + index.get() + " was running (seed " + SEED + "): " + current.get());
      }
    }
    assertMasterStillWhole(outcomes);
    return outcomes;
  }

  private void assertMasterStillWhole(Outcomes outcomes) throws Exception {
    bystander.close();
    assertThat(bystander.failure.get()).as("the bystander's failure").isNull();
    assertThat(bystander.rounds.get()).as("the bystander's round trips").isPositive();
    // Every connection is closed now, and what they held is given back (just after the count of connections drops).
    await("connections closed, leases and waits given back").atMost(Duration.ofSeconds(TIMEOUT_SECONDS))
        .untilAsserted(() -> {
          assertThat(master.openConnections()).isZero();
          EngineStats stats = master.engine().stats();
          assertThat(stats.leased()).as("leases left behind").isZero();
          assertThat(stats.waitingConsumers()).as("waiting leases left behind").isZero();
        });
    synchronized (uncaught) {
      assertThat(uncaught).as("exceptions that ended a thread").isEmpty();
    }
    assertThat(masterThreads).as("the master's event loop threads").isNotEmpty().allMatch(Thread::isAlive);

    try (RemoteBroker client = RemoteBroker.connect("127.0.0.1", master.port(), BrokerOptions.withKey(KEY))) {
      for (String queue : RequestBodies.QUEUES) {
        drain(client, queue);
        DeadLetters dead = client.deadLetters(queue, 0, 1000).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        assertThat(dead.page()).hasSize((int) Math.min(dead.total(), 1000));
        long retried = client.retryDeadLetters(queue, List.of()).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        assertThat(retried).isBetween(0L, dead.total());
        assertThat(drain(client, queue)).as("dead letters put back in %s", queue).isEqualTo(retried);
        client.purgeDeadLetters(queue).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      }
      byte[] payload = "{}".getBytes(StandardCharsets.UTF_8);
      client.put(List.of(new TaskMessage("final", "final", "t", Map.of(), payload)))
          .get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      Delivery delivery = client.lease("final", 1, Duration.ofSeconds(5)).get(TIMEOUT_SECONDS, TimeUnit.SECONDS)
          .get(0);
      assertThat(client.settle(List.of(Settlement.ack(delivery.leaseId(), payload)))
          .get(TIMEOUT_SECONDS, TimeUnit.SECONDS)).containsExactly(SettleStatus.OK);
      assertThat(client.result("final").get(TIMEOUT_SECONDS, TimeUnit.SECONDS).value()).isEqualTo(payload);
    }
    assertThat(master.engine().stats().leased()).isZero();
    assertThat(outcomes.connections).as("connections the fuzzer opened").isPositive();
  }

  /**
   * Leases every ready task of {@code queue} and acknowledges it; checks that as many came as SIZE counted and that
   * each settlement is OK. Returns how many.
   */
  private static long drain(RemoteBroker client, String queue) throws Exception {
    long size = client.size(queue).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    long drained = 0;
    while (true) {
      List<Delivery> batch = client.lease(queue, 10_000, Duration.ZERO).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      if (batch.isEmpty()) {
        break;
      }
      drained += batch.size();
      List<Settlement> acks = batch.stream().map(delivery -> Settlement.ack(delivery.leaseId(), null)).toList();
      assertThat(client.settle(acks).get(TIMEOUT_SECONDS, TimeUnit.SECONDS)).containsOnly(SettleStatus.OK);
    }
    assertThat(drained).as("tasks leased from %s, which held %d ready", queue, size).isEqualTo(size);
    assertThat(client.size(queue).get(TIMEOUT_SECONDS, TimeUnit.SECONDS)).isZero();
    return drained;
  }

  /**
   * The fuzzer's connection: sends each input followed by a PING in one write, reads until the PONG (or the close),
   * and checks every frame the master sent meanwhile against what the input must lead to. After a fatal error it
   * reconnects for the next input.
   */
  private static final class FuzzConnection implements AutoCloseable {
    private final int port;
    private final RequestBodies bodies;
    private final Outcomes outcomes;
    /**
     * Requests sent on this connection and not answered yet, by request id: the request as the master decoded it, or
     * null for one its decoder refused for a value (which only an ERROR may answer).
     */
    private final Map<Integer, Message> outstanding = new HashMap<>();
    /**
     * The leases this connection holds: handed to it and not yet ended by a settlement. No lease expires in these
     * tests, so a SETTLE, EXTEND or PROGRESS must find exactly these (fencing, docs/protocol.md section 6).
     */
    private final Set<Long> held = new HashSet<>();
    private RawClient client;
    private int nextId;

    FuzzConnection(int port, RequestBodies bodies, Outcomes outcomes) {
      this.port = port;
      this.bodies = bodies;
      this.outcomes = outcomes;
    }

    /** What the master must do with an input, from the production decoder and the table of requests. */
    private record Expected(ErrorCode fatal, ErrorCode refused, Message request) {
      boolean answered() {
        return request != null && request.opcode() != Opcode.LEASE && request.opcode() != Opcode.AWAIT_RESULT;
      }
    }

    private static Expected expect(Input input) {
      Opcode opcode = Opcode.of(input.opcode());
      if (opcode == null) {
        return new Expected(ErrorCode.UNKNOWN_OPCODE, null, null);
      }
      ByteBuf body = Unpooled.wrappedBuffer(input.body());
      Message message;
      try {
        message = MessageCodec.decode(opcode, body);
      } catch (IndexOutOfBoundsException e) {
        return new Expected(ErrorCode.MALFORMED_FRAME, null, null);
      } catch (ProtocolException e) {
        return e.code().fatal() ? new Expected(e.code(), null, null) : new Expected(null, e.code(), null);
      } finally {
        body.release();
      }
      return RESPONSES.containsKey(opcode) ? new Expected(null, null, message)
          : new Expected(ErrorCode.UNKNOWN_OPCODE, null, null);
    }

    void exchange(Input input) throws IOException {
      if (client == null) {
        client = RawClient.connect(port);
        client.authenticate(KEY);
        outstanding.clear();
        held.clear(); // given back when the last connection closed
        outcomes.connections++;
      }
      Expected expected = expect(input);
      int id = ++nextId;
      int pingId = ++nextId;
      if (expected.fatal() == null) {
        outstanding.put(id, expected.request());
      }
      client.write(RawClient.concat(frame(input.opcode(), id, input.body()),
          RawClient.frame(new Envelope(pingId, new Message.Ping()))));
      Message.Error fatal = null;
      while (true) {
        Envelope envelope = readOrClose();
        if (envelope == null) {
          assertThat(fatal).as("the master closed the connection without a fatal ERROR").isNotNull();
          client.close();
          client = null;
          return;
        }
        int requestId = envelope.requestId();
        Message message = envelope.message();
        if (message instanceof Message.Error error) {
          assertThat(error.code()).as("an ERROR from the master: %s", error.message()).isNotEqualTo(ErrorCode.INTERNAL);
          assertThat(error.message()).isNotBlank();
          if (error.code().fatal()) {
            assertThat(fatal).as("a second fatal ERROR: %s", error).isNull();
            assertThat(error.code()).as("the fatal ERROR: %s", error.message()).isEqualTo(expected.fatal());
            assertThat(requestId).isIn(0, id);
            fatal = error;
            outcomes.fatal.merge(error.code(), 1, Integer::sum);
            continue;
          }
          assertThat(outstanding).as("the request answered by %s", error).containsKey(requestId);
          outstanding.remove(requestId);
          if (requestId == id && expected.refused() != null) {
            assertThat(error.code()).isEqualTo(expected.refused());
          }
          outcomes.refused.merge(error.code(), 1, Integer::sum);
          continue;
        }
        if (requestId == pingId && message instanceof Message.Pong) {
          assertThat(expected.fatal()).as("the master answered the PING, expected %s", expected.fatal()).isNull();
          if (expected.answered() || expected.refused() != null) {
            assertThat(outstanding).as("the request, answered before the PING that followed it")
                .doesNotContainKey(id);
          }
          return;
        }
        assertThat(fatal).as("%s after the fatal %s", message, fatal).isNull();
        if (requestId == 0) {
          assertThat(message.opcode()).as("a frame pushed with request id 0").isIn(PUSHES);
          continue;
        }
        answered(requestId, message);
      }
    }

    /** A response: to a request still waiting for it, of that request's kind. */
    private void answered(int requestId, Message message) {
      assertThat(outstanding).as("the request %d answered by %s", requestId, message).containsKey(requestId);
      Message request = outstanding.remove(requestId);
      assertThat(request).as("a request refused by the decoder, answered by %s", message).isNotNull();
      assertThat(message.opcode()).as("the response to %s", request.opcode())
          .isEqualTo(RESPONSES.get(request.opcode()));
      outcomes.answered.merge(request.opcode(), 1, Integer::sum);
      if (message instanceof Message.Leased leased) {
        assertThat(leased.deliveries()).hasSizeLessThanOrEqualTo(((Message.Lease) request).max());
        for (Delivery delivery : leased.deliveries()) {
          assertThat(held.add(delivery.leaseId())).as("lease %d handed out twice", delivery.leaseId()).isTrue();
          bodies.leased(delivery.leaseId());
        }
        outcomes.leases += leased.deliveries().size();
      } else if (message instanceof Message.Settled settled) {
        List<Settlement> settlements = ((Message.Settle) request).settlements();
        assertThat(settled.statuses()).hasSameSizeAs(settlements);
        for (int i = 0; i < settlements.size(); i++) {
          long leaseId = settlements.get(i).leaseId();
          assertThat(settled.statuses().get(i)).as("settling lease %d, %s by this connection", leaseId,
              held.contains(leaseId) ? "held" : "not held").isEqualTo(status(held.remove(leaseId)));
        }
      } else if (message instanceof Message.Extended extended) {
        List<Long> leaseIds = ((Message.Extend) request).leaseIds();
        assertThat(extended.statuses()).hasSameSizeAs(leaseIds);
        for (int i = 0; i < leaseIds.size(); i++) {
          assertThat(extended.statuses().get(i)).as("extending lease %d", leaseIds.get(i))
              .isEqualTo(status(held.contains(leaseIds.get(i))));
        }
      } else if (message instanceof Message.Progressed progressed) {
        long leaseId = ((Message.Progress) request).leaseId();
        assertThat(progressed.status()).as("progress on lease %d", leaseId).isEqualTo(status(held.contains(leaseId)));
      } else if (message instanceof Message.DeadListed listed) {
        Message.DeadList list = (Message.DeadList) request;
        assertThat(listed.deadLetters().page()).hasSizeLessThanOrEqualTo(Math.min(list.limit(), 1000));
        assertThat(listed.deadLetters().total()).isGreaterThanOrEqualTo(listed.deadLetters().page().size());
      } else if (message instanceof Message.SizeOk size) {
        assertThat(size.size()).isNotNegative();
      } else if (message instanceof Message.PutOk ok) {
        List<TaskMessage> tasks = request instanceof Message.Put put ? put.tasks() : ((Message.Submit) request).tasks();
        assertThat(ok.count()).isEqualTo(tasks.size());
        tasks.forEach(task -> bodies.put(task.id()));
      }
    }

    private static SettleStatus status(boolean held) {
      return held ? SettleStatus.OK : SettleStatus.UNKNOWN_LEASE;
    }

    /** The next frame, or null once the master has closed the connection. */
    private Envelope readOrClose() throws IOException {
      try {
        return client.readFrame();
      } catch (EOFException | SocketException e) {
        return null;
      }
    }

    /** A frame with an honest length around any opcode byte and body. */
    private static byte[] frame(int opcode, int requestId, byte[] body) {
      int length = Wire.FRAME_HEADER_BYTES + body.length;
      return ByteBuffer.allocate(4 + length).putInt(length).put((byte) opcode).putInt(requestId).put(body).array();
    }

    @Override
    public void close() throws IOException {
      if (client != null) {
        client.close();
      }
    }
  }

  /**
   * A well-behaved client on its own connection, in a loop until closed: puts a task, leases it, acknowledges it and
   * awaits its result, checking each answer. Its first failure is kept for the test to report.
   */
  private static final class Bystander implements AutoCloseable {
    final AtomicInteger rounds = new AtomicInteger();
    final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final AtomicBoolean stop = new AtomicBoolean();
    private final RemoteBroker client;
    private final Thread thread;

    Bystander(Master master) {
      client = RemoteBroker.connect("127.0.0.1", master.port(), BrokerOptions.withKey(KEY));
      thread = new Thread(this::run, "command-fuzz-bystander");
      thread.setDaemon(true);
      thread.start();
    }

    private void run() {
      try {
        while (!stop.get()) {
          String id = "b-" + rounds.get();
          byte[] payload = id.getBytes(StandardCharsets.UTF_8);
          client.put(List.of(new TaskMessage(id, BYSTANDER_QUEUE, "t", Map.of(), payload)))
              .get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
          List<Delivery> leased = client.lease(BYSTANDER_QUEUE, 1, Duration.ofSeconds(5))
              .get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
          assertThat(leased).extracting(Delivery::taskId).containsExactly(id);
          assertThat(client.settle(List.of(Settlement.ack(leased.get(0).leaseId(), payload)))
              .get(TIMEOUT_SECONDS, TimeUnit.SECONDS)).containsExactly(SettleStatus.OK);
          TaskResult result = client.result(id).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
          assertThat(result.succeeded()).isTrue();
          assertThat(result.value()).isEqualTo(payload);
          rounds.incrementAndGet();
        }
      } catch (Throwable e) {
        failure.compareAndSet(null, e);
      }
    }

    @Override
    public void close() throws InterruptedException {
      if (!stop.getAndSet(true)) {
        thread.join(TimeUnit.SECONDS.toMillis(TIMEOUT_SECONDS));
        client.close();
      }
    }
  }
}
