package io.taskmaster.protocol.wire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.taskmaster.broker.CancelOutcome;
import io.taskmaster.broker.DeadLetter;
import io.taskmaster.broker.DeadLetters;
import io.taskmaster.broker.Delivery;
import io.taskmaster.broker.SettleStatus;
import io.taskmaster.broker.Settlement;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.broker.TaskOptions;
import io.taskmaster.broker.TaskResult;
import io.taskmaster.protocol.message.ErrorCode;
import io.taskmaster.protocol.message.Message;
import io.taskmaster.protocol.message.Opcode;
import io.taskmaster.task.TaskError;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The byte layout of every message body, as docs/protocol.md specifies it. All integers are big-endian.
 *
 * <p>Decoding never trusts a count or a length: each is checked against the bytes actually left in the frame before
 * anything is allocated, so a frame of a few bytes cannot ask for gigabytes.
 */
public final class MessageCodec {
  private static final int NULL_LENGTH = -1;
  /** The most UTF-8 bytes a {@code str} holds: its length is a u16. */
  private static final int MAX_STRING_BYTES = 0xFFFF;
  private static final int SETTLE_ACK = 1;
  private static final int SETTLE_FAIL = 2;
  private static final int SETTLE_RELEASE = 3;
  private static final int RESULT_SUCCEEDED = 1;
  private static final int RESULT_FAILED = 2;

  private MessageCodec() {}

  // -- encoding ----------------------------------------------------------------------------------------------

  public static void encode(Message message, ByteBuf out) {
    switch (message.opcode()) {
      case HELLO -> {
        Message.Hello hello = (Message.Hello) message;
        out.writeShort(hello.version());
        out.writeByte(hello.authRequired() ? 1 : 0);
        out.writeBytes(hello.serverNonce());
        writeString(out, hello.serverName());
      }
      case AUTH -> {
        Message.Auth auth = (Message.Auth) message;
        out.writeBytes(auth.clientNonce());
        out.writeBytes(auth.clientProof());
      }
      case AUTH_OK -> {
        Message.AuthOk ok = (Message.AuthOk) message;
        out.writeBytes(ok.serverProof());
        out.writeInt(ok.maxFrameBytes());
      }
      case PUT -> writeTasks(out, ((Message.Put) message).tasks());
      case SUBMIT -> writeTasks(out, ((Message.Submit) message).tasks());
      case LEASE -> {
        Message.Lease lease = (Message.Lease) message;
        writeString(out, lease.queue());
        out.writeInt(lease.max());
        out.writeInt(lease.waitMillis());
      }
      case SETTLE -> {
        List<Settlement> settlements = ((Message.Settle) message).settlements();
        out.writeInt(settlements.size());
        for (Settlement settlement : settlements) {
          writeSettlement(out, settlement);
        }
      }
      case EXTEND -> {
        List<Long> leaseIds = ((Message.Extend) message).leaseIds();
        out.writeInt(leaseIds.size());
        for (long leaseId : leaseIds) {
          out.writeLong(leaseId);
        }
      }
      case EXTENDED -> writeStatuses(out, ((Message.Extended) message).statuses());
      case PROGRESS -> {
        Message.Progress progress = (Message.Progress) message;
        out.writeLong(progress.leaseId());
        out.writeLong(progress.done());
        out.writeLong(progress.total());
        writeText(out, progress.message());
      }
      case PROGRESSED -> out.writeByte(((Message.Progressed) message).status().ordinal());
      case PROGRESS_UPDATE -> {
        io.taskmaster.broker.TaskProgress progress = ((Message.ProgressUpdate) message).progress();
        writeString(out, progress.taskId());
        out.writeLong(progress.done());
        out.writeLong(progress.total());
        writeText(out, progress.message());
      }
      case STOP_TASK -> out.writeLong(((Message.StopTask) message).leaseId());
      case DEAD_LIST -> {
        Message.DeadList list = (Message.DeadList) message;
        writeString(out, list.queue());
        out.writeInt(list.offset());
        out.writeInt(list.limit());
      }
      case DEAD_RETRY -> {
        Message.DeadRetry retry = (Message.DeadRetry) message;
        writeString(out, retry.queue());
        out.writeInt(retry.taskIds().size());
        retry.taskIds().forEach(id -> writeString(out, id));
      }
      case DEAD_PURGE -> writeString(out, ((Message.DeadPurge) message).queue());
      case CANCEL -> writeString(out, ((Message.Cancel) message).taskId());
      case CANCELLED -> out.writeByte(((Message.Cancelled) message).outcome().ordinal());
      case DEAD_LISTED -> writeDeadLetters(out, ((Message.DeadListed) message).deadLetters());
      case DEAD_RETRIED -> out.writeLong(((Message.DeadRetried) message).count());
      case DEAD_PURGED -> out.writeLong(((Message.DeadPurged) message).count());
      case AWAIT_RESULT -> writeString(out, ((Message.AwaitResult) message).taskId());
      case SIZE -> writeString(out, ((Message.Size) message).queue());
      case PING, PONG, NAMED -> { }
      case NAME -> writeString(out, ((Message.Name) message).clientName());
      case PUT_OK -> out.writeInt(((Message.PutOk) message).count());
      case LEASED -> {
        List<Delivery> deliveries = ((Message.Leased) message).deliveries();
        out.writeInt(deliveries.size());
        for (Delivery delivery : deliveries) {
          writeString(out, delivery.taskId());
          out.writeLong(delivery.leaseId());
          out.writeInt(delivery.attempt());
          writeString(out, delivery.queue());
          writeString(out, delivery.type());
          writeHeaders(out, delivery.headers());
          writeBytes(out, delivery.payload());
          out.writeInt((int) Math.min(0xFFFF_FFFFL, Math.max(0, delivery.leaseTimeoutMillis()))); // u32
          out.writeInt((int) Math.min(0xFFFF_FFFFL, Math.max(0, delivery.timeoutMillis()))); // u32
        }
      }
      case SETTLED -> writeStatuses(out, ((Message.Settled) message).statuses());
      case RESULT -> writeResult(out, ((Message.Result) message).result());
      case SIZE_OK -> out.writeLong(((Message.SizeOk) message).size());
      case ERROR -> {
        Message.Error error = (Message.Error) message;
        out.writeShort(error.code().code());
        writeText(out, error.message());
      }
    }
  }

  private static void writeStatuses(ByteBuf out, List<SettleStatus> statuses) {
    out.writeInt(statuses.size());
    for (SettleStatus status : statuses) {
      out.writeByte(status.ordinal());
    }
  }

  private static void writeTasks(ByteBuf out, List<TaskMessage> tasks) {
    out.writeInt(tasks.size());
    for (TaskMessage task : tasks) {
      writeTask(out, task);
    }
  }

  private static void writeTask(ByteBuf out, TaskMessage task) {
    writeString(out, task.id());
    writeString(out, task.queue());
    writeString(out, task.type());
    writeHeaders(out, task.headers());
    writeBytes(out, task.payload());
    TaskOptions options = task.options();
    out.writeByte(options.priority());
    out.writeShort(options.maxAttempts());
    out.writeLong(options.runAtEpochMillis());
    out.writeInt((int) options.timeoutMillis()); // u32
    writeString(out, options.uniqueKey());
  }

  private static void writeDeadLetters(ByteBuf out, DeadLetters deadLetters) {
    out.writeLong(deadLetters.total());
    out.writeInt(deadLetters.page().size());
    for (DeadLetter dead : deadLetters.page()) {
      writeTask(out, dead.task());
      out.writeLong(dead.deadAt().toEpochMilli());
      out.writeInt(dead.attempts().size());
      dead.attempts().forEach(error -> writeError(out, error));
    }
  }

  private static void writeSettlement(ByteBuf out, Settlement settlement) {
    out.writeLong(settlement.leaseId());
    if (settlement instanceof Settlement.Ack ack) {
      out.writeByte(SETTLE_ACK);
      writeBytes(out, ack.result());
    } else if (settlement instanceof Settlement.Fail fail) {
      out.writeByte(SETTLE_FAIL);
      writeError(out, fail.error());
    } else {
      out.writeByte(SETTLE_RELEASE);
    }
  }

  private static void writeResult(ByteBuf out, TaskResult result) {
    writeString(out, result.taskId());
    if (result.succeeded()) {
      out.writeByte(RESULT_SUCCEEDED);
      writeBytes(out, result.value());
    } else {
      out.writeByte(RESULT_FAILED);
      writeError(out, result.error());
    }
  }

  private static void writeError(ByteBuf out, TaskError error) {
    writeString(out, truncate(error.type(), 255));
    writeText(out, error.message());
    writeText(out, error.stackTrace());
    writeString(out, truncate(error.workerId(), 255));
  }

  private static String truncate(String value, int max) {
    return value.length() <= max ? value : value.substring(0, max);
  }

  private static void writeHeaders(ByteBuf out, Map<String, String> headers) {
    out.writeShort(headers.size());
    headers.forEach((name, value) -> {
      writeString(out, name);
      writeString(out, value);
    });
  }

  /** u16 length + UTF-8. */
  static void writeString(ByteBuf out, String value) {
    int lengthAt = out.writerIndex();
    out.writeShort(0);
    int written = out.writeCharSequence(value, StandardCharsets.UTF_8);
    if (written > MAX_STRING_BYTES) {
      throw new IllegalArgumentException("string of " + written + " UTF-8 bytes is too long for the wire (max "
          + MAX_STRING_BYTES + ")");
    }
    out.setShort(lengthAt, written);
  }

  /** u32 length + UTF-8, for messages and stack traces. */
  static void writeText(ByteBuf out, String value) {
    int lengthAt = out.writerIndex();
    out.writeInt(0);
    out.setInt(lengthAt, out.writeCharSequence(value, StandardCharsets.UTF_8));
  }

  /** u32 length + bytes; length 0xFFFFFFFF means null. */
  static void writeBytes(ByteBuf out, byte[] value) {
    if (value == null) {
      out.writeInt(NULL_LENGTH);
    } else {
      out.writeInt(value.length);
      out.writeBytes(value);
    }
  }

  // -- decoding ----------------------------------------------------------------------------------------------

  /** Decodes one frame body; the buffer holds exactly the body. */
  public static Message decode(Opcode opcode, ByteBuf in) {
    Message message = switch (opcode) {
      case HELLO -> new Message.Hello(
          in.readUnsignedShort(), in.readBoolean(), readFixed(in, Wire.NONCE_BYTES), readString(in));
      case AUTH -> new Message.Auth(readFixed(in, Wire.NONCE_BYTES), readFixed(in, 32));
      // maxFrameBytes came later: an AUTH_OK of a master before it ends after the proof.
      case AUTH_OK -> new Message.AuthOk(readFixed(in, 32), in.isReadable() ? in.readInt() : 0);
      case PUT -> new Message.Put(readTasks(in));
      case SUBMIT -> new Message.Submit(readTasks(in));
      case LEASE -> new Message.Lease(readString(in), in.readInt(), in.readInt());
      case SETTLE -> new Message.Settle(readSettlements(in));
      case EXTEND -> new Message.Extend(readLeaseIds(in));
      case EXTENDED -> new Message.Extended(readStatuses(in));
      case PROGRESS -> new Message.Progress(in.readLong(), readProgressCount(in), readProgressCount(in),
          readText(in));
      case PROGRESSED -> new Message.Progressed(readStatus(in));
      case PROGRESS_UPDATE -> new Message.ProgressUpdate(new io.taskmaster.broker.TaskProgress(readString(in),
          readProgressCount(in), readProgressCount(in), readText(in)));
      case STOP_TASK -> new Message.StopTask(in.readLong());
      case DEAD_LIST -> new Message.DeadList(readString(in), in.readInt(), in.readInt());
      case DEAD_RETRY -> new Message.DeadRetry(readString(in), readStrings(in));
      case DEAD_PURGE -> new Message.DeadPurge(readString(in));
      case CANCEL -> new Message.Cancel(readString(in));
      case CANCELLED -> new Message.Cancelled(readCancelOutcome(in));
      case DEAD_LISTED -> new Message.DeadListed(readDeadLetters(in));
      case DEAD_RETRIED -> new Message.DeadRetried(in.readLong());
      case DEAD_PURGED -> new Message.DeadPurged(in.readLong());
      case AWAIT_RESULT -> new Message.AwaitResult(readString(in));
      case SIZE -> new Message.Size(readString(in));
      case PING -> new Message.Ping();
      case NAME -> new Message.Name(readString(in));
      case PUT_OK -> new Message.PutOk(in.readInt());
      case LEASED -> new Message.Leased(readDeliveries(in));
      case SETTLED -> new Message.Settled(readStatuses(in));
      case RESULT -> new Message.Result(readResult(in));
      case SIZE_OK -> new Message.SizeOk(in.readLong());
      case PONG -> new Message.Pong();
      case NAMED -> new Message.Named();
      case ERROR -> new Message.Error(ErrorCode.of(in.readUnsignedShort()), readText(in));
    };
    if (in.isReadable()) {
      throw malformed(in.readableBytes() + " unexpected bytes after the " + opcode + " body");
    }
    return message;
  }

  private static List<TaskMessage> readTasks(ByteBuf in) {
    // id, queue, type (2 each), header count (2), payload length (4), priority (1), attempts (2), run at (8),
    // timeout (4), unique key (2)
    int count = readCount(in, 29, "tasks");
    List<TaskMessage> tasks = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      tasks.add(readTask(in));
    }
    return tasks;
  }

  private static TaskMessage readTask(ByteBuf in) {
    String id = readString(in);
    String queue = readString(in);
    String type = readString(in);
    Map<String, String> headers = readHeaders(in);
    byte[] payload = readBytes(in);
    if (payload == null) {
      throw malformed("task " + id + " has a null payload");
    }
    int priority = in.readUnsignedByte();
    int maxAttempts = in.readUnsignedShort();
    long runAt = in.readLong();
    long timeoutMillis = in.readUnsignedInt();
    String uniqueKey = readString(in);
    try {
      return new TaskMessage(id, queue, type, headers, payload,
          new TaskOptions(priority, maxAttempts, runAt, timeoutMillis, uniqueKey));
    } catch (IllegalArgumentException e) {
      throw new ProtocolException(ErrorCode.INVALID_ARGUMENT, e.getMessage());
    }
  }

  private static List<Settlement> readSettlements(ByteBuf in) {
    int count = readCount(in, 9, "settlements");
    List<Settlement> settlements = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      long leaseId = in.readLong();
      int kind = in.readUnsignedByte();
      settlements.add(switch (kind) {
        case SETTLE_ACK -> Settlement.ack(leaseId, readBytes(in));
        case SETTLE_FAIL -> Settlement.fail(leaseId, readError(in));
        case SETTLE_RELEASE -> Settlement.release(leaseId);
        default -> throw malformed("unknown settlement kind " + kind);
      });
    }
    return settlements;
  }

  private static CancelOutcome readCancelOutcome(ByteBuf in) {
    int outcome = in.readUnsignedByte();
    CancelOutcome[] all = CancelOutcome.values();
    if (outcome >= all.length) {
      throw malformed("unknown cancel outcome " + outcome);
    }
    return all[outcome];
  }

  private static List<String> readStrings(ByteBuf in) {
    int count = readCount(in, 2, "strings");
    List<String> strings = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      strings.add(readString(in));
    }
    return strings;
  }

  private static DeadLetters readDeadLetters(ByteBuf in) {
    long total = in.readLong();
    // a task (29) + dead-at (8) + attempt count (4)
    int count = readCount(in, 41, "dead letters");
    List<DeadLetter> page = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      TaskMessage task = readTask(in);
      Instant deadAt = Instant.ofEpochMilli(in.readLong());
      // an error: type (2), message (4), stack trace (4), worker (2)
      int attempts = readCount(in, 12, "attempt errors");
      if (attempts == 0) {
        throw malformed("dead letter " + task.id() + " has no attempt");
      }
      List<TaskError> errors = new ArrayList<>(attempts);
      for (int a = 0; a < attempts; a++) {
        errors.add(readError(in));
      }
      page.add(new DeadLetter(task, errors, deadAt));
    }
    return new DeadLetters(total, page);
  }

  private static List<Long> readLeaseIds(ByteBuf in) {
    int count = readCount(in, 8, "lease ids");
    List<Long> leaseIds = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      leaseIds.add(in.readLong());
    }
    return leaseIds;
  }

  private static List<Delivery> readDeliveries(ByteBuf in) {
    // task id (2), lease id (8), attempt (4), queue, type (2 each), header count (2), payload length (4),
    // lease timeout (4), task timeout (4)
    int count = readCount(in, 32, "deliveries");
    List<Delivery> deliveries = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      deliveries.add(new Delivery(readString(in), in.readLong(), in.readInt(), readString(in), readString(in),
          readHeaders(in), readBytes(in), in.readUnsignedInt(), in.readUnsignedInt()));
    }
    return deliveries;
  }

  /** A progress count: a u64 below 2^63. */
  private static long readProgressCount(ByteBuf in) {
    long count = in.readLong();
    if (count < 0) {
      throw malformed("a progress count above 2^63-1");
    }
    return count;
  }

  private static SettleStatus readStatus(ByteBuf in) {
    int status = in.readUnsignedByte();
    SettleStatus[] all = SettleStatus.values();
    if (status >= all.length) {
      throw malformed("unknown settle status " + status);
    }
    return all[status];
  }

  private static List<SettleStatus> readStatuses(ByteBuf in) {
    int count = readCount(in, 1, "statuses");
    SettleStatus[] all = SettleStatus.values();
    List<SettleStatus> statuses = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      int status = in.readUnsignedByte();
      if (status >= all.length) {
        throw malformed("unknown settle status " + status);
      }
      statuses.add(all[status]);
    }
    return statuses;
  }

  private static TaskResult readResult(ByteBuf in) {
    String taskId = readString(in);
    int status = in.readUnsignedByte();
    return switch (status) {
      case RESULT_SUCCEEDED -> TaskResult.success(taskId, readBytes(in));
      case RESULT_FAILED -> TaskResult.failure(taskId, readError(in));
      default -> throw malformed("unknown result status " + status);
    };
  }

  private static TaskError readError(ByteBuf in) {
    return new TaskError(readString(in), readText(in), readText(in), readString(in));
  }

  private static Map<String, String> readHeaders(ByteBuf in) {
    int count = in.readUnsignedShort();
    if (count == 0) {
      return Map.of();
    }
    requireReadable(in, count * 4L, "headers");
    Map<String, String> headers = new LinkedHashMap<>();
    for (int i = 0; i < count; i++) {
      headers.put(readString(in), readString(in));
    }
    return headers;
  }

  private static int readCount(ByteBuf in, int minBytesEach, String what) {
    int count = in.readInt();
    if (count < 0) {
      throw malformed("negative count of " + what + ": " + count);
    }
    requireReadable(in, (long) count * minBytesEach, count + " " + what);
    return count;
  }

  static String readString(ByteBuf in) {
    int length = in.readUnsignedShort();
    requireReadable(in, length, "a string");
    String value = in.toString(in.readerIndex(), length, StandardCharsets.UTF_8);
    in.skipBytes(length);
    // Each byte that is not UTF-8 becomes U+FFFD, three bytes. A string of more than a third of the limit can so
    // outgrow a str, and a master that stored it (a task's type, a header) could send it to no one: every LEASED and
    // DEAD_LISTED carrying it would fail, and close the connection of whoever asked.
    if (length > MAX_STRING_BYTES / 3) {
      int utf8 = ByteBufUtil.utf8Bytes(value);
      if (utf8 > MAX_STRING_BYTES) {
        throw new ProtocolException(ErrorCode.INVALID_ARGUMENT, "a string of " + length + " bytes is not valid "
            + "UTF-8: with its bad bytes replaced by U+FFFD it takes " + utf8 + " bytes, more than a string may ("
            + MAX_STRING_BYTES + "); send valid UTF-8");
      }
    }
    return value;
  }

  static String readText(ByteBuf in) {
    int length = in.readInt();
    if (length < 0) {
      throw malformed("negative text length " + length);
    }
    requireReadable(in, length, "a text");
    String value = in.toString(in.readerIndex(), length, StandardCharsets.UTF_8);
    in.skipBytes(length);
    // A text has no bound of its own but the frame's, so one that grows as its bad bytes become U+FFFD (three bytes
    // each) makes what the master sends on larger than the frame it came in: 60,000 bad bytes of a task's error in
    // a SETTLE under a 64 KiB limit went on as a RESULT of 180,064 bytes, and the producer lost its connection.
    int utf8 = ByteBufUtil.utf8Bytes(value);
    if (utf8 > length) {
      throw new ProtocolException(ErrorCode.INVALID_ARGUMENT, "a text of " + length + " bytes is not valid UTF-8: "
          + "with its bad bytes replaced by U+FFFD it takes " + utf8 + " bytes; send valid UTF-8");
    }
    return value;
  }

  static byte[] readBytes(ByteBuf in) {
    int length = in.readInt();
    if (length == NULL_LENGTH) {
      return null;
    }
    if (length < 0) {
      throw malformed("negative byte length " + length);
    }
    requireReadable(in, length, "a byte string");
    byte[] bytes = new byte[length];
    in.readBytes(bytes);
    return bytes;
  }

  private static byte[] readFixed(ByteBuf in, int length) {
    requireReadable(in, length, "a fixed field");
    byte[] bytes = new byte[length];
    in.readBytes(bytes);
    return bytes;
  }

  private static void requireReadable(ByteBuf in, long length, String what) {
    if (length > in.readableBytes()) {
      throw malformed(what + " needs " + length + " bytes but only " + in.readableBytes() + " remain in the frame");
    }
  }

  private static ProtocolException malformed(String message) {
    return new ProtocolException(ErrorCode.MALFORMED_FRAME, message);
  }
}
