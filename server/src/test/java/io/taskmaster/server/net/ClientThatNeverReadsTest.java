package io.taskmaster.server.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import io.taskmaster.broker.AuthKey;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.broker.Delivery;
import io.taskmaster.broker.Settlement;
import io.taskmaster.broker.Submission;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.broker.TaskResult;
import io.taskmaster.client.RemoteBroker;
import io.taskmaster.protocol.message.Envelope;
import io.taskmaster.protocol.message.Message;
import io.taskmaster.server.engine.EngineSettings;
import io.taskmaster.server.engine.QueueEngine;
import io.taskmaster.testkit.logs.LogCapture;
import io.taskmaster.time.Ticker;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Reliability row 21: a client that never reads. Reading from a connection stops at the write buffer's high water
 * mark, which bounds the answers to its own requests; but the frames pushed to it from other threads (the RESULTs of
 * the tasks it SUBMITted, the answers to its waiting leases) went into its output buffer without any bound, so a
 * producer that submitted many tasks and never read had the master buffer every result. Now a connection whose output
 * buffer passes {@code maxOutputBufferBytes} is closed, as on any disconnect. The buffer's size is read from what the
 * master measures ({@link MasterServer#largestOutputBuffer()}), never inferred from timing.
 */
class ClientThatNeverReadsTest {
  private static final AuthKey KEY = AuthKey.of("client-that-never-reads-test-key-5b71");
  private static final long TIMEOUT_SECONDS = 15;
  private static final int MAX_FRAME = 256 * 1024;
  /** Small, so that a few results pass it; the least the settings allow is two frames. */
  private static final long LIMIT = 1024 * 1024;
  /** A result of 200 KiB: a few dozen fill the kernel's socket buffers and then the limit. */
  private static final byte[] BIG_RESULT = bigResult(200 * 1024);
  /** Tasks the producer that never reads submits: 40 MiB of results, far more than buffers on the way hold. */
  private static final int GREEDY_TASKS = 200;

  @RegisterExtension
  final LogCapture logs = LogCapture.of(OutputLimit.class, Level.WARN);
  private final List<AutoCloseable> closeAfter = new ArrayList<>();

  @AfterEach
  void cleanUp() throws Exception {
    for (int i = closeAfter.size() - 1; i >= 0; i--) {
      closeAfter.get(i).close();
    }
  }

  private MasterServer start(MasterSettings settings) {
    QueueEngine engine = new QueueEngine(EngineSettings.defaults(), Ticker.system());
    MasterServer server = new MasterServer(settings, engine).start();
    closeAfter.add(server);
    return server;
  }

  private RemoteBroker client(MasterServer server) {
    RemoteBroker client = RemoteBroker.connect("127.0.0.1", server.port(), BrokerOptions.withKey(KEY));
    closeAfter.add(client);
    return client;
  }

  private static byte[] bigResult(int bytes) {
    byte[] json = new byte[bytes];
    Arrays.fill(json, (byte) 'x');
    json[0] = '"';
    json[bytes - 1] = '"';
    return json;
  }

  private static TaskMessage task(String id, String queue) {
    return new TaskMessage(id, queue, "t", Map.of(), "{}".getBytes(StandardCharsets.UTF_8));
  }

  private static <T> T get(java.util.concurrent.CompletableFuture<T> future) throws Exception {
    return future.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
  }

  /** A worker takes one task of {@code queue} and acknowledges it with {@code result}; returns the task's id. */
  private static String settleOne(RemoteBroker worker, String queue, byte[] result) throws Exception {
    List<Delivery> leased = get(worker.lease(queue, 1, Duration.ofSeconds(TIMEOUT_SECONDS)));
    assertThat(leased).as("a task of queue %s for the worker", queue).hasSize(1);
    get(worker.settle(List.of(Settlement.ack(leased.get(0).leaseId(), result))));
    return leased.get(0).taskId();
  }

  /**
   * A producer SUBMITs many tasks and never reads, while a worker on another connection settles them with large
   * results: the master closes the producer's connection once its output buffer passes the limit. Meanwhile another
   * producer gets its own results; afterwards the lease the closed connection held is ready again, and the results of
   * its tasks are still stored for a reconnecting producer to await.
   */
  @Test
  void aProducerThatNeverReadsItsResultsIsClosedAtTheLimit() throws Exception {
    MasterServer server = start(MasterSettings.of(0, KEY).withMaxFrameBytes(MAX_FRAME)
        .withMaxOutputBufferBytes(LIMIT));
    RemoteBroker worker = client(server);
    RemoteBroker polite = client(server);
    get(polite.put(List.of(task("held-1", "held"))));

    RawClient greedy = RawClient.connectWithReceiveBuffer(server.port(), 8 * 1024);
    closeAfter.add(greedy);
    greedy.authenticate(KEY);
    greedy.send(1, new Message.Lease("held", 1, 0));
    assertThat(greedy.read(Message.Leased.class).deliveries()).as("the lease the greedy producer holds").hasSize(1);
    List<TaskMessage> tasks = new ArrayList<>();
    for (int i = 0; i < GREEDY_TASKS; i++) {
      tasks.add(task("greedy-" + i, "work"));
    }
    greedy.send(2, new Message.Submit(tasks)); // and never reads again

    List<String> settled = new ArrayList<>();
    while (server.closedForNotReading() == 0 && settled.size() < GREEDY_TASKS) {
      settled.add(settleOne(worker, "work", BIG_RESULT));
      if (settled.size() == 3) {
        // 600 KiB of results so far, below the limit whatever the kernel took: the greedy connection is still open.
        assertThat(server.closedForNotReading()).isZero();
        Submission mine = polite.submit(List.of(task("polite-1", "polite")));
        settleOne(worker, "polite", "\"mine\"".getBytes(StandardCharsets.UTF_8));
        assertThat(get(mine.results().get(0)).value()).asString(StandardCharsets.UTF_8).isEqualTo("\"mine\"");
      }
    }

    await("the master closes the producer that does not read").atMost(Duration.ofSeconds(TIMEOUT_SECONDS))
        .until(() -> server.closedForNotReading() == 1 && server.openConnections() == 2);
    assertThat(settled.size()).as("results settled before the close").isLessThan(GREEDY_TASKS);
    assertThat(server.largestOutputBuffer()).as("the most any connection had waiting")
        .isPositive().isLessThanOrEqualTo(LIMIT);
    assertThat(greedy.readUntilClosed()).as("bytes the kernel held for the greedy producer").isPositive();

    assertThat(logs.lines(Level.WARN)).singleElement().asString()
        .contains(String.valueOf(greedy.localAddress().getPort()), "over the limit of " + LIMIT,
            "the client does not read its answers");

    // Closing is a disconnect like any other: the lease it held is ready again, the results stay stored.
    assertThat(get(polite.size("held"))).as("the greedy producer's lease went back to its queue").isEqualTo(1L);
    RemoteBroker reconnected = client(server);
    for (String taskId : settled) {
      TaskResult result = get(reconnected.result(taskId));
      assertThat(result.value()).as("the stored result of %s", taskId).isEqualTo(BIG_RESULT);
    }
    Submission after = polite.submit(List.of(task("polite-2", "polite")));
    settleOne(worker, "polite", "\"again\"".getBytes(StandardCharsets.UTF_8));
    assertThat(get(after.results().get(0)).value()).asString(StandardCharsets.UTF_8).isEqualTo("\"again\"");
  }

  /**
   * A client that does read, only later than the master answers: a producer reconnecting after a blip asks for many
   * large results at once (one write of AWAIT_RESULTs, as the reference client re-sends them). The master answers
   * them as the client reads instead of all in the burst it read them in, which would pass the output limit and close
   * the connection, again at every reconnect. All results arrive; nothing is closed.
   */
  @Test
  void manyRequestsReadInOneBurstAreAnsweredAsTheClientReadsNotAllAtOnce() throws Exception {
    long limit = 8 * 1024 * 1024; // above the 4 MiB where reading stops
    int results = 60; // 60 MiB of results, asked for in one write: a single read of the master holds dozens
    byte[] megabyte = bigResult(900 * 1024); // RawClient reads frames up to 1 MiB
    MasterServer server = start(MasterSettings.of(0, KEY).withMaxFrameBytes(2 * 1024 * 1024)
        .withMaxOutputBufferBytes(limit));
    RemoteBroker worker = client(server);
    RemoteBroker producer = client(server);
    List<TaskMessage> tasks = new ArrayList<>();
    for (int i = 0; i < results; i++) {
      tasks.add(task("stored-" + i, "work"));
    }
    get(producer.put(tasks));
    for (int i = 0; i < results; i++) {
      settleOne(worker, "work", megabyte);
    }

    RawClient late = RawClient.connectWithReceiveBuffer(server.port(), 8 * 1024);
    closeAfter.add(late);
    late.authenticate(KEY);
    java.io.ByteArrayOutputStream awaits = new java.io.ByteArrayOutputStream();
    for (int i = 0; i < results; i++) {
      awaits.writeBytes(RawClient.frame(new Envelope(i + 1, new Message.AwaitResult("stored-" + i))));
    }
    late.write(awaits.toByteArray()); // one burst of requests, then no reading until the master stalls
    // Once megabytes wait in the master, the kernel's buffers on the way are full: it is up to the master now.
    // (Without holding requests back, it answered all it had read at once, past the limit, and closed.)
    await("answers pile up in the master").atMost(Duration.ofSeconds(TIMEOUT_SECONDS))
        .until(() -> server.largestOutputBuffer() >= 2 * 1024 * 1024 || server.closedForNotReading() > 0);

    for (int i = 0; i < results; i++) {
      Message.Result result = late.read(Message.Result.class);
      assertThat(result.result().value()).as("result %d", i).isEqualTo(megabyte);
    }
    assertThat(server.closedForNotReading()).as("connections closed at the limit").isZero();
    assertThat(server.largestOutputBuffer()).isLessThanOrEqualTo(limit);
    get(producer.ping());
  }

  /** About 64 KiB of whole frames of {@code message}, with request ids counting up. */
  private static byte[] frames(Message message) {
    java.io.ByteArrayOutputStream chunk = new java.io.ByteArrayOutputStream();
    for (int id = 1; chunk.size() < 64 * 1024; id++) {
      chunk.writeBytes(RawClient.frame(new Envelope(id, message)));
    }
    return chunk.toByteArray();
  }

  /** How a flood of writes to the master ended. */
  private enum FloodEnd { CLOSED, STALLED, ALL_WRITTEN }

  /**
   * Writes {@code chunk} again and again, without reading, until the master closes the connection, stops reading it
   * (no write accepted within 2 s: not a timing assertion, only the end of the loop), or {@code maxBytes} are written.
   */
  private static FloodEnd flood(SocketChannel channel, byte[] chunk, long maxBytes) throws IOException {
    channel.configureBlocking(false);
    long written = 0;
    try (Selector selector = Selector.open()) {
      channel.register(selector, SelectionKey.OP_WRITE);
      while (written < maxBytes) {
        ByteBuffer buffer = ByteBuffer.wrap(chunk);
        while (buffer.hasRemaining()) {
          int n;
          try {
            n = channel.write(buffer);
          } catch (IOException e) {
            return FloodEnd.CLOSED;
          }
          written += n;
          if (n == 0) {
            selector.selectedKeys().clear();
            if (selector.select(2_000) == 0) {
              return FloodEnd.STALLED;
            }
          }
        }
      }
    }
    return FloodEnd.ALL_WRITTEN;
  }

  /**
   * An authenticated client pipelines PINGs and never reads, with a limit below the mark where reading stops. The
   * connection's output buffer never grows past the limit: the master closes it there (with the default limit, far
   * above that mark, the client is stalled instead, as BadInputTest shows). Others are served meanwhile and after.
   */
  @Test
  void pipelinedRequestsNeverGrowTheBufferPastTheLimit() throws Exception {
    long limit = 512 * 1024; // below the 4 MiB where reading stops
    MasterServer server = start(MasterSettings.of(0, KEY).withMaxFrameBytes(MAX_FRAME)
        .withMaxOutputBufferBytes(limit));
    RemoteBroker other = client(server);
    RawClient greedy = RawClient.connectChannel(server.port());
    closeAfter.add(greedy);
    greedy.authenticate(KEY);

    FloodEnd end = flood(greedy.channel(), frames(new Message.Ping()), 512L * 1024 * 1024);

    assertThat(end).as("the master stalls or closes the connection").isNotEqualTo(FloodEnd.ALL_WRITTEN);
    assertThat(server.largestOutputBuffer()).as("the most any connection had waiting")
        .isPositive().isLessThanOrEqualTo(limit);
    assertThat(server.closedForNotReading()).as("connections closed at the limit").isEqualTo(1);
    await().atMost(Duration.ofSeconds(TIMEOUT_SECONDS)).until(() -> server.openConnections() == 1);
    get(other.ping());
  }

  /**
   * Before authentication garbage ends the connection at its first frame, however much more the client pushes and
   * though it never reads: the master buffers nothing for it beyond HELLO and the ERROR, and the limit never comes
   * into play.
   */
  @Test
  void anUnauthenticatedClientSendingGarbageIsClosedWithNothingBuffered() throws Exception {
    MasterServer server = start(MasterSettings.of(0, KEY).withMaxFrameBytes(MAX_FRAME)
        .withMaxOutputBufferBytes(LIMIT));
    RawClient garbage = RawClient.connectChannel(server.port());
    closeAfter.add(garbage);
    garbage.writePreface();

    FloodEnd end = flood(garbage.channel(), frames(new Message.Ping()), 64L * 1024 * 1024);

    assertThat(end).as("the master closes the connection").isEqualTo(FloodEnd.CLOSED);
    await().atMost(Duration.ofSeconds(TIMEOUT_SECONDS)).until(() -> server.openConnections() == 0);
    assertThat(server.largestOutputBuffer()).as("bytes the master had waiting for it: HELLO and an ERROR")
        .isLessThanOrEqualTo(1024);
    assertThat(server.closedForNotReading()).isZero();
    get(client(server).ping());
  }

  /**
   * On a master without a key every client is unauthenticated, and a refused request is not fatal: a client that
   * sends garbage requests (leases for no task) and never reads piles up ERROR answers. They never grow past the
   * limit: the master closes the connection there. Others are served.
   */
  @Test
  void withoutAKeyGarbageThatProducesErrorsIsClosedAtTheLimit() throws Exception {
    long limit = 512 * 1024; // below the 4 MiB where reading stops
    MasterServer server = start(MasterSettings.of(0, null).withMaxFrameBytes(MAX_FRAME)
        .withMaxOutputBufferBytes(limit));
    RawClient garbage = RawClient.connectChannel(server.port());
    closeAfter.add(garbage);
    assertThat(garbage.writePreface().readHello().authRequired()).isFalse();

    FloodEnd end = flood(garbage.channel(), frames(new Message.Lease("q", 0, 0)), 512L * 1024 * 1024);

    assertThat(end).as("the master closes the connection").isEqualTo(FloodEnd.CLOSED);
    assertThat(server.largestOutputBuffer()).as("the most any connection had waiting")
        .isPositive().isLessThanOrEqualTo(limit);
    assertThat(server.closedForNotReading()).as("connections closed at the limit").isEqualTo(1);
    await().atMost(Duration.ofSeconds(TIMEOUT_SECONDS)).until(() -> server.openConnections() == 0);
    RemoteBroker other = RemoteBroker.connect("127.0.0.1", server.port(), BrokerOptions.defaults());
    closeAfter.add(other);
    get(other.ping());
  }
}
