package io.taskmaster.server.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskmaster.broker.AuthKey;
import io.taskmaster.broker.BrokerOptions;
import io.taskmaster.broker.Delivery;
import io.taskmaster.broker.Submission;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.broker.TaskOptions;
import io.taskmaster.broker.TaskResult;
import io.taskmaster.client.RemoteBroker;
import io.taskmaster.protocol.message.Envelope;
import io.taskmaster.protocol.message.ErrorCode;
import io.taskmaster.protocol.message.Message;
import io.taskmaster.protocol.message.Opcode;
import io.taskmaster.server.master.Master;
import io.taskmaster.task.TaskError;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A task error whose text is not UTF-8. The decoder replaces each bad byte with U+FFFD, three bytes, so a SETTLE
 * that fitted the frame limit was stored as an error up to three times its size, and the RESULT that carried it to
 * the producer was larger than the producer reads: its result failed ("a frame of 180064 bytes exceeds the
 * limit") and its connection was lost. Such a text is now refused with its request, and nothing else changes.
 */
class InvalidUtf8TextTest {
  private static final AuthKey KEY = AuthKey.of("invalid-utf8-text-test-key-0123456789abcdef");
  private static final int LIMIT = 64 * 1024;
  private static final Duration WAIT = Duration.ofSeconds(30);
  /** A failure ends the task at once, so that its result reaches the producer. */
  private static final TaskOptions ONE_ATTEMPT = TaskOptions.DEFAULTS.withMaxAttempts(1);

  private Master master;
  private RemoteBroker producer;
  private RawClient worker;

  @BeforeEach
  void start() throws IOException {
    master = Master.start(MasterSettings.of(0, KEY).withMaxFrameBytes(LIMIT));
    producer = RemoteBroker.connect("127.0.0.1", master.port(),
        new BrokerOptions(KEY, Duration.ofSeconds(5), LIMIT, null, BrokerOptions.DEFAULT_SILENCE_TIMEOUT));
    worker = RawClient.connect(master.port());
    worker.authenticate(KEY);
  }

  @AfterEach
  void stop() throws Exception {
    worker.close();
    producer.close();
    master.close();
  }

  @Test
  void aFailureWhoseTextGrowsWhenDecodedIsRefusedAndTheTaskCanStillBeSettled() throws Exception {
    Submission submitted = submitOne("t-1");
    Delivery delivery = leaseOne();

    // 60,000 bytes of 0xFF fit the 64 KiB frame; as U+FFFD they would take 180,000, more than the producer reads.
    worker.write(settleFailure(2, delivery.leaseId(), filled(60_000, 0xFF)));

    Envelope refused = worker.readFrame();
    assertThat(refused.requestId()).isEqualTo(2);
    Message.Error error = (Message.Error) refused.message();
    assertThat(error.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT);
    assertThat(error.message()).contains("a text of 60000 bytes is not valid UTF-8").contains("180000 bytes");

    // Nothing was settled: the lease is still the worker's, and a valid settlement goes through.
    worker.write(settleFailure(3, delivery.leaseId(), "bad input".getBytes(StandardCharsets.UTF_8)));
    assertThat(worker.readFrame().message()).isInstanceOf(Message.Settled.class);
    TaskResult result = submitted.results().get(0).get(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertThat(result.error()).extracting(TaskError::message).isEqualTo("bad input");
    assertThat(producer.size("tasks").get()).as("the producer's connection still serves").isZero();
  }

  @Test
  void aShortFailureTextOfValidUtf8IsKeptAsSent() throws Exception {
    Submission submitted = submitOne("t-2");
    Delivery delivery = leaseOne();

    worker.write(settleFailure(2, delivery.leaseId(), "ça déborde: ∞".getBytes(StandardCharsets.UTF_8)));

    assertThat(worker.readFrame().message()).isInstanceOf(Message.Settled.class);
    TaskResult result = submitted.results().get(0).get(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertThat(result.error().message()).isEqualTo("ça déborde: ∞");
  }

  private Submission submitOne(String taskId) throws Exception {
    Submission submitted = producer.submit(List.of(new TaskMessage(taskId, "tasks", "square", Map.of(),
        "7".getBytes(StandardCharsets.UTF_8), ONE_ATTEMPT)));
    submitted.accepted().get();
    return submitted;
  }

  /** The raw worker leases the task. */
  private Delivery leaseOne() throws IOException {
    worker.send(1, new Message.Lease("tasks", 1, 5_000));
    return ((Message.Leased) worker.readFrame().message()).deliveries().get(0);
  }

  /** A SETTLE frame failing one lease, its error message given as raw bytes (protocol.md 3.4, 7.3). */
  private static byte[] settleFailure(int requestId, long leaseId, byte[] message) throws IOException {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    DataOutputStream out = new DataOutputStream(body);
    out.writeInt(1); // one settlement
    out.writeLong(leaseId);
    out.writeByte(2); // fail
    writeStr(out, "java.lang.IllegalStateException");
    out.writeInt(message.length); // text: the message
    out.write(message);
    out.writeInt(0); // text: no stack trace
    writeStr(out, "raw-worker");
    ByteArrayOutputStream frame = new ByteArrayOutputStream();
    DataOutputStream framed = new DataOutputStream(frame);
    framed.writeInt(1 + 4 + body.size());
    framed.writeByte(Opcode.SETTLE.code());
    framed.writeInt(requestId);
    framed.write(body.toByteArray());
    return frame.toByteArray();
  }

  private static void writeStr(DataOutputStream out, String value) throws IOException {
    byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
    out.writeShort(bytes.length);
    out.write(bytes);
  }

  private static byte[] filled(int length, int value) {
    byte[] bytes = new byte[length];
    Arrays.fill(bytes, (byte) value);
    return bytes;
  }
}
