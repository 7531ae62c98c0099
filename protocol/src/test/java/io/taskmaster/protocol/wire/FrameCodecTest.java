package io.taskmaster.protocol.wire;

import static io.taskmaster.protocol.wire.WireSamples.concat;
import static io.taskmaster.protocol.wire.WireSamples.frame;
import static io.taskmaster.protocol.wire.WireSamples.lengthField;
import static io.taskmaster.protocol.wire.WireSamples.preface;
import static io.taskmaster.protocol.wire.WireSamples.rawFrame;
import static io.taskmaster.protocol.wire.WireSamples.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import io.taskmaster.broker.Delivery;
import io.taskmaster.broker.Settlement;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.protocol.auth.Handshake;
import io.taskmaster.protocol.message.Envelope;
import io.taskmaster.protocol.message.ErrorCode;
import io.taskmaster.protocol.message.Message;
import io.taskmaster.protocol.message.Opcode;
import io.taskmaster.protocol.wire.WireSamples.Body;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.assertj.core.api.InstanceOfAssertFactories;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The framing layer in isolation, on Netty's {@link EmbeddedChannel}: every message type round-trips whole and one
 * byte at a time, and every kind of bad input ends in a {@link ProtocolException} with the right {@link ErrorCode}
 * (reliability-tests.md rows 24, 25, 26 and 27, decoder side).
 */
class FrameCodecTest {
  /** The cap after authentication in these tests: big enough for every sample, far below the length-field range. */
  private static final int MAX_FRAME = 64 * 1024;

  private final List<EmbeddedChannel> channels = new ArrayList<>();

  @AfterEach
  void releaseChannels() {
    channels.forEach(EmbeddedChannel::finishAndReleaseAll);
  }

  /** The server's decoder: expects the preface, pre-authentication cap until {@code authenticated()}. */
  private EmbeddedChannel serverSide(boolean authenticated) {
    FrameDecoder decoder = new FrameDecoder(true, MAX_FRAME);
    if (authenticated) {
      decoder.authenticated();
    }
    EmbeddedChannel channel = new EmbeddedChannel(decoder);
    channels.add(channel);
    return channel;
  }

  /** The client's decoder: no preface. */
  private EmbeddedChannel clientSide(boolean authenticated) {
    FrameDecoder decoder = new FrameDecoder(false, MAX_FRAME);
    if (authenticated) {
      decoder.authenticated();
    }
    EmbeddedChannel channel = new EmbeddedChannel(decoder);
    channels.add(channel);
    return channel;
  }

  private static List<Envelope> feedWhole(EmbeddedChannel channel, byte[] bytes) {
    channel.writeInbound(Unpooled.wrappedBuffer(bytes));
    return drain(channel);
  }

  private static List<Envelope> feedOneByteAtATime(EmbeddedChannel channel, byte[] bytes) {
    List<Envelope> decoded = new ArrayList<>();
    for (byte b : bytes) {
      channel.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
      decoded.addAll(drain(channel));
    }
    return decoded;
  }

  private static List<Envelope> drain(EmbeddedChannel channel) {
    List<Envelope> decoded = new ArrayList<>();
    Object message;
    while ((message = channel.readInbound()) != null) {
      decoded.add((Envelope) message);
    }
    return decoded;
  }

  /** Feeds the bytes in one piece and returns the protocol error they must cause. */
  private static ProtocolException failureOf(EmbeddedChannel channel, byte[] bytes) {
    Throwable thrown = catchThrowable(() -> channel.writeInbound(Unpooled.wrappedBuffer(bytes)));
    return unwrap(thrown);
  }

  private static ProtocolException unwrap(Throwable thrown) {
    assertThat(thrown).as("the decoder must refuse this input")
        .isInstanceOf(DecoderException.class)
        .cause().isInstanceOf(ProtocolException.class);
    return (ProtocolException) thrown.getCause();
  }

  /** Where, fed one byte at a time, the input was refused, and why. */
  private record Refusal(int atByte, ProtocolException error) {}

  /**
   * Feeds one byte at a time until the decoder refuses; the bytes after that must be swallowed silently: a stream
   * that broke the protocol once is never decoded again.
   */
  private static Refusal refusalOf(EmbeddedChannel channel, byte[] bytes) {
    for (int i = 0; i < bytes.length; i++) {
      byte[] one = {bytes[i]};
      Throwable thrown = catchThrowable(() -> channel.writeInbound(Unpooled.wrappedBuffer(one)));
      if (thrown != null) {
        ProtocolException error = unwrap(thrown);
        assertThat(drain(channel)).isEmpty();
        byte[] rest = Arrays.copyOfRange(bytes, i + 1, bytes.length);
        assertThat(catchThrowable(() -> channel.writeInbound(Unpooled.wrappedBuffer(rest)))).isNull();
        assertThat(drain(channel)).isEmpty();
        return new Refusal(i, error);
      }
      assertThat(drain(channel)).as("nothing may be decoded from a refused frame").isEmpty();
    }
    throw new AssertionError("the decoder accepted all " + bytes.length + " bytes");
  }

  static Stream<Arguments> envelopes() {
    List<Envelope> envelopes = WireSamples.envelopes();
    return IntStream.range(0, envelopes.size()).mapToObj(i -> Arguments.of(
        org.junit.jupiter.api.Named.of(envelopes.get(i).message().opcode() + " #" + i, envelopes.get(i))));
  }

  /** The samples that have a body to cut (PING and PONG have none). */
  static Stream<Arguments> envelopesWithABody() {
    return envelopes().filter(arguments -> {
      Envelope envelope = (Envelope) ((org.junit.jupiter.api.Named<?>) arguments.get()[0]).getPayload();
      return frame(envelope).length > 4 + Wire.FRAME_HEADER_BYTES;
    });
  }

  // -- round trips -------------------------------------------------------------------------------------------

  @Test
  void samplesCoverEveryOpcode() {
    Set<Opcode> covered = WireSamples.messages().stream().map(Message::opcode).collect(Collectors.toSet());
    assertThat(covered).isEqualTo(EnumSet.allOf(Opcode.class));
  }

  @ParameterizedTest
  @MethodSource("envelopes")
  void everyMessageRoundTripsWhole(Envelope envelope) {
    List<Envelope> decoded = feedWhole(clientSide(true), frame(envelope));

    assertThat(decoded).singleElement().usingRecursiveComparison().isEqualTo(envelope);
  }

  @ParameterizedTest
  @MethodSource("envelopes")
  void everyMessageRoundTripsOneByteAtATime(Envelope envelope) {
    List<Envelope> decoded = feedOneByteAtATime(clientSide(true), frame(envelope));

    assertThat(decoded).singleElement().usingRecursiveComparison().isEqualTo(envelope);
  }

  @Test
  void prefaceAndEveryMessageDecodeInOrderWholeAndOneByteAtATime() {
    List<Envelope> envelopes = WireSamples.envelopes();
    byte[] stream = concat(preface(Wire.VERSION),
        concat(envelopes.stream().map(WireSamples::frame).toArray(byte[][]::new)));

    assertThat(feedWhole(serverSide(true), stream)).usingRecursiveFieldByFieldElementComparator()
        .containsExactlyElementsOf(envelopes);
    assertThat(feedOneByteAtATime(serverSide(true), stream)).usingRecursiveFieldByFieldElementComparator()
        .containsExactlyElementsOf(envelopes);
  }

  @Test
  void smallFramesDecodeBeforeAuthentication() {
    Envelope auth = new Envelope(0, new Message.Auth(new byte[32], new byte[32]));

    List<Envelope> decoded = feedOneByteAtATime(serverSide(false), concat(preface(Wire.VERSION), frame(auth)));

    assertThat(decoded).singleElement().usingRecursiveComparison().isEqualTo(auth);
  }

  /** The smallest delivery on the wire has empty strings, no headers and an empty payload: 32 bytes. */
  @Test
  void minimalDeliveriesRoundTrip() {
    Delivery minimal = new Delivery("", 0, 0, "", "", Map.of(), new byte[0], 0);
    Envelope leased = new Envelope(7, new Message.Leased(List.of(minimal, minimal, minimal)));

    assertThat(feedWhole(clientSide(true), frame(leased))).singleElement().usingRecursiveComparison()
        .isEqualTo(leased);
  }

  // -- preface -----------------------------------------------------------------------------------------------

  @Nested
  class Preface {
    @ParameterizedTest
    @ValueSource(strings = {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "POST /tasks HTTP/1.1\r\n", "PRI * HTTP/2.0\r\n"})
    void anotherProtocolIsRefusedAtItsFirstByte(String request) {
      Refusal refusal = refusalOf(serverSide(false), utf8(request));

      assertThat(refusal.atByte()).isZero();
      assertThat(refusal.error().code()).isEqualTo(ErrorCode.MALFORMED_FRAME);
      assertThat(refusal.error().getMessage()).contains("not the Taskmaster protocol");
    }

    @Test
    void theRefusalQuotesTheStartOfTheConnectionPrintably() {
      ProtocolException error = failureOf(serverSide(false), utf8("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));

      assertThat(error.code()).isEqualTo(ErrorCode.MALFORMED_FRAME);
      assertThat(error.getMessage()).contains("'GET / HTTP/1.1??'");
    }

    @Test
    void aTlsClientHelloIsRefused() {
      byte[] clientHello = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, (byte) 0xFC, 0x03, 0x03};

      assertThat(refusalOf(serverSide(false), clientHello).error().code()).isEqualTo(ErrorCode.MALFORMED_FRAME);
    }

    @Test
    void aMagicWrongOnlyInItsLastByteIsRefusedAtThatByte() {
      byte[] almost = preface(Wire.VERSION);
      almost[3] ^= 1;

      Refusal refusal = refusalOf(serverSide(false), almost);

      assertThat(refusal.atByte()).isEqualTo(3);
      assertThat(refusal.error().code()).isEqualTo(ErrorCode.MALFORMED_FRAME);
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 2, 0xFFFF})
    void anotherVersionIsRefusedNamingBothVersions(int version) {
      Refusal refusal = refusalOf(serverSide(false), concat(preface(version), frame(new Envelope(1,
          new Message.Ping()))));

      assertThat(refusal.atByte()).isEqualTo(Wire.PREFACE_BYTES - 1);
      assertThat(refusal.error().code()).isEqualTo(ErrorCode.UNSUPPORTED_VERSION);
      assertThat(refusal.error().getMessage())
          .contains("version " + version)
          .contains("version " + Wire.VERSION);
    }

    @Test
    void aPrefaceAloneDecodesNothingAndWaits() {
      EmbeddedChannel channel = serverSide(false);

      assertThat(feedOneByteAtATime(channel, preface(Wire.VERSION))).isEmpty();
      assertThat(feedWhole(channel, frame(new Envelope(3, new Message.Auth(new byte[32], new byte[32])))))
          .hasSize(1);
    }

    @Test
    void theClientSideExpectsNoPreface() {
      ProtocolException error = failureOf(clientSide(false), preface(Wire.VERSION));

      // "TMQP" read as a length is far above the pre-authentication cap.
      assertThat(error.code()).isEqualTo(ErrorCode.FRAME_TOO_LARGE);
    }
  }

  // -- length field ------------------------------------------------------------------------------------------

  @Nested
  class LengthField {
    @ParameterizedTest
    @ValueSource(longs = {0, 1, 2, 3, 4})
    void aLengthBelowTheHeaderSizeIsMalformed(long length) {
      Refusal refusal = refusalOf(serverSide(false), concat(preface(Wire.VERSION), lengthField(length),
          new byte[8]));

      assertThat(refusal.atByte()).as("refused as soon as the length field is complete")
          .isEqualTo(Wire.PREFACE_BYTES + 3);
      assertThat(refusal.error().code()).isEqualTo(ErrorCode.MALFORMED_FRAME);
      assertThat(refusal.error().getMessage()).contains("below the minimum of " + Wire.FRAME_HEADER_BYTES);
    }

    @Test
    void beforeAuthenticationTheSmallCapAppliesFromTheLengthFieldAlone() {
      EmbeddedChannel channel = serverSide(false);
      feedWhole(channel, preface(Wire.VERSION));

      ProtocolException error = failureOf(channel, lengthField(Wire.PRE_AUTH_MAX_FRAME_BYTES + 1));

      assertThat(error.code()).isEqualTo(ErrorCode.FRAME_TOO_LARGE);
      assertThat(error.getMessage())
          .contains(String.valueOf(Wire.PRE_AUTH_MAX_FRAME_BYTES + 1))
          .contains("limit of " + Wire.PRE_AUTH_MAX_FRAME_BYTES + " bytes before authentication");
    }

    @Test
    void aFrameExactlyAtThePreAuthenticationCapIsAwaited() {
      EmbeddedChannel channel = serverSide(false);

      List<Envelope> decoded = feedWhole(channel, concat(preface(Wire.VERSION),
          lengthField(Wire.PRE_AUTH_MAX_FRAME_BYTES), new byte[100]));

      assertThat(decoded).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(longs = {0x7FFF_FFFFL, 0x8000_0000L, 0xFFFF_FFFFL, Wire.DEFAULT_MAX_FRAME_BYTES})
    void hugeLengthsAreRefusedBeforeAuthenticationWithoutWaitingForTheBody(long length) {
      Refusal refusal = refusalOf(serverSide(false), concat(preface(Wire.VERSION), lengthField(length),
          new byte[16]));

      assertThat(refusal.atByte()).isEqualTo(Wire.PREFACE_BYTES + 3);
      assertThat(refusal.error().code()).isEqualTo(ErrorCode.FRAME_TOO_LARGE);
    }

    @ParameterizedTest
    @ValueSource(longs = {0x7FFF_FFFFL, 0x8000_0000L, 0xFFFF_FFFFL, MAX_FRAME + 1})
    void afterAuthenticationLengthsAboveTheMaximumAreRefused(long length) {
      Refusal refusal = refusalOf(serverSide(true), concat(preface(Wire.VERSION), lengthField(length),
          new byte[16]));

      assertThat(refusal.atByte()).isEqualTo(Wire.PREFACE_BYTES + 3);
      assertThat(refusal.error().code()).isEqualTo(ErrorCode.FRAME_TOO_LARGE);
      assertThat(refusal.error().getMessage()).contains("limit of " + MAX_FRAME + " bytes")
          .doesNotContain("before authentication");
    }

    @Test
    void authenticationLiftsTheCapToTheConfiguredMaximum() {
      Envelope bigPut = new Envelope(9, new Message.Put(List.of(
          new TaskMessage("big", "q", "t", Map.of(), new byte[10_000]))));

      ProtocolException before = failureOf(serverSide(false), concat(preface(Wire.VERSION), frame(bigPut)));
      List<Envelope> after = feedWhole(serverSide(true), concat(preface(Wire.VERSION), frame(bigPut)));

      assertThat(before.code()).isEqualTo(ErrorCode.FRAME_TOO_LARGE);
      assertThat(after).singleElement().usingRecursiveComparison().isEqualTo(bigPut);
    }

    @Test
    void aFrameExactlyAtTheMaximumIsAccepted() {
      byte[] payload = new byte[MAX_FRAME - Wire.FRAME_HEADER_BYTES - 4];
      byte[] settled = rawFrame(Opcode.SETTLED.code(), 5, new Body().i32(payload.length).bytes(payload).build());

      List<Envelope> decoded = feedWhole(clientSide(true), settled);

      assertThat(decoded).singleElement()
          .extracting(e -> ((Message.Settled) e.message()).statuses(), InstanceOfAssertFactories.LIST)
          .hasSize(payload.length);
    }

    @Test
    void theClientSideAlsoCapsFramesBeforeAuthentication() {
      ProtocolException error = failureOf(clientSide(false), lengthField(Wire.PRE_AUTH_MAX_FRAME_BYTES + 1));

      assertThat(error.code()).isEqualTo(ErrorCode.FRAME_TOO_LARGE);
    }
  }

  // -- bodies ------------------------------------------------------------------------------------------------

  @Nested
  class Bodies {
    /**
     * Every encoding is self-delimiting, so every strict prefix of every body is malformed; but for an AUTH_OK that
     * ends after its proof, which is how masters from before its frame limit field write it.
     */
    @ParameterizedTest
    @MethodSource("io.taskmaster.protocol.wire.FrameCodecTest#envelopesWithABody")
    void everyTruncatedBodyIsMalformed(Envelope envelope) {
      byte[] whole = frame(envelope);
      int bodyLength = whole.length - 4 - Wire.FRAME_HEADER_BYTES;

      for (int cut = 0; cut < bodyLength; cut++) {
        if (envelope.message() instanceof Message.AuthOk && cut == Handshake.PROOF_BYTES) {
          continue;
        }
        byte[] truncated = Arrays.copyOf(whole, 4 + Wire.FRAME_HEADER_BYTES + cut);
        System.arraycopy(lengthField(Wire.FRAME_HEADER_BYTES + cut), 0, truncated, 0, 4);

        ProtocolException error = failureOf(clientSide(true), truncated);

        assertThat(error.code()).as("body cut to %d of %d bytes", cut, bodyLength)
            .isEqualTo(ErrorCode.MALFORMED_FRAME);
      }
    }

    @Test
    void anAuthOkWithoutTheFrameLimitIsReadAsNotSayingIt() {
      Message.AuthOk sent = new Message.AuthOk(Handshake.nonce(Handshake.PROOF_BYTES), 1 << 20);
      byte[] whole = frame(new Envelope(7, sent));
      byte[] older = Arrays.copyOf(whole, whole.length - 4);
      System.arraycopy(lengthField(Wire.FRAME_HEADER_BYTES + Handshake.PROOF_BYTES), 0, older, 0, 4);

      Message.AuthOk read = (Message.AuthOk) feedWhole(clientSide(true), older).get(0).message();
      Message.AuthOk readWhole = (Message.AuthOk) feedWhole(clientSide(true), whole).get(0).message();

      assertThat(read.serverProof()).isEqualTo(sent.serverProof());
      assertThat(read.maxFrameBytes()).isZero();
      assertThat(readWhole.maxFrameBytes()).isEqualTo(1 << 20);
    }

    @ParameterizedTest
    @MethodSource("io.taskmaster.protocol.wire.FrameCodecTest#envelopes")
    void trailingBytesInsideAFrameAreMalformed(Envelope envelope) {
      byte[] whole = frame(envelope);
      byte[] longer = concat(lengthField(whole.length - 4 + 1), Arrays.copyOfRange(whole, 4, whole.length),
          new byte[] {0});

      ProtocolException error = failureOf(clientSide(true), longer);

      assertThat(error.code()).isEqualTo(ErrorCode.MALFORMED_FRAME);
      assertThat(error.getMessage()).contains("1 unexpected bytes after the " + envelope.message().opcode());
    }

    static Stream<Arguments> negativeCounts() {
      return Stream.of(-1, -2, Integer.MIN_VALUE).flatMap(count -> Stream.of(
          Arguments.of(Opcode.PUT, new Body().i32(count).build()),
          Arguments.of(Opcode.SETTLE, new Body().i32(count).build()),
          Arguments.of(Opcode.LEASED, new Body().i32(count).build()),
          Arguments.of(Opcode.SETTLED, new Body().i32(count).build()),
          Arguments.of(Opcode.ERROR, new Body().i16(7).i32(count).build()),
          Arguments.of(Opcode.RESULT, new Body().string("t").i8(2).string("E").i32(count).build()),
          // a byte string's length of -1 means null; every other negative length is malformed
          Arguments.of(Opcode.SETTLE, new Body().i32(1).i64(1).i8(1).i32(count == -1 ? -2 : count).build())));
    }

    @ParameterizedTest(name = "{0} {index}")
    @MethodSource("negativeCounts")
    void negativeCountsAndLengthsAreMalformed(Opcode opcode, byte[] body) {
      ProtocolException error = failureOf(clientSide(true), rawFrame(opcode.code(), 1, body));

      assertThat(error.code()).isEqualTo(ErrorCode.MALFORMED_FRAME);
      assertThat(error.getMessage()).contains("negative");
    }

    static Stream<Arguments> hugeCounts() {
      int huge = Integer.MAX_VALUE;
      return Stream.of(
          Arguments.of(Opcode.PUT, new Body().i32(huge).build()),
          Arguments.of(Opcode.SETTLE, new Body().i32(huge).build()),
          Arguments.of(Opcode.LEASED, new Body().i32(huge).build()),
          Arguments.of(Opcode.SETTLED, new Body().i32(huge).build()),
          Arguments.of(Opcode.ERROR, new Body().i16(7).i32(huge).build()),
          Arguments.of(Opcode.SIZE, new Body().i16(0xFFFF).build()),
          Arguments.of(Opcode.PUT, new Body().i32(1).string("t").string("q").string("").i16(0xFFFF).build()),
          Arguments.of(Opcode.PUT,
              new Body().i32(1).string("t").string("q").string("").i16(0).i32(huge).build()),
          Arguments.of(Opcode.SETTLE, new Body().i32(1).i64(1).i8(1).i32(huge).build()),
          Arguments.of(Opcode.RESULT, new Body().string("t").i8(1).i32(huge).build()));
    }

    /**
     * A count or length claiming 2^31-1 elements in a frame of a few bytes is refused by comparing it with the bytes
     * left, before anything is allocated: the decoding thread allocates well under a megabyte.
     */
    @ParameterizedTest(name = "{0} {index}")
    @MethodSource("hugeCounts")
    void hugeCountsInTinyFramesFailFastWithoutAllocating(Opcode opcode, byte[] body) {
      byte[] hostile = rawFrame(opcode.code(), 1, body);
      failureOf(clientSide(true), hostile); // warm up: class loading allocates too
      EmbeddedChannel channel = clientSide(true);

      long before = allocatedBytes();
      ProtocolException error = failureOf(channel, hostile);
      long allocated = allocatedBytes() - before;

      assertThat(error.code()).isEqualTo(ErrorCode.MALFORMED_FRAME);
      assertThat(error.getMessage()).contains("bytes but only");
      if (before >= 0) {
        assertThat(allocated).as("bytes allocated while refusing the frame").isLessThan(1024 * 1024);
      }
    }

    private static long allocatedBytes() {
      if (ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean threads
          && threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled()) {
        return threads.getCurrentThreadAllocatedBytes();
      }
      return -1;
    }

    @Test
    void everyUnassignedOpcodeIsRefused() {
      for (int code = 0; code < 256; code++) {
        if (Opcode.of(code) != null) {
          continue;
        }
        ProtocolException error = failureOf(clientSide(true), rawFrame(code, 1, new byte[0]));

        assertThat(error.code()).as("opcode 0x%02x", code).isEqualTo(ErrorCode.UNKNOWN_OPCODE);
        assertThat(error.getMessage()).contains("0x" + Integer.toHexString(code));
      }
    }

    static Stream<Arguments> unknownEnumValues() {
      return Stream.of(
          Arguments.of(Opcode.SETTLE, new Body().i32(1).i64(1).i8(0).build(), "settlement kind 0"),
          Arguments.of(Opcode.SETTLE, new Body().i32(1).i64(1).i8(4).build(), "settlement kind 4"),
          Arguments.of(Opcode.SETTLED, new Body().i32(1).i8(2).build(), "settle status 2"),
          Arguments.of(Opcode.RESULT, new Body().string("t").i8(0).build(), "result status 0"),
          Arguments.of(Opcode.RESULT, new Body().string("t").i8(3).build(), "result status 3"));
    }

    @ParameterizedTest(name = "{2}")
    @MethodSource("unknownEnumValues")
    void unknownTagsInsideBodiesAreMalformed(Opcode opcode, byte[] body, String named) {
      ProtocolException error = failureOf(clientSide(true), rawFrame(opcode.code(), 1, body));

      assertThat(error.code()).isEqualTo(ErrorCode.MALFORMED_FRAME);
      assertThat(error.getMessage()).contains(named);
    }

    @Test
    void aNullPayloadInAPutIsMalformed() {
      byte[] body = new Body().i32(1).string("t").string("q").string("").i16(0).i32(-1).build();

      ProtocolException error = failureOf(serverSide(true), concat(preface(Wire.VERSION),
          rawFrame(Opcode.PUT.code(), 1, body)));

      assertThat(error.code()).isEqualTo(ErrorCode.MALFORMED_FRAME);
    }

    @Test
    void aTaskWithAnInvalidNameIsRejectedWithoutBreakingTheStream() {
      byte[] body = new Body().i32(1).string("").string("q").string("").i16(0).i32(0).i8(0).i16(0).i64(0).i32(0)
          .string("").build();
      EmbeddedChannel channel = serverSide(true);

      channel.writeInbound(Unpooled.wrappedBuffer(concat(preface(Wire.VERSION),
          rawFrame(Opcode.PUT.code(), 7, body), frame(new Envelope(8, new Message.Ping())))));

      Rejected rejected = channel.readInbound();
      assertThat(rejected.requestId()).isEqualTo(7);
      assertThat(rejected.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT);
      assertThat(rejected.message()).contains("task id");
      Envelope next = channel.readInbound();
      assertThat(next.message()).isInstanceOf(Message.Ping.class);
    }

    /** A PUT of one task whose type is {@code length} bytes that are not UTF-8. */
    private byte[] putWithAnInvalidUtf8Type(int length) {
      return rawFrame(Opcode.PUT.code(), 7, new Body().i32(1).string("t").string("q").i16(length)
          .bytes(WireSamples.filled(length, 0xFF)).i16(0).i32(0).i8(0).i16(0).i64(0).i32(0).string("").build());
    }

    /**
     * Bytes that are not UTF-8 read as U+FFFD, three bytes each. A task type of more than 21845 of them no longer
     * fits a str, and a master that stored it could send the task to no worker: each LEASED failed to encode, and
     * the master closed the connection of the worker that asked with INTERNAL (found by CommandFuzzTest). Such a
     * string is refused on its own, and the stream goes on.
     */
    @Test
    void aStringThatOutgrowsAStrOnceItsBadBytesAreReplacedIsRejected() {
      EmbeddedChannel channel = serverSide(true);

      channel.writeInbound(Unpooled.wrappedBuffer(concat(preface(Wire.VERSION),
          putWithAnInvalidUtf8Type(0xFFFF / 3 + 1), frame(new Envelope(8, new Message.Ping())))));

      Rejected rejected = channel.readInbound();
      assertThat(rejected.requestId()).isEqualTo(7);
      assertThat(rejected.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT);
      assertThat(rejected.message()).contains("21846 bytes is not valid UTF-8").contains("65538 bytes");
      Envelope next = channel.readInbound();
      assertThat(next.message()).isInstanceOf(Message.Ping.class);
    }

    /** Up to the bound the replaced type is kept, and the task can be encoded again (a LEASED carries it). */
    @Test
    void aStringOfInvalidUtf8ThatStillFitsAStrIsKept() {
      EmbeddedChannel channel = serverSide(true);

      channel.writeInbound(Unpooled.wrappedBuffer(concat(preface(Wire.VERSION),
          putWithAnInvalidUtf8Type(0xFFFF / 3))));

      Envelope put = channel.readInbound();
      String type = ((Message.Put) put.message()).tasks().get(0).type();
      assertThat(type).isEqualTo("\uFFFD".repeat(0xFFFF / 3));
      assertThat(frame(put)).hasSize(putWithAnInvalidUtf8Type(0xFFFF / 3).length + 2 * (0xFFFF / 3));
    }

    /** A SETTLE failing lease 1 with an error message of {@code message}'s bytes, as they are. */
    private byte[] settleFailureWithMessage(byte[] message) {
      return rawFrame(Opcode.SETTLE.code(), 7, new Body().i32(1).i64(1).i8(2).string("E").i32(message.length)
          .bytes(message).i32(0).string("w").build());
    }

    /**
     * A text has no bound but its frame's, so one that grows as its bad bytes are replaced would make the frame the
     * master sends on (the RESULT carrying a task's error) larger than the one it came in (InvalidUtf8TextTest).
     */
    @Test
    void aTextThatGrowsOnceItsBadBytesAreReplacedIsRejected() {
      EmbeddedChannel channel = serverSide(true);

      channel.writeInbound(Unpooled.wrappedBuffer(concat(preface(Wire.VERSION),
          settleFailureWithMessage(new byte[] {'o', 'k', (byte) 0xFF}), frame(new Envelope(8, new Message.Ping())))));

      Rejected rejected = channel.readInbound();
      assertThat(rejected.requestId()).isEqualTo(7);
      assertThat(rejected.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT);
      assertThat(rejected.message()).contains("a text of 3 bytes is not valid UTF-8").contains("takes 5 bytes");
      Envelope next = channel.readInbound();
      assertThat(next.message()).isInstanceOf(Message.Ping.class);
    }

    @Test
    void aTextOfValidUtf8IsKeptAsSent() {
      EmbeddedChannel channel = serverSide(true);
      String message = "d\u00e9j\u00e0 vu \u221e \ud83d\ude00";

      channel.writeInbound(Unpooled.wrappedBuffer(concat(preface(Wire.VERSION),
          settleFailureWithMessage(message.getBytes(StandardCharsets.UTF_8)))));

      Envelope settle = channel.readInbound();
      Settlement.Fail fail = (Settlement.Fail) ((Message.Settle) settle.message()).settlements().get(0);
      assertThat(fail.error().message()).isEqualTo(message);
    }

    @Test
    void framesBeforeTheBadOneAreDeliveredAndNothingAfterIt() {
      EmbeddedChannel channel = serverSide(true);
      Envelope ping = new Envelope(1, new Message.Ping());
      byte[] stream = concat(preface(Wire.VERSION), frame(ping), rawFrame(0x7F, 2, new byte[0]), frame(ping));

      ProtocolException error = failureOf(channel, stream);
      List<Envelope> decoded = drain(channel);

      assertThat(error.code()).isEqualTo(ErrorCode.UNKNOWN_OPCODE);
      assertThat(decoded).singleElement().usingRecursiveComparison().isEqualTo(ping);
      assertThat(feedWhole(channel, frame(ping))).as("a broken stream is never decoded again").isEmpty();
    }
  }
}
