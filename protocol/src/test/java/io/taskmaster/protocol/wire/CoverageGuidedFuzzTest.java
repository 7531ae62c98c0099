package io.taskmaster.protocol.wire;

import static io.taskmaster.protocol.wire.WireSamples.concat;
import static io.taskmaster.protocol.wire.WireSamples.frame;
import static io.taskmaster.protocol.wire.WireSamples.preface;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import io.taskmaster.protocol.message.Envelope;
import io.taskmaster.protocol.message.Message;
import io.taskmaster.protocol.message.Opcode;
import java.util.Arrays;

/**
 * Coverage-guided fuzz targets for the wire format, run by Jazzer (reliability-tests.md row 26): the server's frame
 * decoder on any bytes after a valid preface, and the body parser of every opcode on any body. Only a {@link
 * ProtocolException} may come out of either (an index past the end of a body is one too: the frame reader turns it
 * into MALFORMED_FRAME), and whatever decodes must encode again to bytes that decode to the same message: what a
 * master accepts, it can send on.
 *
 * <p>In the normal build ({@code ./mvnw verify}) each target runs in regression mode, on the inputs committed under
 * {@code src/test/resources/io/taskmaster/protocol/wire/CoverageGuidedFuzzTestInputs/<target>/} (none yet: then
 * on an empty input). Fuzzing, for a minute per target as on a pull request:
 *
 * <pre>
 * JAZZER_FUZZ=1 ./mvnw -pl protocol test -Dtest='CoverageGuidedFuzzTest#serverDecoder' \
 *     -Djazzer.max_duration=60s -Djunit.jupiter.execution.timeout.mode=disabled \
 *     -Djunit.jupiter.execution.timeout.testtemplate.method.default=1s
 * </pre>
 *
 * and {@code -Djazzer.max_duration=30m} for the nightly run. Jazzer reads the 1 s as its limit for one input (row
 * 26's bound; an input that takes longer is a finding), and JUnit's own timeouts are off, since for JUnit the whole
 * fuzzing run is a single invocation. A finding (an exception, a timeout, running out of memory) stops the run and
 * is written to the inputs directory above as {@code crash-...} or {@code timeout-...}: commit it with the fix, and
 * the normal build replays it from then on. The corpus Jazzer grows is kept in {@code protocol/.cifuzz-corpus},
 * which git ignores. These targets run in a JVM of their own (see protocol/pom.xml): Jazzer's agent stays in the
 * JVM it was loaded into.
 */
class CoverageGuidedFuzzTest {
  /** The frame cap after authentication here: larger than any input the fuzzer makes (libFuzzer's default is 4 KiB). */
  private static final int MAX_FRAME = 64 * 1024;
  /** The length field, opcode and request id before a frame's body. */
  private static final int HEADER = 4 + Wire.FRAME_HEADER_BYTES;

  /**
   * The server side of a connection: the preface, then the fuzzer's bytes, fed in pieces of a size it chooses, before
   * or after authentication.
   */
  @FuzzTest
  void serverDecoder(FuzzedDataProvider data) {
    boolean authenticated = data.consumeBoolean();
    int piece = data.consumeInt(1, 64);
    byte[] bytes = concat(preface(Wire.VERSION), data.consumeRemainingAsBytes());
    FrameDecoder decoder = new FrameDecoder(true, MAX_FRAME);
    if (authenticated) {
      decoder.authenticated();
    }
    EmbeddedChannel channel = new EmbeddedChannel(decoder);
    boolean refused = false;
    try {
      for (int at = 0; at < bytes.length; at += piece) {
        ByteBuf next = Unpooled.wrappedBuffer(bytes, at, Math.min(piece, bytes.length - at));
        Throwable thrown = catchThrowable(() -> channel.writeInbound(next));
        if (thrown != null) {
          assertThat(refused).as("a second error after the stream was refused").isFalse();
          assertThat(thrown).isInstanceOf(DecoderException.class).cause().isInstanceOf(ProtocolException.class);
          refused = true;
        }
        for (Object out; (out = channel.readInbound()) != null; ) {
          assertThat(out).isInstanceOfAny(Envelope.class, Rejected.class);
          if (out instanceof Envelope envelope) {
            assertEncodesAgain(envelope.message());
          }
        }
      }
    } finally {
      channel.finishAndReleaseAll();
    }
  }

  /** The body parser of one opcode, on a body of the fuzzer's bytes. */
  @FuzzTest
  void everyBody(FuzzedDataProvider data) {
    Opcode opcode = data.pickValue(Opcode.values());
    ByteBuf body = Unpooled.wrappedBuffer(data.consumeRemainingAsBytes());
    Message message;
    try {
      message = MessageCodec.decode(opcode, body);
    } catch (ProtocolException | IndexOutOfBoundsException refused) {
      return;
    } finally {
      body.release();
    }
    assertEncodesAgain(message);
  }

  /** Encodes {@code message}, decodes that, and checks that it encodes to the same bytes again. */
  private static void assertEncodesAgain(Message message) {
    byte[] encoded = frame(new Envelope(0, message));
    ByteBuf body = Unpooled.wrappedBuffer(encoded, HEADER, encoded.length - HEADER);
    Message decoded;
    try {
      decoded = MessageCodec.decode(message.opcode(), body);
    } finally {
      body.release();
    }
    if (!Arrays.equals(frame(new Envelope(0, decoded)), encoded)) {
      throw new AssertionError(message.opcode() + " changed when encoded and decoded again: " + message + " became "
          + decoded);
    }
  }
}
