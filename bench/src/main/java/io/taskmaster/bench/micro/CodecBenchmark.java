package io.taskmaster.bench.micro;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.taskmaster.broker.TaskIds;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.protocol.message.Envelope;
import io.taskmaster.protocol.message.Message;
import io.taskmaster.protocol.wire.FrameDecoder;
import io.taskmaster.protocol.wire.FrameEncoder;
import io.taskmaster.protocol.wire.Wire;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/** Encoding and decoding one PUT frame of one peer-sized task. */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class CodecBenchmark {
  private Envelope put;
  private EmbeddedChannel decoder;

  @Setup
  public void setUp() {
    byte[] payload = "{\"id\":1,\"n\":1,\"op\":\"square\",\"pad\":\"abcd\"}".getBytes(StandardCharsets.UTF_8);
    put = new Envelope(7, new Message.Put(List.of(new TaskMessage(TaskIds.next(), "bench", "square", Map.of(),
        payload))));
    FrameDecoder frames = new FrameDecoder(false, Wire.DEFAULT_MAX_FRAME_BYTES);
    frames.authenticated();
    decoder = new EmbeddedChannel(frames);
  }

  @Benchmark
  public Object encodeDecode() {
    ByteBuf buffer = PooledByteBufAllocator.DEFAULT.buffer(256);
    FrameEncoder.writeFrame(put, buffer);
    decoder.writeInbound(buffer);
    return decoder.readInbound();
  }
}
