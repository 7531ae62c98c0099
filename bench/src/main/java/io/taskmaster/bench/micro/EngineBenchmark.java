package io.taskmaster.bench.micro;

import io.taskmaster.broker.Delivery;
import io.taskmaster.broker.Settlement;
import io.taskmaster.broker.TaskIds;
import io.taskmaster.broker.TaskMessage;
import io.taskmaster.server.engine.EngineSettings;
import io.taskmaster.server.engine.QueueEngine;
import io.taskmaster.time.Ticker;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
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

/**
 * One task through the engine alone (put, lease, ack): the engine's share of the end-to-end cost, without network.
 * Run: {@code java -cp bench/target/taskmaster-bench.jar org.openjdk.jmh.Main EngineBenchmark}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class EngineBenchmark {
  private static final byte[] PAYLOAD =
      "{\"id\":1,\"n\":1,\"op\":\"square\",\"pad\":\"abcd\"}".getBytes(StandardCharsets.UTF_8);
  private static final byte[] RESULT = "{\"id\":1,\"r\":1,\"w\":\"w1\"}".getBytes(StandardCharsets.UTF_8);

  private QueueEngine engine;
  private final List<Delivery> leased = new ArrayList<>(1);

  @Setup
  public void setUp() {
    engine = new QueueEngine(EngineSettings.defaults(), Ticker.system());
  }

  @Benchmark
  public List<?> putLeaseAck() {
    engine.put(List.of(new TaskMessage(TaskIds.next(), "bench", "square", Map.of(), PAYLOAD)));
    leased.clear();
    engine.lease(1, "bench", 1, false, leased::addAll);
    return engine.settle(1, List.of(Settlement.ack(leased.get(0).leaseId(), RESULT)));
  }
}
