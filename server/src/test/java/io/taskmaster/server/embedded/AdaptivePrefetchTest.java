package io.taskmaster.server.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskmaster.producer.Producer;
import io.taskmaster.producer.SubmitOptions;
import io.taskmaster.producer.TaskHandle;
import io.taskmaster.server.engine.EngineSettings;
import io.taskmaster.server.engine.QueueEngine;
import io.taskmaster.task.TaskType;
import io.taskmaster.time.Ticker;
import io.taskmaster.worker.TaskContext;
import io.taskmaster.worker.Worker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Adaptive prefetch: short tasks come a batch per lease; tasks that wait behind a long one go to idle workers.
 */
class AdaptivePrefetchTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final String QUEUE = "adaptive";
  private final QueueEngine engine = new QueueEngine(EngineSettings.defaults(), Ticker.system());
  private final List<AutoCloseable> opened = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = opened.size() - 1; i >= 0; i--) {
      opened.get(i).close();
    }
  }

  private EmbeddedBroker broker(String name) {
    EmbeddedBroker broker = new EmbeddedBroker(engine, name);
    opened.add(broker);
    return broker;
  }

  private Worker worker(String id, TaskType<Integer, String> type, io.taskmaster.worker.TaskHandler<Integer, String>
      handler) {
    Worker worker = Worker.builder(broker(id)).id(id).queue(QUEUE).concurrency(1).adaptivePrefetch()
        .handle(type, handler).start();
    opened.add(worker);
    return worker;
  }

  @Test
  void shortTasksAreLeasedInBatches() {
    TaskType<Integer, String> tiny = TaskType.of("tiny", Integer.class, String.class);
    AtomicLong mostLeased = new AtomicLong();
    worker("w-tiny", tiny, n -> {
      mostLeased.accumulateAndGet(engine.stats().leased(), Math::max);
      return "ok";
    });

    List<TaskHandle<String>> handles = Producer.on(broker("producer")).submitAll(tiny,
        IntStream.range(0, 3000).boxed().toList(), SubmitOptions.queue(QUEUE));
    handles.forEach(handle -> assertThat(handle.result()).succeedsWithin(WAIT));

    assertThat(mostLeased.get()).as("tasks held at once by a worker running one at a time")
        .isGreaterThan(1).isLessThanOrEqualTo(1 + 256);
  }

  @Test
  void tasksWaitingBehindALongOneAreGivenToAnIdleWorker() throws InterruptedException {
    TaskType<Integer, String> job = TaskType.of("job", Integer.class, String.class);
    CountDownLatch longOneStarted = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    Map<Integer, AtomicInteger> runs = new ConcurrentHashMap<>();
    io.taskmaster.worker.TaskHandler<Integer, String> handler = n -> {
      runs.computeIfAbsent(n, key -> new AtomicInteger()).incrementAndGet();
      if (n < 0) {
        longOneStarted.countDown();
        if (!release.await(WAIT.toSeconds(), TimeUnit.SECONDS)) {
          throw new IllegalStateException("never released");
        }
      }
      return TaskContext.current().workerId();
    };
    worker("w-first", job, handler);
    Producer producer = Producer.on(broker("producer"));
    // Short tasks first: the first worker learns to lease ahead.
    producer.submitAll(job, IntStream.range(0, 500).boxed().toList(), SubmitOptions.queue(QUEUE))
        .forEach(handle -> assertThat(handle.result()).succeedsWithin(WAIT));
    runs.clear();

    // One put: a long task, then short ones the first worker takes along and would hold behind it.
    List<TaskHandle<String>> handles = producer.submitAll(job, List.of(-1, 1, 2, 3), SubmitOptions.queue(QUEUE));
    assertThat(longOneStarted.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
    Worker second = worker("w-second", job, handler);

    for (TaskHandle<String> shortOne : handles.subList(1, 4)) {
      assertThat(shortOne.result()).as("done while the long task still runs").succeedsWithin(WAIT)
          .isEqualTo("w-second");
    }
    second.close();
    release.countDown();
    assertThat(handles.get(0).result()).succeedsWithin(WAIT).isEqualTo("w-first");
    // The first worker runs one task at a time, so this one starts after it went through the rest of the batch.
    assertThat(producer.submit(job, 1000, SubmitOptions.queue(QUEUE)).result()).succeedsWithin(WAIT)
        .isEqualTo("w-first");
    assertThat(List.of(1, 2, 3)).as("the tasks given back ran once, on the second worker, not again on the first")
        .allSatisfy(n -> assertThat(runs.get(n)).hasValue(1));
    Awaitility.await().atMost(WAIT).until(() -> engine.stats().leased() == 0);
  }
}
