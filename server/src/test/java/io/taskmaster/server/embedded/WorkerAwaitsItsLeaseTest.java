package io.taskmaster.server.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.taskmaster.broker.Broker;
import io.taskmaster.producer.Producer;
import io.taskmaster.producer.SubmitOptions;
import io.taskmaster.producer.TaskHandle;
import io.taskmaster.server.engine.EngineSettings;
import io.taskmaster.server.engine.QueueEngine;
import io.taskmaster.task.TaskType;
import io.taskmaster.time.Ticker;
import io.taskmaster.worker.Concurrency;
import io.taskmaster.worker.Worker;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/**
 * A task thread that has settled its run waits a little for the lease it sent with the settlement, so that with the
 * remote broker it reads the next task itself (its waiting callers read their own answers) instead of a reader
 * thread waking it. Seen here through a broker whose lease futures note who waits on them; only the CPU-bound
 * mode's pool threads wait.
 */
class WorkerAwaitsItsLeaseTest {
  private static final TaskType<Integer, Integer> SQUARE = TaskType.of("square", Integer.class, Integer.class);
  private static final String QUEUE = "awaited";
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  @Test
  void aCpuBoundWorkersTaskThreadWaitsForTheLeaseItSent() throws Exception {
    // Each next task is put only once a thread waits on the lease sent after the last: the lease is still open then.
    Queue<Thread> waiters = runTwentyTasks(Concurrency.CPU_BOUND, (done, waiting) -> await().atMost(TIMEOUT)
        .until(() -> waiting.size() >= done));
    assertThat(waiters).as("threads that waited on a lease")
        .allMatch(thread -> thread.getName().startsWith("taskmaster-task-w-"));
  }

  @Test
  void anIoBoundWorkersTaskThreadDoesNotWait() throws Exception {
    // Its next task goes to a fresh or idle thread (a virtual one where the JDK has them) whoever reads it.
    assertThat(runTwentyTasks(Concurrency.IO_BOUND, (done, waiting) -> { })).as("threads that waited on a lease")
        .isEmpty();
  }

  /** What to wait for before the next task is put, given the tasks done and the threads that waited so far. */
  private interface Pace {
    void beforeNext(int done, Queue<Thread> waiters);
  }

  /** Runs twenty tasks, one after the other, on a worker of one slot; returns who waited on a lease's future. */
  private static Queue<Thread> runTwentyTasks(Concurrency mode, Pace pace) throws Exception {
    QueueEngine engine = new QueueEngine(EngineSettings.defaults(), Ticker.system());
    Queue<Thread> waiters = new ConcurrentLinkedQueue<>();
    try (EmbeddedBroker workerSide = new EmbeddedBroker(engine, "worker");
        EmbeddedBroker producerSide = new EmbeddedBroker(engine, "producer")) {
      Broker noting = (Broker) Proxy.newProxyInstance(Broker.class.getClassLoader(), new Class<?>[] {Broker.class},
          (proxy, method, args) -> {
            try {
              Object answer = method.invoke(workerSide, args);
              return method.getName().equals("lease") ? noting((CompletableFuture<?>) answer, waiters) : answer;
            } catch (InvocationTargetException e) {
              throw e.getCause();
            }
          });
      try (Worker worker = Worker.builder(noting).id("w").queue(QUEUE).mode(mode).concurrency(1)
          .handle(SQUARE, n -> n * n).start()) {
        Producer producer = Producer.on(producerSide);
        for (int i = 0; i < 20; i++) {
          // One at a time: the lease sent with each settlement finds the queue empty and waits for the next put.
          TaskHandle<Integer> handle = producer.submit(SQUARE, i, SubmitOptions.queue(QUEUE));
          assertThat(handle.result()).succeedsWithin(TIMEOUT).isEqualTo(i * i);
          pace.beforeNext(i + 1, waiters);
        }
      }
    }
    return waiters;
  }

  private static <T> CompletableFuture<T> noting(CompletableFuture<T> lease, Queue<Thread> waiters) {
    NotingFuture<T> noted = new NotingFuture<>(waiters);
    lease.whenComplete((value, error) -> {
      if (error != null) {
        noted.completeExceptionally(error);
      } else {
        noted.complete(value);
      }
    });
    return noted;
  }

  /** Notes each thread that waits on it, or on a stage made from it, with a timeout. */
  private static final class NotingFuture<T> extends CompletableFuture<T> {
    private final Queue<Thread> waiters;

    NotingFuture(Queue<Thread> waiters) {
      this.waiters = waiters;
    }

    @Override
    public <U> CompletableFuture<U> newIncompleteFuture() {
      return new NotingFuture<>(waiters);
    }

    @Override
    public T get(long timeout, TimeUnit unit) throws InterruptedException, ExecutionException, TimeoutException {
      waiters.add(Thread.currentThread());
      return super.get(timeout, unit);
    }
  }
}
