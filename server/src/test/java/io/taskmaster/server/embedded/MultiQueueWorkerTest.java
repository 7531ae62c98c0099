package io.taskmaster.server.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskmaster.producer.Producer;
import io.taskmaster.producer.SubmitOptions;
import io.taskmaster.producer.TaskHandle;
import io.taskmaster.server.engine.EngineSettings;
import io.taskmaster.server.engine.QueueEngine;
import io.taskmaster.task.TaskType;
import io.taskmaster.time.Ticker;
import io.taskmaster.worker.TaskHandler;
import io.taskmaster.worker.Worker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.UnaryOperator;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * A worker serving several queues serves all of them, even with one thread: a long poll on a quiet queue must not
 * hold the slot a busy queue needs (it used to, for good).
 */
class MultiQueueWorkerTest {
  private static final TaskType<Integer, Integer> SQUARE = TaskType.of("square", Integer.class, Integer.class);

  @Test
  void aBusyQueueIsServedWhileTheQueueBeforeItIsQuiet() throws Exception {
    assertServed(List.of("quiet", "busy"), List.of("busy"), n -> n * n, builder -> builder);
  }

  @Test
  void everyQueueIsServedWhenAllAreBusy() throws Exception {
    assertServed(List.of("first", "second", "third"), List.of("first", "second", "third"), n -> n * n,
        builder -> builder);
  }

  @Test
  void aBusyQueueIsServedBehindAQuietOneWithAdaptivePrefetch() throws Exception {
    // Tasks of a few milliseconds are leased one per free thread, and adaptive prefetch counted the quiet queue's
    // poll against that one: a task per long poll (2 s).
    TaskHandler<Integer, Integer> slowSquare = n -> {
      Thread.sleep(3); // the workload: a task too long to lease ahead
      return n * n;
    };
    assertServed(List.of("quiet", "busy"), List.of("busy"), slowSquare, Worker.Builder::adaptivePrefetch);
  }

  private static void assertServed(List<String> served, List<String> filled, TaskHandler<Integer, Integer> square,
      UnaryOperator<Worker.Builder> configure) throws Exception {
    QueueEngine engine = new QueueEngine(EngineSettings.defaults(), Ticker.system());
    try (EmbeddedBroker workerSide = new EmbeddedBroker(engine, "worker");
        EmbeddedBroker producerSide = new EmbeddedBroker(engine, "producer")) {
      Producer producer = Producer.on(producerSide);
      List<Integer> numbers = IntStream.rangeClosed(1, 20).boxed().toList();
      List<TaskHandle<Integer>> handles = new ArrayList<>();
      for (String queue : filled) {
        handles.addAll(producer.submitAll(SQUARE, numbers, SubmitOptions.queue(queue)));
      }
      Worker.Builder builder = configure.apply(Worker.builder(workerSide).id("w").concurrency(1)
          .handle(SQUARE, square));
      served.forEach(builder::queue);
      try (Worker worker = builder.start()) {
        // One deadline for all: a queue served once per long poll still answers each task within seconds.
        CompletableFuture<?>[] results = handles.stream().map(TaskHandle::result).toArray(CompletableFuture[]::new);
        assertThat(CompletableFuture.allOf(results)).succeedsWithin(Duration.ofSeconds(20));
        for (int i = 0; i < handles.size(); i++) {
          int n = numbers.get(i % numbers.size());
          assertThat(handles.get(i).result()).isCompletedWithValue(n * n);
        }
      }
    }
  }
}
