package io.taskmaster.server.net;

import io.taskmaster.protocol.message.Envelope;
import io.taskmaster.protocol.message.ErrorCode;
import io.taskmaster.protocol.message.Message;
import io.taskmaster.protocol.message.Opcode;
import io.taskmaster.protocol.wire.Wire;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Request bodies for {@link CommandFuzzTest}, written field by field as docs/protocol.md lays them out, so that they
 * can carry what the message records refuse to hold: empty, over-long and control-character names, priorities
 * above 9, negative run times, counts and limits out of range, lease ids that were never handed out or were lost
 * with an earlier connection, unknown settlement kinds, null payloads. Most values are valid and the rest sit on
 * or just past a limit; names come from a few queues and the ids this connection put and was leased, so that the
 * requests meet real tasks and leases. Then byte-level damage to such bodies, and bodies of random bytes.
 */
final class RequestBodies {
  /** The queues the fuzzer works on; the bystander's queue is not among them. */
  static final List<String> QUEUES = List.of("f0", "f1", "ünï");
  private static final List<String> ODD_NAMES = List.of("", " ", "x".repeat(255), "x".repeat(256), "a\u0000b",
      "\u007f", "\u0085", "tab\there", "😀".repeat(127) + "x", "😀".repeat(128), "日本語", "../../etc");
  private static final int[] INTS = {0, 1, 2, 3, 10, -1, 999, 1000, 1001, 9999, 10_000, 10_001, 60_000, 60_001,
      Integer.MAX_VALUE, Integer.MIN_VALUE};
  private static final long[] LONGS = {0, 1, -1, 42, Long.MAX_VALUE, Long.MIN_VALUE, 1L << 31, 1L << 32};
  /**
   * Start times on the edges: far enough ahead that none comes due while a test runs, the largest, and invalid ones.
   * Most tasks start at once (0 or a time long past).
   */
  private static final long[] ODD_RUN_ATS = {4_102_444_800_000L, Long.MAX_VALUE, -1, Long.MIN_VALUE};
  /** LEASE waits: none, short, and beyond the master's cap (which the tests keep short). */
  private static final int[] WAITS = {0, 0, -1, 1, 50, 150, 60_000, Integer.MAX_VALUE, Integer.MIN_VALUE};
  private static final int[] ODD_ATTEMPTS = {1000, 1001, 0xFFFF};
  private static final int[] ODD_PRIORITIES = {10, 0xFF};
  private static final int[] ODD_SETTLE_KINDS = {0, 4, 0xFF};
  private static final int[] INTERESTING_BYTES = {0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF};

  private final SplittableRandom random;
  /** Lease ids this connection (or an earlier one of the same test) was handed, the latest last. */
  private final List<Long> leaseIds = new ArrayList<>();
  /** Task ids the fuzzer put, the latest last. */
  private final List<String> taskIds = new ArrayList<>();
  private int nextTask;

  RequestBodies(SplittableRandom random) {
    this.random = random;
  }

  SplittableRandom random() {
    return random;
  }

  void leased(long leaseId) {
    remember(leaseIds, leaseId);
  }

  void put(String taskId) {
    remember(taskIds, taskId);
  }

  private static <T> void remember(List<T> list, T value) {
    list.add(value);
    if (list.size() > 64) {
      list.remove(0);
    }
  }

  // -- whole bodies ------------------------------------------------------------------------------------------

  /** A body that looks like the opcode's own, with a value out of range now and then. */
  byte[] validLooking(Opcode opcode) {
    Body body = new Body();
    switch (opcode) {
      case PUT, SUBMIT -> {
        int count = random.nextInt(4);
        body.i32(count(count));
        for (int i = 0; i < count; i++) {
          task(body);
        }
      }
      case LEASE -> body.str(queue()).i32(rarely() ? pick(INTS) : 1 + random.nextInt(10)).i32(pick(WAITS));
      case SETTLE -> {
        int count = random.nextInt(4);
        body.i32(count(count));
        for (int i = 0; i < count; i++) {
          int kind = rarely() ? pick(ODD_SETTLE_KINDS) : 1 + random.nextInt(3);
          body.i64(leaseId()).u8(kind);
          if (kind == 1) {
            body.bytes(payload());
          } else if (kind == 2) {
            error(body);
          }
        }
      }
      case EXTEND -> {
        int count = random.nextInt(5);
        body.i32(count(count));
        for (int i = 0; i < count; i++) {
          body.i64(leaseId());
        }
      }
      case PROGRESS -> body.i64(leaseId()).i64(progressCount()).i64(progressCount())
          .text(random.nextInt(10) == 0 ? "p".repeat(1500) : "step " + random.nextInt(10));
      case AWAIT_RESULT, CANCEL -> body.str(taskId());
      case SIZE, DEAD_PURGE -> body.str(queue());
      case PING -> {
        if (random.nextInt(20) == 0) {
          body.u8(0); // a PING with a body is malformed
        }
      }
      case DEAD_LIST -> body.str(queue()).i32(rarely() ? pick(INTS) : random.nextInt(3))
          .i32(rarely() ? pick(INTS) : random.nextInt(20));
      case DEAD_RETRY -> {
        int count = random.nextInt(3);
        body.str(queue()).i32(count(count));
        for (int i = 0; i < count; i++) {
          body.str(taskId());
        }
      }
      case NAME -> body.str(random.nextInt(4) > 0 ? "worker-" + random.nextInt(3) : pick(ODD_NAMES));
      default -> body.raw(notARequest(opcode));
    }
    return body.toByteArray();
  }

  /** A valid-looking body with 1 to 4 byte-level mutations: flips, overwrites, deletions, insertions, cuts. */
  byte[] mutated(Opcode opcode) {
    byte[] bytes = validLooking(opcode);
    int count = 1 + random.nextInt(4);
    for (int i = 0; i < count; i++) {
      bytes = mutateOnce(bytes);
    }
    return bytes;
  }

  /** Random bytes, usually short enough to be mistaken for a small body now and then. */
  byte[] randomBytes() {
    byte[] bytes = new byte[random.nextInt(random.nextInt(8) == 0 ? 512 : 48)];
    for (int i = 0; i < bytes.length; i++) {
      bytes[i] = (byte) random.nextInt(256);
    }
    return bytes;
  }

  // -- fields ------------------------------------------------------------------------------------------------

  private void task(Body body) {
    String id = random.nextInt(5) == 0 ? taskId() : "t" + nextTask++; // a known id makes a duplicate
    body.str(id).str(queue());
    if (rarely()) {
      body.strBytes(invalidUtf8(random.nextBoolean() ? 0xFFFF / 3 : 0xFFFF / 3 + 1)); // a type of invalid UTF-8
    } else {
      body.str(random.nextBoolean() ? "t" : pick(List.of("", "ü", "x".repeat(300))));
    }
    int headers = random.nextInt(3);
    body.u16(rarely() ? 0xFFFF : headers);
    for (int i = 0; i < headers; i++) {
      body.str("h" + i).str(random.nextBoolean() ? "v" : "");
    }
    body.bytes(rarely() ? null : payload());
    body.u8(rarely() ? pick(ODD_PRIORITIES) : random.nextInt(10))
        .u16(rarely() ? pick(ODD_ATTEMPTS) : random.nextInt(4))
        .i64(rarely() ? pickLong(ODD_RUN_ATS) : random.nextBoolean() ? 0 : 1)
        .i32(random.nextInt())
        .str(random.nextInt(4) > 0 ? "" : rarely() ? pick(ODD_NAMES) : "k" + random.nextInt(3));
  }

  private void error(Body body) {
    body.str(random.nextBoolean() ? "E" : "x".repeat(300)).text("failed").text(random.nextBoolean() ? "" : "at X")
        .str("w");
  }

  /** One time in twenty: how often a field takes an odd value, so that most requests get through. */
  private boolean rarely() {
    return random.nextInt(20) == 0;
  }

  /** Mostly the true count; now and then one that lies, which is malformed. */
  private int count(int count) {
    if (!rarely()) {
      return count;
    }
    return switch (random.nextInt(3)) {
      case 0 -> count + 1;
      case 1 -> -1;
      default -> Integer.MAX_VALUE;
    };
  }

  private String queue() {
    return rarely() ? pick(ODD_NAMES) : pick(QUEUES);
  }

  private String taskId() {
    int choice = random.nextInt(10);
    if (choice < 6 && !taskIds.isEmpty()) {
      return taskIds.get(taskIds.size() - 1 - random.nextInt(Math.min(8, taskIds.size())));
    }
    return choice < 9 ? "t" + random.nextInt(Math.max(1, nextTask)) : pick(ODD_NAMES);
  }

  private long leaseId() {
    int choice = random.nextInt(10);
    if (choice < 6 && !leaseIds.isEmpty()) {
      return leaseIds.get(leaseIds.size() - 1 - random.nextInt(Math.min(8, leaseIds.size())));
    }
    return choice < 8 ? pickLong(LONGS) : random.nextLong();
  }

  /**
   * Bytes that are no UTF-8 at all: the master's decoder replaces each with U+FFFD, three bytes, so that more than
   * 65535 / 3 of them make a string that no longer fits a {@code str} when the master sends it on.
   */
  private static byte[] invalidUtf8(int length) {
    byte[] bytes = new byte[length];
    Arrays.fill(bytes, (byte) 0xFF);
    return bytes;
  }

  /** A progress count: valid (0 to 2^63-1) but rarely, when it has the top bit set. */
  private long progressCount() {
    return rarely() ? -1 - random.nextLong(Long.MAX_VALUE) : random.nextLong(Long.MAX_VALUE);
  }

  private byte[] payload() {
    int size = switch (random.nextInt(10)) {
      case 0 -> 0;
      case 1 -> 8 * 1024;
      default -> random.nextInt(32);
    };
    byte[] payload = new byte[size];
    for (int i = 0; i < size; i++) {
      payload[i] = (byte) random.nextInt(256);
    }
    return payload;
  }

  /**
   * The body of a frame that only the master sends (or AUTH, which it takes only before authentication), encoded by
   * the production codec so that it decodes: the master must refuse the opcode itself.
   */
  private byte[] notARequest(Opcode opcode) {
    Message message = switch (opcode) {
      case HELLO -> new Message.Hello(Wire.VERSION, true, new byte[Wire.NONCE_BYTES], "impostor");
      case AUTH -> new Message.Auth(new byte[Wire.NONCE_BYTES], new byte[32]);
      case AUTH_OK -> new Message.AuthOk(new byte[32]);
      case PUT_OK -> new Message.PutOk(1);
      case PONG -> new Message.Pong();
      case NAMED -> new Message.Named();
      case SIZE_OK -> new Message.SizeOk(3);
      case STOP_TASK -> new Message.StopTask(leaseId());
      case ERROR -> new Message.Error(ErrorCode.INTERNAL, "from a client");
      default -> null;
    };
    if (message == null) {
      return randomBytes();
    }
    byte[] frame = RawClient.frame(new Envelope(0, message));
    return Arrays.copyOfRange(frame, 4 + Wire.FRAME_HEADER_BYTES, frame.length);
  }

  private byte[] mutateOnce(byte[] bytes) {
    if (bytes.length == 0) {
      return new byte[] {(byte) random.nextInt(256)};
    }
    int at = random.nextInt(bytes.length);
    switch (random.nextInt(6)) {
      case 0 -> bytes[at] ^= (byte) (1 << random.nextInt(8));
      case 1 -> bytes[at] = (byte) INTERESTING_BYTES[random.nextInt(INTERESTING_BYTES.length)];
      case 2 -> bytes[at] = (byte) random.nextInt(256);
      case 3 -> {
        byte[] shorter = new byte[bytes.length - 1];
        System.arraycopy(bytes, 0, shorter, 0, at);
        System.arraycopy(bytes, at + 1, shorter, at, bytes.length - at - 1);
        return shorter;
      }
      case 4 -> {
        byte[] longer = Arrays.copyOf(bytes, bytes.length + 1);
        System.arraycopy(bytes, at, longer, at + 1, bytes.length - at);
        longer[at] = (byte) random.nextInt(256);
        return longer;
      }
      default -> {
        return Arrays.copyOf(bytes, at);
      }
    }
    return bytes;
  }

  private int pick(int[] values) {
    return values[random.nextInt(values.length)];
  }

  private long pickLong(long[] values) {
    return values[random.nextInt(values.length)];
  }

  private <T> T pick(List<T> values) {
    return values.get(random.nextInt(values.size()));
  }

  /** Big-endian fields in a growing array, with the protocol's string, text and bytes encodings. */
  private static final class Body {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

    Body u8(int value) {
      bytes.write(value);
      return this;
    }

    Body u16(int value) {
      return u8(value >>> 8).u8(value);
    }

    Body i32(int value) {
      return u16(value >>> 16).u16(value);
    }

    Body i64(long value) {
      return i32((int) (value >>> 32)).i32((int) value);
    }

    Body str(String value) {
      byte[] utf8 = value.getBytes(StandardCharsets.UTF_8);
      return strBytes(utf8);
    }

    /** A string given as its bytes, valid UTF-8 or not. */
    Body strBytes(byte[] value) {
      return u16(value.length).raw(value);
    }

    Body text(String value) {
      byte[] utf8 = value.getBytes(StandardCharsets.UTF_8);
      return i32(utf8.length).raw(utf8);
    }

    /** Length -1 for null. */
    Body bytes(byte[] value) {
      return value == null ? i32(-1) : i32(value.length).raw(value);
    }

    Body raw(byte[] value) {
      bytes.writeBytes(value);
      return this;
    }

    byte[] toByteArray() {
      return bytes.toByteArray();
    }
  }
}
