package io.taskmaster.protocol.wire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.taskmaster.broker.Delivery;
import io.taskmaster.broker.SettleStatus;
import io.taskmaster.broker.Settlement;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.broker.TaskResult;
import io.taskmaster.protocol.message.Envelope;
import io.taskmaster.protocol.message.ErrorCode;
import io.taskmaster.protocol.message.Message;
import io.taskmaster.task.TaskError;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Valid messages of every type, and byte-level helpers to build frames by hand, for the codec tests. */
final class WireSamples {
  private WireSamples() {}

  static byte[] filled(int length, int value) {
    byte[] bytes = new byte[length];
    java.util.Arrays.fill(bytes, (byte) value);
    return bytes;
  }

  static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  /** At least one message of every opcode, with edge values: empty, null and non-ASCII fields, extreme numbers. */
  static List<Message> messages() {
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("trace-id", "4bf92f3577b34da6");
    headers.put("größe", "日本語");
    TaskError error = new TaskError("java.lang.IllegalStateException", "broken ünïcode",
        "java.lang.IllegalStateException: broken\n\tat Example.run(Example.java:1)\n", "worker-7");
    return List.of(
        new Message.Hello(Wire.VERSION, true, filled(Wire.NONCE_BYTES, 0xA5), "taskmaster"),
        new Message.Hello(Wire.VERSION, false, filled(Wire.NONCE_BYTES, 0), ""),
        new Message.Auth(filled(Wire.NONCE_BYTES, 1), filled(32, 0xFF)),
        new Message.AuthOk(filled(32, 0x5A)),
        new Message.Put(List.of(
            new TaskMessage("task-1", "emails", "send-mail", headers, utf8("{\"to\":\"a@example.com\"}")),
            new TaskMessage("task-2", "emails", "", Map.of(), new byte[0]))),
        new Message.Put(List.of()),
        new Message.Extend(List.of(1L, Long.MAX_VALUE)),
        new Message.Extend(List.of()),
        new Message.Progress(7L, 3, 10, "page 3 of 10 ✓"),
        new Message.Progress(Long.MAX_VALUE, 0, 0, ""),
        new Message.Progressed(SettleStatus.UNKNOWN_LEASE),
        new Message.ProgressUpdate(new io.taskmaster.broker.TaskProgress("task-1", 5, 0, "é")),
        new Message.StopTask(Long.MAX_VALUE),
        new Message.StopTask(1L),
        new Message.DeadList("emails", 0, 100),
        new Message.DeadRetry("emails", List.of("task-1", "task-2")),
        new Message.DeadRetry("emails", List.of()),
        new Message.DeadPurge("emails"),
        new Message.DeadListed(new io.taskmaster.broker.DeadLetters(7, List.of(new io.taskmaster.broker.DeadLetter(
            new TaskMessage("task-1", "emails", "send-mail", headers, utf8("{}")), List.of(error, error),
            java.time.Instant.ofEpochMilli(1_764_000_000_000L))))),
        new Message.DeadListed(new io.taskmaster.broker.DeadLetters(0, List.of())),
        new Message.DeadRetried(3),
        new Message.DeadPurged(Long.MAX_VALUE),
        new Message.Extended(List.of(SettleStatus.OK, SettleStatus.UNKNOWN_LEASE)),
        new Message.Submit(List.of(new TaskMessage("task-3", "tasks", "square", Map.of(), utf8("7")),
            new TaskMessage("task-4", "tasks", "square", Map.of(), utf8("8"), new io.taskmaster.broker.TaskOptions(
                9, 1000, 1_764_000_000_000L, 0xFFFF_FFFFL, "nightly-report-ü")))),
        new Message.Cancel("task-3"),
        new Message.Cancelled(io.taskmaster.broker.CancelOutcome.RUNNING),
        new Message.Cancelled(io.taskmaster.broker.CancelOutcome.STOPPING),
        new Message.Lease("emails", 10, 30_000),
        new Message.Lease("q", Integer.MAX_VALUE, -1),
        new Message.Settle(List.of(
            Settlement.ack(1, utf8("42")),
            Settlement.ack(2, null),
            Settlement.fail(Long.MAX_VALUE, error),
            Settlement.release(-1))),
        new Message.AwaitResult("task-1"),
        new Message.Size("emails"),
        new Message.Ping(),
        new Message.Name("worker-3 (pid 4711) é"),
        new Message.PutOk(2),
        new Message.Leased(List.of(
            new Delivery("task-1", 17, 1, "emails", "send-mail", headers, utf8("{}"), 30_000),
            new Delivery("task-2", Long.MIN_VALUE, Integer.MAX_VALUE, "emails", "", Map.of(), null, 0xFFFF_FFFFL))),
        new Message.Leased(List.of()),
        new Message.Settled(List.of(SettleStatus.OK, SettleStatus.UNKNOWN_LEASE)),
        new Message.Result(TaskResult.success("task-1", utf8("{\"ok\":true}"))),
        new Message.Result(TaskResult.success("task-3", null)),
        new Message.Result(TaskResult.failure("task-2", error)),
        new Message.SizeOk(Long.MAX_VALUE),
        new Message.Pong(),
        new Message.Named(),
        new Message.Error(ErrorCode.BUSY, "queue 'emails' is full; retry later"),
        new Message.Error(ErrorCode.INTERNAL, ""));
  }

  /** The messages above, each with a different request id (including 0 and the extremes). */
  static List<Envelope> envelopes() {
    List<Message> messages = messages();
    int[] ids = {0, 1, -1, Integer.MAX_VALUE, Integer.MIN_VALUE, 42};
    return java.util.stream.IntStream.range(0, messages.size())
        .mapToObj(i -> new Envelope(ids[i % ids.length], messages.get(i)))
        .toList();
  }

  /** One whole frame, as {@link FrameEncoder#writeFrame} writes it. */
  static byte[] frame(Envelope envelope) {
    ByteBuf out = Unpooled.buffer();
    try {
      FrameEncoder.writeFrame(envelope, out);
      return ByteBufUtil.getBytes(out);
    } finally {
      out.release();
    }
  }

  /** The client's 8-byte preface for {@code version}. */
  static byte[] preface(int version) {
    ByteBuf out = Unpooled.buffer(Wire.PREFACE_BYTES);
    try {
      FrameEncoder.writePreface(out, version);
      return ByteBufUtil.getBytes(out);
    } finally {
      out.release();
    }
  }

  /** A frame with an arbitrary opcode byte and body, the length field computed honestly. */
  static byte[] rawFrame(int opcode, int requestId, byte[] body) {
    ByteBuf out = Unpooled.buffer();
    try {
      out.writeInt(Wire.FRAME_HEADER_BYTES + body.length);
      out.writeByte(opcode);
      out.writeInt(requestId);
      out.writeBytes(body);
      return ByteBufUtil.getBytes(out);
    } finally {
      out.release();
    }
  }

  /** A 4-byte length field alone, as a hostile client sends it without any body. */
  static byte[] lengthField(long length) {
    return new byte[] {(byte) (length >>> 24), (byte) (length >>> 16), (byte) (length >>> 8), (byte) length};
  }

  static byte[] concat(byte[]... parts) {
    int total = 0;
    for (byte[] part : parts) {
      total += part.length;
    }
    byte[] all = new byte[total];
    int at = 0;
    for (byte[] part : parts) {
      System.arraycopy(part, 0, all, at, part.length);
      at += part.length;
    }
    return all;
  }

  /** Big-endian body builder for hand-made (usually hostile) frame bodies. */
  static final class Body {
    private final ByteBuf buf = Unpooled.buffer();

    Body i8(int value) {
      buf.writeByte(value);
      return this;
    }

    Body i16(int value) {
      buf.writeShort(value);
      return this;
    }

    Body i32(int value) {
      buf.writeInt(value);
      return this;
    }

    Body i64(long value) {
      buf.writeLong(value);
      return this;
    }

    Body string(String value) {
      byte[] bytes = utf8(value);
      buf.writeShort(bytes.length);
      buf.writeBytes(bytes);
      return this;
    }

    Body bytes(byte[] value) {
      buf.writeBytes(value);
      return this;
    }

    byte[] build() {
      try {
        return ByteBufUtil.getBytes(buf);
      } finally {
        buf.release();
      }
    }
  }
}
