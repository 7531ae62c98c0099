package io.taskmaster.server.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskmaster.producer.Producer;
import io.taskmaster.producer.SubmitOptions;
import io.taskmaster.producer.TaskHandle;
import io.taskmaster.server.engine.EngineSettings;
import io.taskmaster.server.engine.QueueEngine;
import io.taskmaster.task.TaskType;
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
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A worker whose leases expired behind a stuck task: the task that waited must not also run here, and its place in
 * the worker must come back. The engine's clock is the test's, and the test plays the lease reaper.
 */
class LeaseExpiryInWorkerTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final String QUEUE = "expiry";
  private final AtomicLong now = new AtomicLong(1_000_000_000L);
  private final QueueEngine engine = new QueueEngine(
      EngineSettings.defaults().withVisibilityTimeout(Duration.ofMillis(600)), now::get);
  private final List<AutoCloseable> opened = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = opened.size() - 1; i >= 0; i--) {
      opened.get(i).close();
    }
  }

  private <T extends AutoCloseable> T opened(T closeable) {
    opened.add(closeable);
    return closeable;
  }

  @Test
  void aTaskWhoseLeaseExpiredWhileItWaitedRunsOnceAndItsPlaceIsFreed() throws InterruptedException {
    TaskType<String, String> job = TaskType.of("job", String.class, String.class);
    CountDownLatch stuckStarted = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    Map<String, AtomicInteger> runs = new ConcurrentHashMap<>();
    opened(Worker.builder(opened(new EmbeddedBroker(engine, "worker"))).id("w").queue(QUEUE).concurrency(1)
        .prefetch(1).handle(job, name -> {
          runs.computeIfAbsent(name, key -> new AtomicInteger()).incrementAndGet();
          if (name.equals("stuck")) {
            stuckStarted.countDown();
            if (!release.await(WAIT.toSeconds(), TimeUnit.SECONDS)) {
              throw new IllegalStateException("never released");
            }
          }
          return name;
        }).start());
    Producer producer = Producer.on(opened(new EmbeddedBroker(engine, "producer")));
    List<TaskHandle<String>> handles = producer.submitAll(job, List.of("stuck", "waiting"),
        SubmitOptions.queue(QUEUE));
    assertThat(stuckStarted.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
    Awaitility.await().atMost(WAIT).until(() -> engine.stats().leased() == 2);

    // The worker may extend a lease between the clock's step and the reaper's run; then step again at once.
    int expired = 0;
    while (expired < 2) {
      now.addAndGet(Duration.ofSeconds(1).toNanos());
      expired += engine.expireLeases().size();
    }
    assertThat(expired).as("both leases ran out: the running task and the one waiting behind it").isEqualTo(2);
    // The worker learns it when its next extension is refused; the waiting task's permit then leases again.
    Awaitility.await().atMost(WAIT).until(() -> engine.stats().leased() == 1);
    release.countDown();

    assertThat(handles).allSatisfy(handle -> assertThat(handle.result()).succeedsWithin(WAIT));
    assertThat(runs.get("waiting")).as("its first delivery never started; the second ran").hasValue(1);
    assertThat(runs.get("stuck")).as("first delivery, then the one after its lease expired").hasValue(2);
  }
}
