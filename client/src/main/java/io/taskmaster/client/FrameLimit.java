package io.taskmaster.client;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.taskmaster.broker.BrokerException;
import io.taskmaster.broker.Settlement;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.protocol.message.Envelope;
import io.taskmaster.protocol.message.ErrorCode;
import io.taskmaster.protocol.message.Message;
import io.taskmaster.protocol.wire.FrameEncoder;
import io.taskmaster.protocol.wire.Wire;
import io.taskmaster.task.TaskError;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The longest frame this client sends: the master's {@code --max-frame}, which it announces in AUTH_OK, or this
 * client's own {@code maxFrameBytes} where that is smaller or the master did not say (docs/protocol.md, 3.3 and 4.3).
 * A frame above the master's limit makes the master close the connection, failing every request on it and taking
 * back every lease it holds, each a lost attempt: so no such frame is sent. The request it carries fails alone,
 * with FRAME_TOO_LARGE and a message that names what was too large, its size and the limit; the connection carries
 * on.
 *
 * <p>Lengths here are those of the frame's length field: opcode, request id and body (section 3.1).
 */
final class FrameLimit {
  /** The frame of a SETTLE around its settlements: opcode, request id and count. */
  private static final int SETTLE_FRAME_BYTES = Wire.FRAME_HEADER_BYTES + 4;
  /** Lease id and kind, before an ack's result or a fail's error. */
  private static final int SETTLEMENT_BYTES = 9;

  /** This client's own limit (BrokerOptions.maxFrameBytes): the bound before a master has said its own. */
  private final int configuredBytes;
  /** The limit in force: the smaller of this client's and the one its master announced in AUTH_OK. */
  private volatile int maxBytes;

  FrameLimit(int maxBytes) {
    this.configuredBytes = maxBytes;
    this.maxBytes = maxBytes;
  }

  /**
   * The master of a new connection announced its limit in AUTH_OK (0 when it did not: a master from before that
   * field, or one without authentication); a restarted master may announce another one.
   */
  void announced(int masterBytes) {
    maxBytes = masterBytes > 0 ? Math.min(configuredBytes, masterBytes) : configuredBytes;
  }

  boolean fits(long frameLength) {
    return frameLength <= maxBytes;
  }

  /**
   * The SETTLE requests that carry {@code settlements}, in order: one unless together they would not fit a frame.
   * Throws FRAME_TOO_LARGE, sending nothing, when one does not fit even alone.
   */
  List<List<Settlement>> settleFrames(List<Settlement> settlements) {
    long total = SETTLE_FRAME_BYTES;
    for (Settlement settlement : settlements) {
      total += upperBound(settlement);
    }
    if (fits(total) || settlements.size() == 1) {
      return List.of(settlements); // one alone that may not fit is measured exactly as it is written
    }
    List<List<Settlement>> frames = new ArrayList<>();
    List<Settlement> frame = new ArrayList<>();
    long frameLength = SETTLE_FRAME_BYTES;
    for (Settlement settlement : settlements) {
      long bytes = upperBound(settlement);
      if (!fits(SETTLE_FRAME_BYTES + bytes)) {
        Message.Settle alone = new Message.Settle(List.of(settlement));
        int exact = length(alone);
        if (!fits(exact)) {
          throw tooLarge(alone, exact);
        }
        bytes = exact - SETTLE_FRAME_BYTES;
      }
      if (!frame.isEmpty() && !fits(frameLength + bytes)) {
        frames.add(frame);
        frame = new ArrayList<>();
        frameLength = SETTLE_FRAME_BYTES;
      }
      frame.add(settlement);
      frameLength += bytes;
    }
    frames.add(frame);
    return frames;
  }

  /**
   * A cheap test of a put before it is encoded: when its payloads alone exceed the limit, FRAME_TOO_LARGE, so that
   * a huge put is not copied into a frame only to be refused. Else null; the frame's exact length is checked as it
   * is written.
   */
  BrokerException checkPut(List<TaskMessage> tasks) {
    long payloads = 0;
    for (TaskMessage task : tasks) {
      payloads += task.payload().length;
    }
    if (fits(payloads)) {
      return null;
    }
    return refusal("a put of " + tasks.size() + " task(s) is too large: its payloads alone take " + grouped(payloads)
        + " bytes, more than " + limit() + "; split the batch or make the payloads smaller");
  }

  /** Why the request in {@code message} is not sent: its frame of {@code frameLength} bytes does not fit. */
  BrokerException tooLarge(Message message, long frameLength) {
    String frame = "frame of " + grouped(frameLength) + " bytes is larger than " + limit();
    if (message instanceof Message.Settle settle && settle.settlements().size() == 1) {
      Settlement only = settle.settlements().get(0);
      if (only instanceof Settlement.Ack ack) {
        return refusal("result of " + grouped(ack.result() == null ? 0 : ack.result().length) + " bytes is too "
            + "large: its SETTLE " + frame + "; return a smaller result, or store it elsewhere and return where it is");
      }
      if (only instanceof Settlement.Fail) {
        return refusal("error of this failure is too large: its SETTLE " + frame + "; its message and stack trace "
            + "are too long");
      }
    }
    List<TaskMessage> tasks = message instanceof Message.Put put ? put.tasks()
        : message instanceof Message.Submit submit ? submit.tasks() : null;
    if (tasks != null) {
      return refusal("a put of " + tasks.size() + " task(s) is too large: its " + frame + "; split the batch or make "
          + "the payloads smaller");
    }
    return refusal("a " + message.opcode() + " request is too large: its " + frame);
  }

  private String limit() {
    return "the limit of " + grouped(maxBytes) + " bytes per frame (--max-frame)";
  }

  private static BrokerException refusal(String message) {
    return new BrokerException(ErrorCode.FRAME_TOO_LARGE.name(), message);
  }

  /** At least as many bytes as the settlement takes in a SETTLE: three per UTF-16 unit of text is UTF-8's most. */
  private static long upperBound(Settlement settlement) {
    if (settlement instanceof Settlement.Ack ack) {
      return SETTLEMENT_BYTES + 4L + (ack.result() == null ? 0 : ack.result().length);
    }
    if (settlement instanceof Settlement.Fail fail) {
      TaskError error = fail.error();
      return SETTLEMENT_BYTES + 12L + 3L * (error.type().length() + error.message().length()
          + error.stackTrace().length() + error.workerId().length());
    }
    return SETTLEMENT_BYTES;
  }

  /** The exact length of the frame that carries {@code message}, found by encoding it. */
  private static int length(Message message) {
    ByteBuf frame = Unpooled.buffer();
    try {
      FrameEncoder.writeFrame(new Envelope(0, message), frame);
      return frame.readableBytes() - 4;
    } finally {
      frame.release();
    }
  }

  private static String grouped(long value) {
    return String.format(Locale.ROOT, "%,d", value);
  }
}
